"""Where a run writes: a folder that is not an earlier run is refused and nothing in it deleted;
the swap puts the earlier run back on any exception; what killed runs leave is put back or
removed by the next run; a folder that cannot be written is one line, the earlier run intact."""

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import runfolder
from pipeline.errors import ThemesError
from pipeline.runfolder import prepare_out_dir

from conftest import write_review_run

GROUPS = {0: range(0, 6), 1: range(6, 12)}


@pytest.fixture(autouse=True)
def _store(store):
    """Every run here reads an empty decision store of the test's own."""


def digest(path):
    """Every file under ``path`` (or the file itself) -> its sha256, by relative name."""
    path = Path(path)
    if path.is_file():
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def dead_pid():
    """The PID of a process that has ended."""
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                             text=True, check=True)
    return int(process.stdout)


def earlier_run(tmp_path):
    out = write_review_run(tmp_path / "runs" / "study", GROUPS)
    return out, digest(out)


def test_the_run_files_are_what_write_run_writes(tmp_path):
    out, _ = earlier_run(tmp_path)
    assert {p.name for p in out.iterdir()} == runfolder.RUN_FILES


def _runs_folder(tmp_path):
    runs = tmp_path / "runs"
    write_review_run(runs / "a", GROUPS)
    write_review_run(runs / "b", GROUPS)
    return runs


def _folder_holding(name, file, text):
    """A maker of a folder ``name`` holding one ``file``."""
    def make(tmp_path):
        folder = tmp_path / name
        folder.mkdir()
        (folder / file).write_text(text)
        return folder
    make.__name__ = f"_{name}"
    return make


_transcripts = _folder_holding("interviews", "one.txt", "User 1: I waited months.\n")
_decisions = _folder_holding("decisions", "decisions.jsonl", '{"cluster_id": 0}\n')
_half_a_run = _folder_holding("run", "report.html", "earlier")


def _file(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# notes\n")
    return path


def _run_with_notes(tmp_path):
    out, _ = earlier_run(tmp_path)
    (out / "notes.md").write_text("my memo on cluster 3\n")
    return out


@pytest.mark.parametrize("make, message", [
    (_runs_folder, "runs: not a run folder (it holds a/, b/); give a new folder for --out (output.dir), "
                   "or an earlier run's folder to replace it"),
    (_transcripts, "interviews: not a run folder (it holds one.txt)"),
    (_decisions, "decisions: not a run folder (it holds decisions.jsonl)"),
    (_file, "README.md: a file, not a run folder; give a new folder for --out (output.dir)"),
    (_run_with_notes, "study: a run folder that also holds notes.md, which replacing it would delete; move it "
                      "out, or give a new folder for --out (output.dir)"),
    (_half_a_run, "run: not a run folder (no clusters.json or manifest.json)"),
])
def test_a_folder_that_is_not_an_earlier_run_is_refused_and_kept(tmp_path, make, message):
    target = make(tmp_path)
    before = digest(target)
    siblings = sorted(p.name for p in target.parent.iterdir())
    with pytest.raises(ThemesError) as caught:
        write_review_run(target, GROUPS)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert digest(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == siblings  # nothing hidden, nothing left


def test_the_current_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in (".", "..", "sub/.."):
        with pytest.raises(ThemesError, match="the folder themes runs from"):
            prepare_out_dir(Path(out))


def test_a_link_is_refused(tmp_path):
    out, before = earlier_run(tmp_path)
    link = tmp_path / "latest"
    link.symlink_to(out, target_is_directory=True)
    with pytest.raises(ThemesError, match="latest: a link; give the run folder itself"):
        write_review_run(link, GROUPS)
    assert link.is_symlink() and digest(out) == before


@pytest.mark.parametrize("prepare", ["missing", "nested", "empty", "clutter", "earlier run", "open in a spreadsheet"])
def test_a_new_empty_or_earlier_run_folder_is_written(tmp_path, prepare):
    out = tmp_path / "runs" / ("deep/er/study" if prepare == "nested" else "study")
    if prepare in ("empty", "clutter"):
        out.mkdir(parents=True)
    if prepare == "clutter":
        (out / ".DS_Store").write_bytes(b"\0")
    before = digest(earlier_run(tmp_path)[0]) if prepare in ("earlier run", "open in a spreadsheet") else None
    if prepare == "open in a spreadsheet":  # LibreOffice's and Excel's lock files beside what they opened
        (out / ".~lock.segments.csv#").write_text(",analyst,host,2026-11-29T08:00,\n")
        (out / "~$gments.csv").write_bytes(b"\0")
    write_review_run(out, {0: range(0, 10)})  # other clusters: the folder really changes
    assert {p.name for p in out.iterdir()} == runfolder.RUN_FILES
    assert digest(out) != before
    assert sorted(p.name for p in out.parent.iterdir()) == ["study"]


def _rename_then_interrupt(real):
    def rename(src, dst):
        real(src, dst)
        if Path(dst).name.startswith(".study.old-"):
            raise KeyboardInterrupt  # Ctrl-C just after the earlier run was moved aside
    return rename


def _fail_second_rename(real):
    def rename(src, dst):
        if Path(src).name.startswith(".study.tmp-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)
    return rename


@pytest.mark.parametrize("fake, raised", [(_rename_then_interrupt, KeyboardInterrupt),
                                          (_fail_second_rename, ThemesError)])
def test_an_exception_between_the_two_renames_puts_the_earlier_run_back(tmp_path, monkeypatch, fake, raised):
    out, before = earlier_run(tmp_path)
    monkeypatch.setattr(runfolder.os, "rename", fake(os.rename))
    with pytest.raises(raised) as caught:
        write_review_run(out, {0: range(0, 10)})
    monkeypatch.undo()
    if raised is ThemesError:
        assert str(caught.value) == (f"{out}: cannot write the run folder (No space left on device); "
                                     "any earlier run there is as it was")
    assert digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["study"]


@pytest.mark.parametrize("meanwhile", ["nothing", "an empty folder"])
def test_the_next_run_puts_back_a_run_killed_between_the_renames(tmp_path, meanwhile):
    out, before = earlier_run(tmp_path)
    pid = dead_pid()
    # What SIGKILL between the renames leaves: the earlier run aside, the new one complete.
    os.rename(out, out.parent / f".study.old-{pid}")
    write_review_run(tmp_path / "elsewhere", {0: range(0, 10)}).rename(out.parent / f".study.tmp-{pid}")
    if meanwhile == "an empty folder":
        out.mkdir()
    from pipeline.decisions import read_run

    with pytest.raises(ThemesError, match=rf"an interrupted run left the earlier one in \.study\.old-{pid}, which the "
                                          "next `themes run` on this folder puts back"):
        read_run(out)  # what review, decide or codebook say meanwhile
    notes = prepare_out_dir(out)
    assert digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["study"]
    assert notes == [f"{out}: put back the earlier run, which an interrupted run had left in .study.old-{pid}",
                     f"removed 1 folder left by interrupted runs beside {out}: .study.tmp-{pid}"]


def test_several_earlier_copies_and_no_run_folder_is_refused(tmp_path):
    out, before = earlier_run(tmp_path)
    first, second = dead_pid(), dead_pid()
    os.rename(out, out.parent / f".study.old-{first}")
    (out.parent / f".study.old-{second}").mkdir()
    with pytest.raises(ThemesError, match="study: no run there, and 2 earlier copies left by interrupted runs"):
        write_review_run(out, GROUPS)
    assert digest(out.parent / f".study.old-{first}") == before


def test_an_earlier_run_set_aside_is_kept_while_something_else_is_in_its_place(tmp_path):
    out, before = earlier_run(tmp_path)
    pid = dead_pid()
    os.rename(out, out.parent / f".study.old-{pid}")
    out.mkdir()
    (out / "notes.md").write_text("written meanwhile")
    with pytest.raises(ThemesError, match="study: not a run folder .it holds notes.md."):
        write_review_run(out, GROUPS)
    assert digest(out.parent / f".study.old-{pid}") == before
    assert (out / "notes.md").read_text() == "written meanwhile"


def test_leftovers_of_dead_runs_are_removed_and_those_of_live_ones_kept(tmp_path):
    out, _ = earlier_run(tmp_path)
    pid, live = dead_pid(), os.getppid()
    for name in (f".study.tmp-{pid}", f".study.old-{pid}", f".study.tmp-{live}", f".other.tmp-{pid}",
                 f".study.tmp-{pid}.x"):
        (out.parent / name).mkdir()
        (out.parent / name / "segments.csv").write_text("transcript text")
    write_review_run(out, GROUPS)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["study", f".study.tmp-{live}", f".other.tmp-{pid}", f".study.tmp-{pid}.x"])


def test_a_full_disk_while_writing_is_one_line_and_keeps_the_earlier_run(tmp_path, monkeypatch):
    out, before = earlier_run(tmp_path)
    real = Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == "report.html":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(ThemesError) as caught:
        write_review_run(out, {0: range(0, 10)})
    assert str(caught.value) == (f"{out}: cannot write the run folder (No space left on device); "
                                 "any earlier run there is as it was")
    assert digest(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["study"]


def test_a_read_only_place_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name.startswith(".study.tmp-"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    out = tmp_path / "runs" / "study"
    with pytest.raises(ThemesError) as caught:
        prepare_out_dir(out)
    assert str(caught.value) == f"{out}: cannot write the run folder here (Read-only file system)"
    assert list(tmp_path.iterdir()) == []  # not even runs/ was made


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into any folder")
def test_a_folder_without_write_permission_is_refused(tmp_path):
    out, before = earlier_run(tmp_path)
    out.parent.chmod(0o500)
    try:
        with pytest.raises(ThemesError, match="study: cannot write the run folder here .Permission denied."):
            write_review_run(out, {0: range(0, 10)})
    finally:
        out.parent.chmod(0o700)
    assert digest(out) == before


def test_a_file_above_the_folder_is_refused(tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    with pytest.raises(ThemesError) as caught:
        prepare_out_dir(tmp_path / "README.md" / "sub")
    assert str(caught.value) == (f"{tmp_path}/README.md/sub: cannot write the run folder here "
                                 f"({tmp_path}/README.md is a file)")


def test_the_hint_about_a_set_aside_run_finds_names_with_brackets(tmp_path):
    from pipeline.decisions import read_run

    (tmp_path / ".study[1].old-999999").mkdir()
    with pytest.raises(ThemesError, match=r"left the earlier one in \.study\[1\]\.old-999999"):
        read_run(tmp_path / "study[1]")


def test_two_runs_writing_one_folder_take_turns(tmp_path, monkeypatch, capsys):
    """A run writing into a folder that another run is writing waits for it, then replaces its
    whole run; it was refused for a reason that was not so ("also holds clusters.json")."""
    import fcntl
    import threading
    import time

    from conftest import write_review_run

    monkeypatch.setenv("THEMES_DECISIONS", str(tmp_path / "decisions.jsonl"))
    out = tmp_path / "runs" / "r"
    write_review_run(out, {0: range(0, 6)})
    holder = os.open(out.parent, os.O_RDONLY)  # as a run in the middle of its swap holds it
    fcntl.flock(holder, fcntl.LOCK_EX)
    second = threading.Thread(target=write_review_run, args=(out, {0: range(0, 5), 1: range(5, 10)}))
    second.start()
    time.sleep(2)
    assert second.is_alive() and len(json.loads((out / "clusters.json").read_text())["clusters"]) == 1
    os.close(holder)
    second.join(30)
    assert not second.is_alive() and len(json.loads((out / "clusters.json").read_text())["clusters"]) == 2
    assert capsys.readouterr().err.count(f"waiting for another themes command to finish with the folder {out.parent}") == 1
