"""Stage 1, ingest: find transcript files, decode them, and read them into speaker turns.

The readers for each format live in ``pipeline.formats``; this module finds the files,
guards against bad input and collects every problem before deciding what to do about it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import unicodedata
from collections import Counter
from pathlib import Path, PurePosixPath

from .artifacts import Transcript
from .errors import ThemesError
from .formats import REFUSED_SUFFIXES, SUPPORTED_SUFFIXES, read_bytes
from .formats.encoding import decode
from .formats.text import parse_text

DEFAULT_MAX_FILE_MB = 50.0

__all__ = ["discover", "decode", "parse_text", "read_transcripts", "read_transcript", "ingest"]


def discover(paths: list[str | Path]) -> list[tuple[Path, str]]:
    """Expand files and folders into (file path, source name) pairs, ordered by source name
    (folder by folder, as a folder lists them), whatever order the paths come in: clustering
    depends on the order of the segments, and the same files must give the same clusters.

    A folder contributes its supported files, recursively, named relative to the folder, and
    its files in formats that are refused (``.doc``, ``.pdf``, ``.zip``...), so that reading
    them says so rather than leaving them out unsaid; other files (images, notes), hidden
    files and folders, Word's ``~$`` lock files, ``README.md`` and run folders (a run written
    into the transcripts' folder: its ``segments.csv`` is not a transcript) are passed over. A
    broken link or a pipe named like a transcript is kept, for reading it to say what it is. A
    file is named by its file name, in Unicode's composed form. A path given twice is read once.
    """
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            passed_over = _passed_over(path)
            files = sorted(
                p for p in path.rglob("*")
                if not p.is_dir() and p.suffix.lower() in SUPPORTED_SUFFIXES | REFUSED_SUFFIXES
                and not p.name.startswith((".", "~$")) and p.name.lower() != "readme.md"
                and not passed_over(p)
            )
            if not files:
                raise ThemesError(f"{path}: folder has no transcripts ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
            pairs = [(p, _source_name(p.relative_to(path).as_posix())) for p in files]
        elif path.is_file():
            pairs = [(path, _source_name(path.name))]
        else:
            raise ThemesError(_not_a_file(path))
        for file, name in pairs:
            where = _real(file)
            if where not in seen:
                seen.add(where)
                found.append((file, name))
    names = Counter(name for _, name in found)
    duplicated = [name for name, count in names.items() if count > 1]
    if duplicated:
        # Both files named: with many folders given, the name alone does not say which clash.
        first, second = [str(file) for file, name in found if name == duplicated[0]][:2]
        raise ThemesError(f"{duplicated[0]}: two input files have the same source name, {first} and {second}; "
                          "rename one")
    return sorted(found, key=lambda pair: PurePosixPath(pair[1]).parts)


def _source_name(name: str) -> str:
    """A file's source name in Unicode's composed form (NFC): macOS and the zip archives made
    there store `école.txt` decomposed, and the same transcripts must get the same segment ids,
    order and clusters wherever they were copied from."""
    return unicodedata.normalize("NFC", name)


def _real(path: Path) -> Path:
    """The file ``path`` is, links followed; a link that loops back to itself is itself."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a loop of links
        return path.absolute()


def _not_a_file(path: Path) -> str:
    """Why ``path``, no folder, cannot be read as a file: a broken link (its target moved or
    deleted), something that is no regular file (``/dev/null``, a named pipe, which would
    never end), or nothing there."""
    if path.is_symlink() and not path.exists():
        return f"{path}: a broken link (to {os.readlink(path)}); link to the file itself, or copy it here"
    if path.exists():
        return f"{path}: not a regular file (a device, pipe or socket); save the transcript as a file and give that"
    return f"{path}: input path not found"


def _passed_over(root: Path):
    """-> whether a file under ``root`` is in a hidden folder or a run folder below it."""
    from .runfolder import is_run_folder

    @functools.cache
    def skipped(folder: Path) -> bool:
        return folder.name.startswith(".") or is_run_folder(folder)

    return lambda file: any(skipped(root / part) for part in file.relative_to(root).parents if part.parts)


def read_transcripts(path: Path, source: str, columns: dict[str, str | None] | None = None,
                     max_file_mb: float = DEFAULT_MAX_FILE_MB) -> list[Transcript]:
    """Read one file (a table with a source column gives one transcript per source)."""
    if not path.is_file():
        raise ThemesError(_not_a_file(path))
    size = path.stat().st_size
    if size == 0:
        raise ThemesError(f"{path}: file is empty")
    if size >= max_file_mb * 1_000_000:
        raise ThemesError(f"{path}: file is {size / 1_000_000:.1f} MB; files of input.max_file_mb ({max_file_mb:g} MB) "
                          "or more are refused: split it, or raise the limit if it really is one transcript")
    raw = path.read_bytes()
    return read_bytes(raw, path, source, hashlib.sha256(raw).hexdigest(), columns)


# At most this many problems are named in the one-line error (a folder of 300 copied files
# would otherwise give a line of 40,000 characters).
SHOWN_PROBLEMS = 10


def read_transcript(path: Path, source: str) -> Transcript:
    return read_transcripts(path, source)[0]


def ingest(paths: list[str | Path], on_error: str = "fail", columns: dict[str, str | None] | None = None,
           max_file_mb: float = DEFAULT_MAX_FILE_MB) -> tuple[list[Transcript], list[str]]:
    """Read every transcript under ``paths``.

    Returns the transcripts and the problems met (one line each, naming the file; a reader that
    fails on a file in a way it does not explain is one of them, so the other files are still
    read and the user sees one line, not a traceback). With
    ``on_error='fail'`` any problem raises one ThemesError listing all of them; with
    ``'skip'`` the bad files (and second copies of a file) are left out.
    """
    transcripts: list[Transcript] = []
    problems: list[str] = []
    first_of: dict[str, Path] = {}
    for path, source in discover(paths):
        try:
            read = read_transcripts(path, source, columns, max_file_mb)
        except ThemesError as err:
            problems.append(str(err))
            continue
        except (OSError, MemoryError):
            raise  # the machine's problem, not the file's: the command names it
        except Exception as err:  # a reader's own fault on a layout it does not expect
            problems.append(f"{path}: could not be read, a fault of the {path.suffix or 'text'} reader on "
                            f"this file's layout ({type(err).__name__}: {err}); please report it, with the "
                            "layout but not the content")
            continue
        digest = read[0].sha256
        if digest in first_of:
            problems.append(f"{path}: same content as {first_of[digest]} (a duplicate file); remove one")
            continue
        first_of[digest] = path
        transcripts.extend(read)
    if problems and on_error == "fail":
        if len(problems) == 1:
            raise ThemesError(problems[0])
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        if len(problems) > SHOWN_PROBLEMS:
            shown += (f"; and {len(problems) - SHOWN_PROBLEMS} more (with input.on_error: skip the run "
                      "goes on without those files and names each in a warning)")
        raise ThemesError(f"{len(problems)} problems: {shown}")
    if not transcripts:
        raise ThemesError("no transcript could be read: " + "; ".join(problems))
    return transcripts, problems
