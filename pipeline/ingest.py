"""Stage 1, ingest: find transcript files, decode them, and read them into speaker turns."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

from .artifacts import Transcript, Turn
from .errors import ThemesError

TEXT_SUFFIXES = {".txt", ".md", ".text"}
SUPPORTED_SUFFIXES = set(TEXT_SUFFIXES)
MAX_FILE_BYTES = 200_000_000

# `Label: text` — a label is a short name: up to five words, no sentence punctuation.
_LABELLED = re.compile(r"^[ \t]*(?P<label>[^\s:\[\]()*][^:\n]{0,47}?)[ \t]*:[ \t]*(?P<text>.*)$")
_LABEL_WORD = re.compile(r"^[\w'’\-]+$")
# Keys that make a header line before the first turn metadata, not speech.
METADATA_KEYS = {
    "date", "time", "title", "location", "place", "session", "meeting", "transcript",
    "duration", "participants", "present", "recorded", "recording", "project", "study",
    "interviewer notes", "notes", "file", "version", "group", "topic",
}


def discover(paths: list[str | Path]) -> list[tuple[Path, str]]:
    """Expand files and folders into (file path, source name) pairs, in a stable order.

    A folder contributes its supported files, recursively, named relative to the folder; a
    file is named by its file name.
    """
    found: list[tuple[Path, str]] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
                and p.name.lower() != "readme.md"
            )
            if not files:
                raise ThemesError(f"{path}: folder has no transcripts ({', '.join(sorted(SUPPORTED_SUFFIXES))})")
            found.extend((p, p.relative_to(path).as_posix()) for p in files)
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise ThemesError(f"{path}: input path not found")
    names = Counter(name for _, name in found)
    duplicated = [name for name, count in names.items() if count > 1]
    if duplicated:
        raise ThemesError(f"{duplicated[0]}: two input files have the same source name; rename one")
    return found


def decode(raw: bytes, path: Path) -> str:
    """Decode bytes to text: BOMs first, then strict UTF-8, then a charset detector."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        if b"\x00" in raw:
            raise ThemesError(f"{path}: looks like a binary file, not a transcript")
        from charset_normalizer import from_bytes

        encoding = _detect(raw, path)
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise ThemesError(f"{path}: cannot decode as {encoding}; save it as UTF-8") from None


# Among equally plausible single-byte code pages, Windows-1252 is by far the most common
# source of non-UTF-8 transcripts (Word and Notepad on Western machines).
PREFERRED_CODEPAGES = ("cp1252", "iso8859_15", "latin_1")


def _detect(raw: bytes, path: Path) -> str:
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        raise ThemesError(f"{path}: cannot tell the text encoding; save it as UTF-8")
    for match in matches:
        if match.chaos <= best.chaos + 0.01:
            for codepage in PREFERRED_CODEPAGES:
                if codepage in match.could_be_from_charset:
                    return codepage
    return best.encoding


def _iter_lines(text: str):
    """Yield (line number, start offset, line text) for LF, CRLF and bare-CR line endings."""
    for number, match in enumerate(re.finditer(r"[^\r\n]*(?:\r\n|\r|\n|$)", text), start=1):
        line = match.group(0).rstrip("\r\n")
        if match.start() == len(text) and not line:
            break
        yield number, match.start(), line


def plausible_label(label: str) -> bool:
    """Is ``label`` a speaker label rather than the start of a sentence with a colon?"""
    words = label.split()
    if not words or len(words) > 5 or len(label) > 48:
        return False
    if not all(_LABEL_WORD.match(word) for word in words):
        return False
    return words[0][0].isupper() or words[0][0].isdigit()


def _candidate(line: str):
    match = _LABELLED.match(line)
    if not match or not plausible_label(match.group("label").strip()):
        return None
    return match


def parse_text(text: str, source: str, path: Path, sha256: str = "") -> Transcript:
    """Read ``Speaker: text`` turns. A turn ends where a new label starts; unlabelled lines
    continue the current turn; lines before the first turn are metadata (title, date)."""
    lines = list(_iter_lines(text))
    candidates = {number: _candidate(line) for number, _, line in lines}
    label_counts = Counter(m.group("label").strip() for m in candidates.values() if m)

    def is_turn(match) -> bool:
        label = match.group("label").strip()
        words = label.split()
        # A label seen once, with lower-case words, is more likely prose ("I said: ...").
        return label_counts[label] > 1 or all(w[0].isupper() or w[0].isdigit() for w in words)

    turns: list[Turn] = []
    metadata: list[str] = []
    current: dict | None = None

    def close() -> None:
        if current and current["end"] > current["start"]:
            turns.append(Turn(
                turn_id=len(turns) + 1, speaker=current["speaker"],
                text=text[current["start"]:current["end"]], start=current["start"],
                end=current["end"], line=current["line"],
            ))

    for number, offset, line in lines:
        match = candidates[number]
        if match and is_turn(match):
            label = match.group("label").strip()
            if not turns and current is None and label.lower() in METADATA_KEYS:
                metadata.append(line.strip())
                continue
            if current and current["speaker"] == label:
                # The same speaker again: the turn goes on.
                if match.group("text").strip():
                    current["end"] = offset + match.end("text")
                continue
            close()
            start = offset + match.start("text")
            end = offset + match.end("text")
            current = {"speaker": label, "start": start, "end": end if line[match.start("text"):].strip() else start,
                       "line": number}
        elif line.strip():
            if current is None:
                metadata.append(line.strip())
            else:
                stripped_end = offset + len(line.rstrip())
                if current["end"] == current["start"]:
                    current["start"] = offset + (len(line) - len(line.lstrip()))
                current["end"] = stripped_end
    close()
    if not turns:
        raise ThemesError(f"{path}: no speaker turns found (expected lines like 'User 1: text')")
    return Transcript(source=source, path=str(path), text=text, turns=tuple(turns),
                      metadata=tuple(metadata), sha256=sha256)


def read_transcript(path: Path, source: str) -> Transcript:
    size = path.stat().st_size
    if size == 0:
        raise ThemesError(f"{path}: file is empty")
    if size > MAX_FILE_BYTES:
        raise ThemesError(f"{path}: file is too large ({size} bytes; the limit is {MAX_FILE_BYTES})")
    raw = path.read_bytes()
    text = decode(raw, path)
    if not text.strip():
        raise ThemesError(f"{path}: file is empty")
    return parse_text(text, source, path, hashlib.sha256(raw).hexdigest())


def ingest(paths: list[str | Path], on_error: str = "fail") -> tuple[list[Transcript], list[str]]:
    """Read every transcript under ``paths``.

    Returns the transcripts and the problems met. With ``on_error='fail'`` any problem raises
    one ThemesError listing all of them; with ``'skip'`` the bad files are left out.
    """
    transcripts: list[Transcript] = []
    problems: list[str] = []
    for path, source in discover(paths):
        try:
            transcripts.append(read_transcript(path, source))
        except ThemesError as err:
            problems.append(str(err))
    if problems and on_error == "fail":
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ThemesError(problems[0] + more)
    if not transcripts:
        raise ThemesError("no transcript could be read: " + "; ".join(problems))
    return transcripts, problems
