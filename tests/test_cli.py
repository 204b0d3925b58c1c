"""The CLI's contract for bad input: one line on stderr naming the file, exit code 2."""

import os
from pathlib import Path

import pytest

from conftest import FIXTURES, themes


def assert_clean_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    # Stage log lines may come first; the error itself is one line, the last.
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_help_is_fast_and_lists_commands():
    result = themes("--help")
    assert result.returncode == 0
    for command in ("run", "speakers", "taxonomy"):
        assert command in result.stdout


def test_missing_input(tmp_path):
    assert_clean_error(themes("run", "--input", tmp_path / "nope", "--out", tmp_path / "run"),
                       "nope", "input path not found")
    # paths given without --input too (a shell glob), beside --input's
    (tmp_path / "a.txt").write_text("User 1: I waited for months.\n")
    assert_clean_error(themes("run", tmp_path / "a.txt", tmp_path / "gone.txt", "--input", tmp_path / "a.txt",
                              "--out", tmp_path / "run"), "gone.txt", "input path not found")


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert_clean_error(themes("run", "--input", tmp_path / "empty.txt", "--out", tmp_path / "run"),
                       "empty.txt", "empty")


def test_file_without_speakers(tmp_path):
    (tmp_path / "prose.txt").write_text("This is an essay.\nIt has no speakers at all.\n")
    assert_clean_error(themes("run", "--input", tmp_path / "prose.txt", "--out", tmp_path / "run"),
                       "prose.txt", "no speaker turns")


def test_unknown_config_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("clustering:\n  min_cluster_sise: 5\n")
    assert_clean_error(themes("run", "--config", config), "c.yaml:2", "clustering.min_cluster_sise", "unknown key")


@pytest.mark.parametrize("body, fragment", [
    ("id: t\nlabel: T\ncodes: []\n", "no codes"),
    ("id: t\nlabel: T\ncodes:\n  - id: a\n    label: A\n  - id: a\n    label: B\n", "duplicate code id"),
])
def test_bad_taxonomy_fails_before_work_and_keeps_earlier_run(tmp_path, body, fragment):
    taxonomy = tmp_path / "t.yaml"
    taxonomy.write_text(body)
    earlier = tmp_path / "run"
    earlier.mkdir()
    for name in ("report.html", "clusters.json", "manifest.json"):  # enough to be taken for a run folder
        (earlier / name).write_text("earlier")
    result = themes("run", "--input", FIXTURES / "small", "--taxonomy", taxonomy, "--out", earlier)
    assert_clean_error(result, "t.yaml", fragment)
    assert (earlier / "report.html").read_text() == "earlier"


def _folder_of_runs(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        for file in ("clusters.json", "manifest.json", "report.html"):
            (tmp_path / "runs" / name / file).write_text(f"run {name}")
    return tmp_path / "runs", "runs: not a run folder (it holds a/, b/); give a new folder for --out (output.dir), " \
                              "or an earlier run's folder to replace it"


def _input_folder(tmp_path):
    return tmp_path / "interviews", "interviews: not a run folder (it holds short_meeting.txt)"


def _decision_store(tmp_path):
    (tmp_path / "decisions").mkdir()
    (tmp_path / "decisions" / "decisions.jsonl").write_text("")
    return tmp_path / "decisions", "decisions: not a run folder (it holds decisions.jsonl)"


def _a_file(tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    return tmp_path / "README.md", "README.md: a file, not a run folder"


def _below_a_file(tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    return tmp_path / "README.md" / "sub", "README.md/sub: cannot write the run folder here (" \
                                           f"{tmp_path / 'README.md'} is a file)"


@pytest.mark.parametrize("make", [_folder_of_runs, _input_folder, _decision_store, _a_file, _below_a_file])
def test_an_out_that_would_lose_files_is_refused_before_the_stages(tmp_path, make):
    import shutil

    (tmp_path / "interviews").mkdir()
    shutil.copy(FIXTURES / "small" / "short_meeting.txt", tmp_path / "interviews")
    out, message = make(tmp_path)
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = themes("run", "--input", tmp_path / "interviews", "--out", out)
    assert_clean_error(result, message)
    assert "ingest:" not in result.stderr  # refused before the slow stages
    assert {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.rglob(".*")]  # nothing renamed aside


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (Linux)")
def test_an_out_that_cannot_be_written_is_one_line_before_the_stages(tmp_path):
    result = themes("run", "--input", FIXTURES / "small" / "short_meeting.txt", "--out", "/proc/themes-run")
    assert_clean_error(result, "/proc/themes-run: cannot write the run folder here (")
    assert "ingest:" not in result.stderr


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into any folder")
def test_an_out_in_a_read_only_folder_is_one_line_before_the_stages(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        result = themes("run", "--input", FIXTURES / "small" / "short_meeting.txt", "--out", locked / "run")
    finally:
        locked.chmod(0o700)
    assert_clean_error(result, "run: cannot write the run folder here (Permission denied)")
    assert "ingest:" not in result.stderr


def test_speakers_lists_labels_and_roles():
    result = themes("speakers", FIXTURES / "small")
    assert result.returncode == 0, result.stderr
    rows = {line.split("  ")[0].strip(): line.split()[-1] for line in result.stdout.splitlines()[1:]}
    assert rows["User 1"] == "user"
    assert rows["Nurse 1"] == "professional"
    assert rows["Facilitator 1"] == "facilitator"


def test_speakers_without_a_path_reads_the_configs_input(tmp_path):
    config = tmp_path / "my.yaml"
    config.write_text(f"input:\n  paths: [{FIXTURES / 'small'}]\n", encoding="utf-8")
    result = themes("speakers", "--config", config)
    assert result.returncode == 0, result.stderr
    assert result.stdout == themes("speakers", FIXTURES / "small").stdout


def test_taxonomy_check_prints_tree():
    result = themes("taxonomy", "check", "nakanishi2021")
    assert result.returncode == 0
    assert "barrier.safety.lack_of_compassion" in result.stdout


def test_text_column_option_names_the_text_column_and_keeps_the_rest(tmp_path):
    from pipeline.cli import _load

    config = tmp_path / "my.yaml"
    config.write_text("input:\n  columns: {id: row, speaker: who}\n")
    cfg = _load(config, [tmp_path / "quotes.csv"], None, None, text_column="quote")
    assert cfg.input.paths == [str(tmp_path / "quotes.csv")]
    assert (cfg.input.columns.text, cfg.input.columns.id, cfg.input.columns.speaker) == ("quote", "row", "who")
    assert _load(config).input.columns.text is None  # the default: the column named "text"


def test_a_run_too_small_to_cluster_says_why_on_the_console(tmp_path):
    transcript = tmp_path / "short.txt"
    transcript.write_text("User 1: I waited months for a bed on the ward.\n"
                          "Nurse 1: That is far too long, and it happens to many people.\n"
                          "User 2: Nobody told me what the new tablets would do to me.\n")
    result = themes("run", "--input", transcript, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "ingest: 1 transcript, 3 turns" in lines and "cluster: 0 clusters" in lines
    assert "note: only 3 segments to cluster (at least 12 are needed): no clusters were formed; every segment " \
           "is shown unclustered" in lines
    assert any(line.startswith("mapping: nakanishi2021, ") and line.endswith("; no clusters") for line in lines)


def test_an_empty_text_column_is_refused_as_in_a_config(tmp_path):
    result = themes("run", "--text-column", "", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --text-column: the text is what is read")


def test_speakers_and_scan_take_the_text_column_the_error_points_to(tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text("id,q3\n1,I waited months for a bed.\n2,Ring me on 07700 900123.\n")
    refused = themes("speakers", survey)
    assert refused.returncode == 2 and "(or --text-column)" in refused.stderr
    listed = themes("speakers", survey, "--text-column", "q3")
    assert listed.returncode == 0, listed.stderr
    scanned = themes("scan", survey, "--text-column", "q3")
    assert scanned.returncode == 0 and "\tphone\t07700 900123\t" in scanned.stdout


def test_a_config_given_as_a_transcript_is_refused(tmp_path):
    (tmp_path / "my.yaml").write_text("taxonomy: none\n")
    assert_clean_error(themes("run", tmp_path / "my.yaml", "--out", tmp_path / "run"),
                       "my.yaml: a YAML file given as a transcript; pass a config with --config")


def test_decisions_kept_from_an_earlier_run_of_a_folder_go_to_that_folders_store(tmp_path, monkeypatch):
    """The page's "Download decisions kept from an earlier run of this folder": imported with
    --run, into the store the folder's runs read, not refused, and not into another store."""
    import json

    from conftest import write_review_run
    from pipeline.decisions import load_decisions, read_run

    store = tmp_path / "st" / "t.jsonl"
    store.parent.mkdir()
    store.touch()
    monkeypatch.setenv("THEMES_DECISIONS", str(store))
    folder = tmp_path / "runs" / "rt"
    write_review_run(folder, {0: range(0, 6), 1: range(6, 10)})
    earlier = read_run(folder)
    decision = {"cluster_key": f"{earlier.run}:0", "run": earlier.run, "cluster_id": 0, "status": "rejected",
                "code_id": None, "name": None, "definition": None, "merge_into": None, "memo": None,
                "segment_ids": list(earlier.cluster(0)["members"]), "author": "Ana",
                "timestamp": "2026-01-31T12:00:00.000Z", "merge_segment_ids": [], "replaces": None}
    file = tmp_path / "decisions-earlier.json"
    file.write_text(json.dumps({"format": "themes-decisions", "version": 1, "run": earlier.run,
                                "exported": "2026-01-31T12:00:00.000Z", "decisions": [decision]}))
    write_review_run(folder, {0: range(0, 5), 1: range(5, 10)})  # made again: another run id
    assert read_run(folder).run != earlier.run
    env = {k: v for k, v in os.environ.items() if k != "THEMES_DECISIONS"}
    result = themes("decisions", "import", file, "--run", folder, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"into {store.relative_to(tmp_path)}" in result.stdout or f"into {store}" in result.stdout
    assert f"made in an earlier run of {folder}: they carry to its clusters by their segments" in result.stdout
    assert [d.run for d in load_decisions(store)] == [earlier.run]
    assert not (tmp_path / "decisions").exists()
    # A file of another folder's run is still refused, and says where leaving out --run puts it.
    other = file.read_text().replace(earlier.run, "elsewhere-0123456789")
    file.write_text(other)
    refused = themes("decisions", "import", file, "--run", folder, cwd=tmp_path, env=env)
    assert refused.returncode == 2 and ("leave out --run to import it on its own, into the store --config or "
                                        "THEMES_DECISIONS names (not the one that folder's runs read)") in refused.stderr


def test_a_model_that_is_not_installed_stops_the_run_before_the_stages(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"embedding:\n  model: {tmp_path / 'no-such-model'}\n")
    result = themes("run", "--input", FIXTURES / "small", "-o", tmp_path / "out", "--no-cache", "-c", config)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: embedding.model: ")
    assert "ingest" not in result.stdout + result.stderr


@pytest.mark.parametrize("args, named", [
    (["run", "--input", ""], "'--input' / '-i': an empty path"),
    (["run", ""], "'paths': an empty path"),
    (["run", "-o", " "], "'--out' / '-o': an empty path"),
    (["decide", "", "1", "--reject"], "'run_dir': an empty path"),
])
def test_an_empty_path_on_the_command_line_is_refused_not_taken_for_the_current_folder(tmp_path, args, named):
    """`--input "$DIR"` with DIR unset read every file under the current folder."""
    result = themes(*args, cwd=tmp_path)
    assert result.returncode == 2 and named in " ".join(result.stderr.split()), result.stderr
    assert not list(tmp_path.iterdir())


def test_an_empty_taxonomy_option_is_refused_not_dropped_for_the_configs(tmp_path):
    assert_clean_error(themes("run", "-t", "", "--input", FIXTURES / "small", "-o", tmp_path / "out"),
                       "--taxonomy: must be a taxonomy name")


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp.mkdir(exist_ok=True) or tmp, "is a folder; name a text file of names"),
    (lambda tmp: tmp / "nobody.txt", "names file not found"),
])
def test_a_names_file_that_cannot_be_read_stops_the_run_before_the_stages(tmp_path, make, message):
    config = tmp_path / "c.yaml"
    config.write_text(f"privacy:\n  names_file: {make(tmp_path / 'names')}\n")
    result = themes("run", "--input", FIXTURES / "small", "-o", tmp_path / "out", "--no-cache", "-c", config)
    assert_clean_error(result, "privacy.names_file: ", message)
    assert "ingest" not in result.stdout + result.stderr


def test_a_cache_inside_the_run_folder_is_refused_before_the_stages(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"cache:\n  dir: {tmp_path / 'out' / 'cache'}\n")
    env = {k: v for k, v in os.environ.items() if k != "THEMES_CACHE_DIR"}
    result = themes("run", "--input", FIXTURES / "small", "-o", tmp_path / "out", "-c", config, env=env)
    assert_clean_error(result, f"cache.dir: {tmp_path / 'out' / 'cache'} is inside the run folder",
                       "keep the cache outside run folders")
    assert "ingest" not in result.stdout + result.stderr and not (tmp_path / "out").exists()
    env["THEMES_CACHE_DIR"] = str(tmp_path / "out")
    assert_clean_error(themes("run", "--input", FIXTURES / "small", "-o", tmp_path / "out", env=env),
                       f"THEMES_CACHE_DIR: {tmp_path / 'out'} is inside the run folder")
