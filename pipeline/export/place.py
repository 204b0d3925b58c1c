"""Where an export may be written: over a regular file or under a new name, never over a file
the run depends on, nor inside a run folder or where the next run would read it.

An export replaces ``--out`` whole, so an ``--out`` that names the decision store, a
transcript, the taxonomy or the pseudonym key would lose the analyst's work without a word;
one in an input folder comes back as transcripts on the next run (a coded.csv has text,
speaker and source columns). Every check here runs before anything is written, and refuses
in one line naming the file and what it is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ThemesError
from ..formats import REFUSED_SUFFIXES, SUPPORTED_SUFFIXES
from ..runfolder import is_run_folder, within
from .model import RunFolder


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is not a file name in an existing folder outside run folders,
    or that names something other than a regular file: the rename that replaces ``out`` would
    put a file in place of a link, a FIFO or a device."""
    if out.is_dir():
        raise ThemesError(f"{out}: is a folder; --out takes a file name")
    if out.is_symlink() or (out.exists() and not out.is_file()):
        mode = out.lstat().st_mode
        kind = ("a symbolic link" if stat.S_ISLNK(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise ThemesError(f"{out}: is {kind}, which an export never replaces; --out takes a regular file "
                          "or a new name")
    if not out.parent.is_dir():
        raise ThemesError(f"{out.parent}: folder not found (--out)")
    folder = out.parent.resolve()
    if any(is_run_folder(above) for above in (folder, *folder.parents)):
        # a rerun replaces a run folder whole, so it would refuse while this is there
        raise ThemesError(f"{out}: inside a run folder, which a rerun replaces; "
                          f"write the export elsewhere (--out {out.name})")


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file (links and hard links followed where both exist)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return a.resolve() == b.resolve()


def depended_on(run: RunFolder, store: Path) -> list[tuple[Path, str]]:
    """(file, what it is) for every file the run and its decisions are read from."""
    files = [(Path(store), "the decision store in use")]
    files += [(Path(entry["path"]), f"transcript {entry['source']} of run {run.path} (manifest.json)")
              for entry in run.inputs]
    if run.taxonomy is not None and run.taxonomy.path:
        files.append((Path(run.taxonomy.path), f"the taxonomy of run {run.path}"))
    privacy = run.config.privacy
    files.append((Path(privacy.key_path), "the pseudonym key (privacy.key_path)"))
    if privacy.names_file:
        files.append((Path(privacy.names_file), "the names file (privacy.names_file)"))
    return files


def read_as_transcript(out: Path, folder: Path) -> bool:
    """Whether a run reading ``folder`` would read ``out`` too, as ``ingest.discover`` finds
    files: below it, in a format it reads (or names as one it cannot), not hidden."""
    if not within(out, folder):
        return False
    hidden = any(part.startswith(".") for part in out.resolve().relative_to(folder.resolve()).parts)
    return out.suffix.lower() in SUPPORTED_SUFFIXES | REFUSED_SUFFIXES and not hidden \
        and not out.name.startswith("~$") and out.name.lower() != "readme.md"


def check_out_for_run(out: Path, run: RunFolder, store: Path) -> None:
    """Refuse an ``--out`` that is a file the run depends on, or that is inside one of its input
    folders."""
    for path, what in depended_on(run, store):
        if _same(out, path):
            raise ThemesError(f"{out}: is {what}, which the export would replace; write the export elsewhere")
    for folder in map(Path, run.config.input.paths):
        if folder.is_dir() and read_as_transcript(out, folder):
            raise ThemesError(f"{out}: inside the input folder {folder} of run {run.path}, so the next "
                              "`themes run` would read it as a transcript; write the export elsewhere")
