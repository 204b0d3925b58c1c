"""Word transcripts (.docx), laid out the way transcription services deliver them.

Paragraphs are read like a plain-text transcript (``Name: text``, ``Name  0:03`` over the
speech, ...), and a bold name at the start of a paragraph is a label too. Tables with a
speaker column and a text column (and optionally a time column, with or without a header
row) give one turn a row; a row without a speaker continues the turn above. Other tables
are read row by row as text.

``Transcript.text`` is the document as plain text: paragraphs and table rows, one a line,
joined with ``\\n`` (a row's cells joined with tabs, its speech cell last). Offsets index it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ..artifacts import Transcript
from ..errors import ThemesError
from .archive import check_archive, holds
from .text import Label, parse_label, parse_lines, plausible_label
from .turns import TIME, normalise_time

_SPEAKER_HEADERS = {"speaker", "speakers", "name", "participant", "who", "person", "話者", "発言者", "氏名", "名前"}
_TEXT_HEADERS = {"text", "transcript", "transcription", "speech", "dialogue", "utterance", "content",
                 "response", "comment", "verbatim", "words", "発言", "発言内容", "内容", "テキスト"}
_TIME_HEADERS = {"time", "timestamp", "timecode", "time code", "start", "tc", "時間", "時刻", "タイムコード"}


def is_docx(raw: bytes) -> bool:
    return holds(raw, "word/document.xml")


def parse_docx(raw: bytes, source: str, path: Path, sha256: str = "") -> Transcript:
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_archive(raw, path, "word/document.xml", "Word document", ".docx",
                  "open and save it again in Word, or save it as plain text")
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception:  # python-docx raises many kinds of errors for damaged files
        raise ThemesError(f"{path}: not a readable Word document (.docx); open and save it again in Word, "
                          "or save it as plain text") from None
    rows: list[tuple[str, Label | None, bool]] = []  # (line text, label, label given by layout)
    bold: list[str | None] = []
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            paragraph = Paragraph(child, document)
            rows.append((paragraph.text, None, False))
            bold.append(_bold_label(paragraph))
        elif child.tag == qn("w:tbl"):
            for line, label in _table_rows(Table(child, document)):
                rows.append((line, label, True))
                bold.append(None)
    # A bold opening word is a speaker only in a document laid out that way, not one stray
    # emphasised word.
    bold_total = sum(1 for name in bold if name)
    text = "\n".join(line for line, _, _ in rows)
    labels: dict[int, Label | None] = {}
    number = 1
    for (line, label, given), name in zip(rows, bold):
        if given:
            labels[number] = label
            for extra in range(1, line.count("\n") + 1):
                labels[number + extra] = None  # more paragraphs of the same cell
        elif name and bold_total > 1 and parse_label(line) is None:
            labels[number] = Label(name, len(name) + (len(line[len(name):]) - len(line[len(name):].lstrip())),
                                   certain=True)
        number += line.count("\n") + 1
    if not text.strip():
        raise ThemesError(f"{path}: the Word document has no text")
    return parse_lines(text, source, path, sha256, labels)


def _bold_label(paragraph) -> str | None:
    """A bold name opening a paragraph, followed by plain speech ("**Jane** I think ...")."""
    prefix = ""
    for run in paragraph.runs:
        if not run.bold:
            break
        prefix += run.text
    name = prefix.strip()
    rest = paragraph.text[len(prefix):]
    if (not name or not paragraph.text.startswith(prefix) or not rest.strip() or not plausible_label(name)
            or name[0].islower() or re.search(r"[:：]$", name)):
        return None
    return name if paragraph.text.startswith(name) else None


def _cells(row) -> list[str]:
    seen, out = set(), []
    for cell in row.cells:  # merged cells come back once per grid column
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        out.append("\n".join(p.text for p in cell.paragraphs).strip())
    return out


def _table_rows(table) -> list[tuple[str, Label | None]]:
    """One (line, label) per row; a transcript table's speech cell goes last in the line."""
    grid = [_cells(row) for row in table.rows]
    layout = _layout(grid)
    out: list[tuple[str, Label | None]] = []
    if layout is None:
        for cells in grid:
            line = "\t".join(cells)
            out.append((line, parse_label(line)))
        return out
    speaker_col, time_col, text_col, header = layout
    needed = max(c for c in (speaker_col, time_col, text_col) if c is not None) + 1
    previous = ""
    for index, cells in enumerate(grid):
        cells = cells + [""] * (needed - len(cells))
        others = [cell for col, cell in enumerate(cells) if col != text_col]
        line = "\t".join(others + [cells[text_col]])
        if index == 0 and header:
            out.append((line, None))
            continue
        speaker = cells[speaker_col].replace("\n", " ").strip().rstrip(":：").strip()
        time = cells[time_col].strip() if time_col is not None else ""
        speech = len(line) - len(cells[text_col])
        if len(speaker) > 60:
            speaker = ""  # not a name: the row continues the turn above
        # A row without a speaker continues the one above; its other cells are not speech.
        speaker = speaker or previous
        previous = speaker
        out.append((line, Label(speaker, speech, normalise_time(time) if time else "", certain=True)
                    if speaker else None))
    return out


def _layout(grid: list[list[str]]) -> tuple[int, int | None, int, bool] | None:
    """(speaker column, time column or None, text column, has a header row), or None when the
    table is not a transcript."""
    if not grid or not (2 <= len(grid[0]) <= 4):
        return None
    width = len(grid[0])
    header = [cell.strip().lower().rstrip(":") for cell in grid[0]]
    named = {kind: next((i for i, cell in enumerate(header) if cell in words), None)
             for kind, words in (("speaker", _SPEAKER_HEADERS), ("text", _TEXT_HEADERS), ("time", _TIME_HEADERS))}
    if named["speaker"] is not None and named["text"] is not None:
        return named["speaker"], named["time"], named["text"], True
    body = [row for row in grid if len(row) == width]
    if len(body) < 2:
        return None

    def share(col: int, test) -> float:
        values = [row[col] for row in body if row[col].strip()]
        return sum(1 for v in values if test(v)) / len(values) if values else 0.0

    times = [c for c in range(width) if share(c, lambda v: re.fullmatch(rf"[\[(]?{TIME}[\])]?", v.strip())) >= 0.8]
    time_col = times[0] if times else None
    rest = [c for c in range(width) if c != time_col]
    lengths = {c: sum(len(row[c]) for row in body) / len(body) for c in rest}
    text_col = max(rest, key=lambda c: lengths[c])
    speakers = [c for c in rest if c != text_col
                and share(c, lambda v: plausible_label(v.rstrip(":：").strip())) >= 0.8]
    if not speakers:
        return None
    return speakers[0], time_col, text_col, False
