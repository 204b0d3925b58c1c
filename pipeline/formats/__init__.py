"""Transcript formats: which reader a file needs, by its extension and its content.

Each reader turns decoded text (or, for Word, the file's bytes) into ``Transcript`` objects
whose turns keep exact offsets into ``Transcript.text``; see ``turns.py`` for the contract.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

from ..artifacts import Transcript
from ..errors import ThemesError
from .docx import is_docx, parse_docx
from .encoding import decode
from .sheet import is_xlsx
from .table import header_names, column_name, parse_sheet, parse_table
from .text import parse_text
from .vtt import looks_like_subtitles, parse_subtitles

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
SUBTITLE_SUFFIXES = {".vtt", ".srt"}
TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | SUBTITLE_SUFFIXES | set(TABLE_SUFFIXES) | {".docx", ".xlsx"}
# Formats people try that we cannot read, and what to do instead.
_UNSUPPORTED = {
    ".doc": "an old Word (.doc) file; save it as .docx", ".rtf": "an RTF file; save it as .docx or .txt",
    ".pdf": "a PDF; export it as .docx or .txt", ".odt": "an OpenDocument file; save it as .docx",
    ".xls": "an old Excel (.xls) workbook; save it as .xlsx or the sheet as CSV",
    ".ods": "an OpenDocument spreadsheet; save it as .xlsx or the sheet as CSV",
    ".pages": "a Pages document; export it as .docx", ".zip": "a zip archive; unzip it first",
}
# Looked for in a folder too, so that a transcript in one of them is refused, not passed over.
REFUSED_SUFFIXES = set(_UNSUPPORTED)
_SIGNATURES = {b"%PDF": ".pdf", b"{\\rtf": ".rtf", b"\xd0\xcf\x11\xe0": ".doc"}
_ZIP = b"PK\x03\x04"  # .docx and .xlsx files are zip archives too: they are recognised first
_FIRST_LINE = re.compile(r"[^\r\n]*\S[^\r\n]*")


def read_bytes(raw: bytes, path: Path, source: str, sha256: str = "",
               columns: dict[str, str | None] | None = None) -> list[Transcript]:
    """Read one file's bytes into transcripts (a table with a source column gives several)."""
    suffix = path.suffix.lower()
    for signature, kind in _SIGNATURES.items():
        if raw.startswith(signature) and not (kind == ".doc" and suffix == ".xls"):  # both are OLE files
            suffix = kind
    if suffix in _UNSUPPORTED:
        raise ThemesError(f"{path}: {_UNSUPPORTED[suffix]}")
    if suffix == ".xlsx" or is_xlsx(raw):
        return parse_sheet(raw, source, path, sha256, columns)
    if suffix == ".docx" or is_docx(raw):
        return [parse_docx(raw, source, path, sha256)]
    if raw.startswith(_ZIP):
        raise ThemesError(f"{path}: {_UNSUPPORTED['.zip']}")
    notices: list[str] = []  # the decoder's and this function's, said before the reader's own
    text = decode(raw, path, notices=notices)
    if not text.strip():
        raise ThemesError(f"{path}: file is empty")
    kind = TABLE_SUFFIXES.get(suffix)
    if kind is None and suffix not in SUBTITLE_SUFFIXES and _tab_table_header(text, columns):
        kind = "tsv"
        notices.append(f"{path}: a table with tabs between its cells (as Excel saves \"Unicode Text\"): "
                       "read as a .tsv file, one row a turn")
    if kind:
        transcripts = parse_table(text, source, path, sha256, kind, columns)
    elif suffix in SUBTITLE_SUFFIXES or looks_like_subtitles(text):
        transcripts = [parse_subtitles(text, source, path, sha256)]
    else:
        transcripts = [parse_text(text, source, path, sha256)]
    return [replace(t, notices=(*notices, *t.notices)) for t in transcripts] if notices else transcripts


def _tab_table_header(text: str, columns: dict[str, str | None] | None) -> bool:
    """Whether ``text`` is a table with tabs between its cells (Excel's "Unicode Text" save,
    whatever its extension): its first line with anything in it is a header of two or more
    cells, one of them a name the text column may have (``text``, ``input.columns.text`` or
    a usual name such as ``comment``), and every row with a cell filled has as many cells.

    A transcript laid out ``Name<TAB>speech`` has no such header (its first line is a label
    and speech), and its lines without a label have no tab."""
    first = _FIRST_LINE.search(text)
    if first is None or "\t" not in first.group():
        return False
    header = next(csv.reader([first.group()], delimiter="\t"))
    names = {column_name(name) for name in header_names(columns)}
    if not any(column_name(cell) in names for cell in header):
        return False
    rows = csv.reader(io.StringIO(text[first.start():], newline=""), delimiter="\t")
    try:
        return all(len(row) == len(header) for row in rows if any(cell.strip() for cell in row))
    except csv.Error:
        return False


__all__ = ["read_bytes", "decode", "parse_text", "SUPPORTED_SUFFIXES", "REFUSED_SUFFIXES"]
