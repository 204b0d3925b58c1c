"""`themes export` on the command line: one-line errors, exit codes, atomic replacement."""

import os
from pathlib import Path

import pytest

from pipeline.export import write_atomic

from conftest import themes
from fixtures.export.runfolder import accepted, decision_store, make_run  # noqa: F401 (autouse)


def test_no_decisions_is_one_line_and_exit_2(tmp_path):
    run = make_run(tmp_path, {})
    result = themes("export", run, "--format", "md", "--out", tmp_path / "draft.md")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "no decisions yet" in result.stderr and "--include-suggestions" in result.stderr
    assert not (tmp_path / "draft.md").exists()

    result = themes("export", run, "--format", "md", "--out", tmp_path / "draft.md", "--include-suggestions")
    assert result.returncode == 0, result.stderr
    assert "11 segments suggested, not reviewed" in result.stdout
    assert "suggested, not reviewed" in (tmp_path / "draft.md").read_text(encoding="utf-8")


def test_unknown_format_and_missing_run_exit_2(tmp_path):
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    for folder, fmt, out, message in (
            (run, "pdf", tmp_path / "x", "--format: unknown format 'pdf'"),
            (tmp_path / "missing", "csv", tmp_path / "x", "missing: run folder not found"),
            # a rerun replaces a run folder whole: an export kept there would block it
            (run, "csv", run / "coded.csv", "inside a run folder, which a rerun replaces; "
                                            "write the export elsewhere (--out coded.csv)")):
        result = themes("export", folder, "--format", fmt, "--out", out)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (run / "coded.csv").exists()
    (run / "sub").mkdir()  # a folder inside a run folder is inside it too
    result = themes("export", run, "--format", "csv", "--out", run / "sub" / "coded.csv")
    assert result.returncode == 2 and "inside a run folder" in result.stderr


def test_failed_export_keeps_the_existing_file(tmp_path):
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    out = tmp_path / "project.qdpx"
    out.write_bytes(b"the earlier export")
    (tmp_path / "data" / "会議 2.txt").write_text("changed", encoding="utf-8")
    result = themes("export", run, "--format", "qdpx", "--out", out)
    assert result.returncode == 2 and "会議 2.txt: changed since run" in result.stderr
    assert out.read_bytes() == b"the earlier export"


def test_write_atomic_never_leaves_half_a_file(tmp_path, monkeypatch):
    out = tmp_path / "codebook.csv"
    out.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(out, b"new" * 1000)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["codebook.csv"]
    monkeypatch.undo()
    write_atomic(out, b"new")
    assert out.read_bytes() == b"new"


def test_docs_name_every_format_and_column():
    from conftest import ROOT
    from pipeline.export import FORMATS
    from pipeline.export.tables import SEGMENT_COLUMNS

    docs = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for fmt in FORMATS:
        assert f"`{fmt}`" in docs and f"`{fmt}`" in readme, fmt
    assert " ".join(", ".join(SEGMENT_COLUMNS).split()) in " ".join(docs.split())
    help_text = themes("export", "--help").stdout
    assert all(option in help_text for option in ("--format", "--out", "--include-suggestions", "--author"))


def test_an_export_that_cannot_be_written_is_one_line_and_keeps_the_existing_file(tmp_path, monkeypatch):
    import errno

    from pipeline.errors import ThemesError
    from pipeline.export import export

    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    out = tmp_path / "project.qdpx"
    out.write_bytes(b"the earlier export")

    def read_only(src, dst):
        raise OSError(errno.EROFS, "Read-only file system", str(dst))

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(ThemesError) as caught:
        export(run, "qdpx", out)
    assert str(caught.value) == f"{out}: cannot write the export (Read-only file system); an existing file " \
                                "there is as it was"
    assert out.read_bytes() == b"the earlier export"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into any folder")
def test_an_export_into_a_read_only_folder_is_one_line(tmp_path):
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        result = themes("export", run, "--format", "md", "--out", locked / "draft.md")
    finally:
        locked.chmod(0o700)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"error: {locked / 'draft.md'}: cannot write the export (Permission denied); " \
                            "an existing file there is as it was\n"


def test_an_out_naming_a_file_the_run_depends_on_is_refused_and_the_file_kept(tmp_path, monkeypatch):
    from conftest import ROOT
    from pipeline.errors import ThemesError
    from pipeline.export import export

    monkeypatch.chdir(tmp_path)  # the pseudonym key's default place is relative to the project
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_bytes((ROOT / "configs" / "taxonomies" / "nakanishi2021.yaml").read_bytes())
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")}, taxonomy=str(taxonomy))
    key = tmp_path / "private" / "pseudonym_key.json"
    key.parent.mkdir()
    key.write_text("{}", encoding="utf-8")
    for out, what in (
            (tmp_path / "decisions.jsonl", "the decision store in use"),
            (Path("decisions.jsonl"), "the decision store in use"),  # the same file, named relatively
            (tmp_path / "data" / "meeting 1.txt", f"transcript meeting 1.txt of run {run} (manifest.json)"),
            (taxonomy, f"the taxonomy of run {run}"),
            (key, "the pseudonym key (privacy.key_path)")):
        before = (tmp_path / out).read_bytes()
        with pytest.raises(ThemesError) as caught:
            export(run, "csv", out)
        assert str(caught.value) == f"{out}: is {what}, which the export would replace; write the export elsewhere"
        assert (tmp_path / out).read_bytes() == before

    store = tmp_path / "decisions.jsonl"
    before = store.read_bytes()
    result = themes("export", run, "--format", "md", "--out", store, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"error: {store}: is the decision store in use, which the export would replace; " \
                            "write the export elsewhere\n"
    assert store.read_bytes() == before


def test_an_out_the_next_run_would_read_as_a_transcript_is_refused(tmp_path):
    from pipeline.errors import ThemesError
    from pipeline.export import export

    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    data = tmp_path / "data"  # the run's input folder
    (data / "notes").mkdir()
    for out in (data / "coded.csv", data / "notes" / "draft.md"):
        with pytest.raises(ThemesError) as caught:
            export(run, "csv" if out.suffix == ".csv" else "md", out)
        assert str(caught.value) == f"{out}: inside the input folder {data} of run {run}, so the next " \
                                    "`themes run` would read it as a transcript; write the export elsewhere"
        assert not out.exists()
    export(run, "qdpx", data / "project.qdpx")  # a format no run reads may go there
    result = themes("export", run, "--format", "xlsx", "--out", data / "coded.xlsx")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "would read it as a transcript" in result.stderr and not (data / "coded.xlsx").exists()


def test_an_author_no_file_can_hold_is_one_line_naming_where_it_came_from(tmp_path):
    from docx import Document

    from pipeline.errors import ThemesError
    from pipeline.export import export

    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    with pytest.raises(ThemesError) as caught:
        export(run, "docx", tmp_path / "draft.docx", author="Ana\x01B")
    assert str(caught.value) == ("--author: holds a control character (U+0001), which a project or document "
                                 "cannot hold; type it again")
    broken = "holds a broken character (half of an emoji, or a byte that is not UTF-8 text); type or paste it again"
    result = themes("export", run, "--format", "qdpx", "--out", tmp_path / "p.qdpx", "--author", "Ana\udcffB")
    assert result.returncode == 2 and result.stderr == f"error: --author: {broken}\n"
    result = themes("export", run, "--format", "docx", "--out", tmp_path / "draft.docx",
                    env={**os.environ, "THEMES_AUTHOR": "Ana\x01B"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: THEMES_AUTHOR: holds a control character (U+0001)")
    assert not (tmp_path / "draft.docx").exists() and not (tmp_path / "p.qdpx").exists()
    export(run, "docx", tmp_path / "draft.docx", author="  Ana \t B ")  # spaces are evened out, as for decisions
    assert Document(tmp_path / "draft.docx").core_properties.author == "Ana B"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_an_out_that_is_a_link_or_a_fifo_is_refused_and_left_as_it_was(tmp_path):
    import stat

    from pipeline.errors import ThemesError
    from pipeline.export import export

    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    exports = tmp_path / "exports"
    exports.mkdir()
    target = exports / "target.csv"
    target.write_text("old", encoding="utf-8")
    link, fifo, dangling = exports / "link.csv", exports / "fifo.csv", exports / "dangling.csv"
    link.symlink_to(target)
    dangling.symlink_to(exports / "gone.csv")
    os.mkfifo(fifo)
    for out, kind in ((link, "a symbolic link"), (dangling, "a symbolic link"), (fifo, "a FIFO (named pipe)")):
        with pytest.raises(ThemesError) as caught:
            export(run, "csv", out)
        assert str(caught.value) == f"{out}: is {kind}, which an export never replaces; --out takes a regular " \
                                    "file or a new name"
    assert link.is_symlink() and dangling.is_symlink() and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert target.read_text(encoding="utf-8") == "old" and not (exports / "gone.csv").exists()
    result = themes("export", run, "--format", "csv", "--out", fifo)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "a FIFO" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_run_file_of_the_wrong_shape_is_one_line_naming_it(tmp_path):
    from pipeline.errors import ThemesError
    from pipeline.export import export

    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope")})
    clusters, manifest = run / "clusters.json", run / "manifest.json"
    kept = {path: path.read_bytes() for path in (clusters, manifest)}
    for path, damaged, problem in (
            (clusters, "[]", "no list of clusters"),
            (clusters, '{"clusters": [{"members": []}]}', "clusters[0] has no integer cluster_id"),
            (clusters, '{"clusters": [{"cluster_id": 0, "members": "abc"}]}',
             "cluster 0: members and segment_ids must be lists of segment ids"),
            (clusters, '{"clusters": [{"cluster_id": 0, "members": [], "suggestions": [1]}]}',
             "cluster 0: every suggestion needs a code_id"),
            (manifest, "[]", "its inputs need a source and a path each"),
            (manifest, '{"inputs": [{"source": "meeting 1.txt"}]}', "its inputs need a source and a path each")):
        path.write_text(damaged, encoding="utf-8")
        with pytest.raises(ThemesError) as caught:
            export(run, "qdpx", tmp_path / "project.qdpx")
        assert str(caught.value) == f"{path}: not a {path.name} written by themes ({problem})"
        path.write_bytes(kept[path])
    clusters.write_text("[]", encoding="utf-8")
    result = themes("export", run, "--format", "csv", "--out", tmp_path / "coded.csv")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"error: {clusters}: not a clusters.json written by themes (no list of clusters)\n"
