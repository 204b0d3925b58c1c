"""The run folder on disk: which folder a run may replace, the swap, and what interrupted runs
leave beside it.

A run writes ``.NAME.tmp-PID/`` beside ``NAME``, then renames ``NAME`` to ``.NAME.old-PID``
and the temporary folder to ``NAME``, and deletes the old one. A process killed between the
two renames leaves ``NAME`` missing and the earlier run in ``.NAME.old-PID``; the next run on
``NAME`` puts it back (``prepare_out_dir``) before anything else, and deletes the temporary
folders of dead processes, which hold transcript text.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ThemesError
from .words import plural

# What ``runner.write_run`` writes: a folder holding these and nothing else may be replaced.
RUN_FILES = frozenset({"segments.csv", "clusters.json", "config.yaml", "report.html", "manifest.json"})
# Files a file manager drops into any folder it shows; they go with the folder they are in.
CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def _clutter(name: str) -> bool:
    """A file manager's file, or the lock file LibreOffice (``.~lock.NAME#``) or Excel
    (``~$NAME``, its start cut off for a long name) keeps beside a run file it has open."""
    if name in CLUTTER:
        return True
    if name.startswith(".~lock.") and name.endswith("#"):
        return name[len(".~lock."):-1] in RUN_FILES
    return name.startswith("~$") and len(name) > 4 and any(run.endswith(name[2:]) for run in RUN_FILES)


FOR_OUT = "for --out (output.dir)"


def cannot_write(out_dir: Path, err: OSError) -> ThemesError:
    """An OSError while writing the run folder, as one line."""
    return ThemesError(f"{out_dir}: cannot write the run folder ({err.strerror or err}); "
                       "any earlier run there is as it was")


def temp_folder(out_dir: Path) -> Path:
    """Make the folder a run is written into before the swap (and ``out_dir``'s parents)."""
    target = _absolute(out_dir)
    tmp = _sibling(target, "tmp", os.getpid())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)  # left by a dead process with this PID
        tmp.mkdir(mode=0o700)
    except OSError as err:
        raise cannot_write(out_dir, err) from None
    return tmp


def swap_in(tmp: Path, out_dir: Path) -> None:
    """Put the finished run folder ``tmp`` at ``out_dir``, replacing an earlier run there. On any
    exception, Ctrl-C included, the earlier run is renamed back before it propagates."""
    target = _absolute(out_dir)
    old = _sibling(target, "old", os.getpid())
    try:
        if os.path.lexists(target):
            os.rename(target, old)
        os.rename(tmp, target)
    except BaseException as err:
        # Decided by what is on disk, not by which rename raised: an interrupt can land just
        # after the first rename returned.
        if os.path.lexists(old) and not os.path.lexists(target):
            try:
                os.rename(old, target)
            except OSError:
                raise ThemesError(f"{out_dir}: cannot write the run folder; the earlier run is in {old}, "
                                  "and the next run on this folder puts it back") from None
        if isinstance(err, OSError):
            raise cannot_write(out_dir, err) from None
        raise
    shutil.rmtree(old, ignore_errors=True)


_waiting: set[str] = set()  # what this process has already said it waits for (a server's threads)
_waiting_guard = threading.Lock()


def wait_for_lock(fd, operation: int, what: str, notice_after: float = 1.5) -> None:
    """Take the flock on ``fd`` (``operation``: LOCK_SH or LOCK_EX), waiting as long as another
    command holds it; after ``notice_after`` seconds, say once on stderr what it waits for
    (``what``: "the decision store FILE")."""
    deadline = time.monotonic() + notice_after
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    with _waiting_guard:
        first = what not in _waiting
        _waiting.add(what)
    if first:
        print(f"waiting for another themes command to finish with {what} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        fcntl.flock(fd, operation)
    finally:
        with _waiting_guard:
            _waiting.discard(what)


@contextmanager
def writing(out_dir: Path) -> Iterator[None]:
    """Hold the folder ``out_dir`` is written into (the nearest that exists above it) while a
    run checks, writes and swaps in ``out_dir``: two runs into one folder take turns, and the
    second replaces the first's whole run, instead of finding it half swapped and being refused
    for a reason that is not so (a folder "that also holds clusters.json")."""
    target = _absolute(out_dir)
    place = next((p for p in target.parents if p.is_dir()), None)
    try:
        fd = os.open(place, os.O_RDONLY) if place is not None else None
    except OSError:  # a folder that cannot be read: the checks that follow say so
        fd = None
    if fd is None:
        yield
        return
    try:
        wait_for_lock(fd, fcntl.LOCK_EX, f"the folder {place}")
        yield
    finally:
        os.close(fd)  # releases the lock


def prepare_out_dir(out_dir: Path) -> list[str]:
    """Check that a run may write ``out_dir``, before the slow stages and again at write time
    -> notes for the analyst. First puts back an earlier run a killed run left aside and
    deletes what dead runs left; then refuses, with one line, a folder that is not a run
    folder, a file, a link, a mount point, the current folder, or a place that cannot be
    written."""
    target = _absolute(out_dir)
    if target == Path.cwd() or target in Path.cwd().parents:
        raise ThemesError(f"{out_dir}: the folder themes runs from (or one above it); give a new folder "
                          f"{FOR_OUT}")
    notes = _recover(out_dir, target)
    if os.path.islink(target):
        raise ThemesError(f"{out_dir}: a link; give the run folder itself {FOR_OUT}")
    if target.exists():
        _check_replaceable(out_dir, target)
    _check_writable(out_dir, target)
    return notes


def _check_replaceable(out_dir: Path, target: Path) -> None:
    if not target.is_dir():
        raise ThemesError(f"{out_dir}: a file, not a run folder; give a new folder {FOR_OUT}, "
                          "or an earlier run's folder to replace it")
    if os.path.ismount(target):
        raise ThemesError(f"{out_dir}: a mount point; give a folder inside it {FOR_OUT}")
    try:
        names = sorted(name for name in os.listdir(target) if not _clutter(name))
    except OSError as err:
        raise ThemesError(f"{out_dir}: cannot read the folder ({err.strerror or err})") from None
    if not names:
        return  # an empty folder
    others = [name + ("/" if (target / name).is_dir() else "") for name in names
              if name not in RUN_FILES or not (target / name).is_file()]
    listed = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    missing = [name for name in ("clusters.json", "manifest.json") if name not in names]
    if others and not missing:
        # A run folder the analyst added files to: replacing it would delete them.
        raise ThemesError(f"{out_dir}: a run folder that also holds {listed}, which replacing it would delete; "
                          f"move {'it' if len(others) == 1 else 'them'} out, or give a new folder {FOR_OUT}")
    if others or missing:
        held = f"it holds {listed}" if others else f"no {' or '.join(missing)}"
        raise ThemesError(f"{out_dir}: not a run folder ({held}); give a new folder {FOR_OUT}, "
                          "or an earlier run's folder to replace it")


def _check_writable(out_dir: Path, target: Path) -> None:
    """Make and remove a folder where the run folder's temporary folder will go (or in the
    nearest folder that exists above it): no side effect, and the OS's own reason if not."""
    place = next((p for p in Path(out_dir).parents if os.path.lexists(p)), Path("."))  # as given, to name it
    if not place.is_dir():
        raise ThemesError(f"{out_dir}: cannot write the run folder here ({place} is a file)")
    probe = place / f".{target.name}.tmp-{os.getpid()}"
    try:
        probe.mkdir(mode=0o700)
        probe.rmdir()
    except FileExistsError:
        pass  # left by a dead process with this PID: the folder is writable enough to have made it
    except OSError as err:
        raise ThemesError(f"{out_dir}: cannot write the run folder here ({err.strerror or err})") from None


def _recover(out_dir: Path, target: Path) -> list[str]:
    """Put back the earlier run a run killed mid-swap left aside; delete the leftovers of dead
    runs -> notes."""
    try:
        leftovers = _leftovers(target)
    except OSError:
        return []  # the parent cannot be listed (or does not exist): _check_writable says why
    dead = [(kind, path) for kind, path, pid in leftovers if not _alive(pid)]
    olds = [path for kind, path in dead if kind == "old"]
    stale = [path for kind, path in dead if kind == "tmp"]
    notes = []
    if olds and not is_run_folder(target):
        if note := _put_back(out_dir, target, olds):
            notes.append(note)
    else:
        stale += olds  # a run folder is in place: an earlier run set aside is not needed
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    if removed := [p for p in stale if not os.path.lexists(p)]:
        notes.append(f"removed {plural(len(removed), 'folder')} left by interrupted runs beside {out_dir}: "
                     f"{', '.join(p.name for p in removed)}")
    return notes


def _put_back(out_dir: Path, target: Path, olds: list[Path]) -> str | None:
    """Rename the earlier run a killed run left aside back to ``target``, where no run folder
    is -> a note; None where something else is there (kept, and refused by the checks that
    follow). Several copies: which to keep is the analyst's choice."""
    if os.path.lexists(target) and not _is_empty_folder(target):
        return None
    if len(olds) > 1:
        raise ThemesError(f"{out_dir}: no run there, and {len(olds)} earlier copies left by interrupted runs are "
                          f"beside it ({', '.join(p.name for p in olds)}); rename the one to keep to {target.name}")
    try:
        if os.path.lexists(target):
            target.rmdir()
        os.rename(olds[0], target)
    except OSError as err:
        raise ThemesError(f"{out_dir}: cannot put back the earlier run from {olds[0].name} "
                          f"({err.strerror or err})") from None
    return f"{out_dir}: put back the earlier run, which an interrupted run had left in {olds[0].name}"


def within(path: Path | str, folder: Path | str) -> bool:
    """Whether ``path`` is ``folder`` or inside it (both made absolute, links resolved): what a
    rerun's swap of ``folder`` would take with it."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def is_run_folder(target: Path) -> bool:
    """Whether ``target`` holds a run written by ``themes run``."""
    return (target / "clusters.json").is_file() and (target / "manifest.json").is_file()


def _is_empty_folder(target: Path) -> bool:
    return target.is_dir() and not target.is_symlink() and not os.listdir(target)


def set_aside(out_dir: Path) -> list[Path]:
    """The copies of an earlier run that interrupted runs left beside ``out_dir``
    (``.NAME.old-PID``), for commands that find no run folder there to point at."""
    try:
        return sorted(path for kind, path, _ in _leftovers(_absolute(out_dir)) if kind == "old")
    except OSError:
        return []


def _leftovers(target: Path) -> list[tuple[str, Path, int]]:
    """(kind, path, PID) of each ``.NAME.tmp-PID`` and ``.NAME.old-PID`` beside ``target``."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(tmp|old)-(\d+)")
    found = []
    for name in os.listdir(target.parent):
        if match := pattern.fullmatch(name):
            path = target.parent / name
            if path.is_dir() and not path.is_symlink():
                found.append((match[1], path, int(match[2])))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process other than this one (this one has none in progress
    when it checks, so anything named by its PID was left by an earlier process)."""
    if pid == os.getpid():
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: never delete
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False  # no such process (or no such PID can exist)
    except OSError:
        return True  # PermissionError: another user's process
    return True


def _sibling(target: Path, kind: str, pid: int) -> Path:
    return target.parent / f".{target.name}.{kind}-{pid}"


def _absolute(out_dir: Path) -> Path:
    """``out_dir`` made absolute with ``..`` resolved by name (links in it kept), so its name
    and parent are what the renames act on."""
    return Path(os.path.abspath(out_dir))
