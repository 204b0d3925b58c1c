"""Transcript formats: which reader a file needs, by its extension and its content.

Each reader turns decoded text (or, for Word, the file's bytes) into ``Transcript`` objects
whose turns keep exact offsets into ``Transcript.text``; see ``turns.py`` for the contract.
"""

from __future__ import annotations

from pathlib import Path

from ..artifacts import Transcript
from ..errors import ThemesError
from .docx import is_docx, parse_docx
from .encoding import decode
from .sheet import is_xlsx
from .table import parse_sheet, parse_table
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
    ".pages": "a Pages document; export it as .docx",
}
_SIGNATURES = {b"%PDF": ".pdf", b"{\\rtf": ".rtf", b"\xd0\xcf\x11\xe0": ".doc"}


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
    text = decode(raw, path)
    if not text.strip():
        raise ThemesError(f"{path}: file is empty")
    if suffix in TABLE_SUFFIXES:
        return parse_table(text, source, path, sha256, TABLE_SUFFIXES[suffix], columns)
    if suffix in SUBTITLE_SUFFIXES or looks_like_subtitles(text):
        return [parse_subtitles(text, source, path, sha256)]
    return [parse_text(text, source, path, sha256)]


__all__ = ["read_bytes", "decode", "parse_text", "SUPPORTED_SUFFIXES"]
