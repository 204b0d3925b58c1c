"""Word transcripts (.docx), laid out the way transcription services deliver them.

Paragraphs are read like a plain-text transcript (``Name: text``, ``Name  0:03`` over the
speech, ...), and a bold name at the start of a paragraph is a label too (see
``_bold_speakers``). Tables with a speaker column and a text column give one turn a row: of
two to four columns (one perhaps a time), with or without a header row, or wider where a header
row names the two (``Line | Time | Speaker | Transcript | Notes``), perhaps under a merged title
row; a row without a speaker continues the turn above. Other tables are read row by row as text.

The text is what Word shows with every tracked change accepted: insertions and moved-to text
in, deletions and moved-from text out; a paragraph whose mark is deleted runs on into the next.
Text in content controls, smart tags and custom XML, inside a paragraph, around whole
paragraphs or around table rows and cells, is read too; so are text boxes, after the paragraph
they are anchored in, and tables inside a layout table's cells (``_blocks``).

``Transcript.text`` is the document as plain text: paragraphs and table rows, one a line,
joined with ``\\n`` (a row's cells joined with tabs, its speech cell last). Offsets index it.
"""

from __future__ import annotations

import io
import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Iterator, NamedTuple

from ..artifacts import Transcript
from ..errors import ThemesError
from .archive import check_archive, holds
from .text import NUMBERED_HEADING, Label, parse_label, parse_lines, plausible_label
from .turns import OTHER_LINE_ENDS, TIME, normalise_time
from .vtt import looks_like_subtitles, parse_subtitles

_SPEAKER_HEADERS = {"speaker", "speakers", "name", "participant", "who", "person", "話者", "発言者", "氏名", "名前"}
_TEXT_HEADERS = {"text", "transcript", "transcription", "speech", "dialogue", "utterance", "content",
                 "response", "comment", "verbatim", "words", "発言", "発言内容", "内容", "テキスト"}
_TIME_HEADERS = {"time", "timestamp", "timecode", "time code", "start", "tc", "時間", "時刻", "タイムコード"}

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _R, _TBL = _W + "p", _W + "r", _W + "tbl"
# What holds runs that Word shows with every change accepted: insertions, moved-to text, links,
# fields, content controls, smart tags, custom XML. Deletions (w:del, w:moveFrom) are not here,
# nor are properties, bookmarks or comment marks, so their text is left out.
_RUN_HOLDERS = {_W + tag for tag in ("ins", "moveTo", "hyperlink", "fldSimple", "sdt", "sdtContent", "smartTag",
                                     "customXml", "dir", "bdo")}
# What holds whole paragraphs and tables, in the body or in a table cell.
_BLOCK_HOLDERS = {_W + tag for tag in ("sdt", "sdtContent", "customXml")}
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_TXBX = _W + "txbxContent"  # a text box's paragraphs
# Where a text box is not read from: another box (it is read with that one) or deleted text.
_NOT_READ = {_TXBX, _W + "del", _W + "moveFrom"}
# A numbered heading of the topic guide opening a paragraph in bold; given to the plain-text
# reader as the label it reads as a heading ("Q3" of "Q3.").
_HEADING = re.compile(rf"(?P<heading>q[ \t]*\d{{1,3}}[a-z]?|{NUMBERED_HEADING.pattern})[.):：]?(?=\s|$)", re.IGNORECASE)


def is_docx(raw: bytes) -> bool:
    return holds(raw, "word/document.xml")


def parse_docx(raw: bytes, source: str, path: Path, sha256: str = "") -> Transcript:
    import docx
    from docx.table import Table

    check_archive(raw, path, "word/document.xml", "Word document", ".docx",
                  "open and save it again in Word, or save it as plain text")
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception:  # python-docx raises many kinds of errors for damaged files
        raise ThemesError(f"{path}: not a readable Word document (.docx); open and save it again in Word, "
                          "or save it as plain text") from None
    _unwrap_rows_and_cells(document.element.body)
    rows: list[tuple[str, Label | None, bool]] = []  # (line text, label, label given by layout)
    openings: list[_Opening | None] = []
    joined: tuple[str, str] | None = None  # paragraphs whose mark a tracked change deletes

    def add_paragraph(line: str, bold: str) -> None:
        rows.append((line, None, False))
        openings.append(_opening(line, bold))

    for element in _blocks(document.element.body):
        if element.tag == _P:
            line, bold = _paragraph(element)
            if joined is not None:
                line, bold = _join(joined, (line, bold))
                joined = None
            if _mark_deleted(element):  # accepted, it joins the paragraph after it
                joined = (line, bold)
            else:
                add_paragraph(line, bold)
        elif element.tag == _TBL:
            if joined is not None:  # a paragraph joined to a table stays a paragraph
                add_paragraph(*joined)
                joined = None
            for line, label in _table_rows(Table(element, document)):
                rows.append((line, label, True))
                openings.append(None)
    if joined is not None:
        add_paragraph(*joined)
    speakers = _bold_speakers(openings)
    text = "\n".join(line for line, _, _ in rows)
    labels: dict[int, Label | None] = {}
    number = 1
    for (line, label, given), opening, speaker in zip(rows, openings, speakers):
        if given:
            labels[number] = label
            for extra in range(1, line.count("\n") + 1):
                labels[number + extra] = None  # more paragraphs of the same cell
        elif opening and opening.heading:  # a bold heading: metadata that parts the turns
            labels[number] = Label(opening.name, opening.speech, layout="heading")
        elif opening and speaker and parse_label(line) is None:
            labels[number] = Label(opening.name, opening.speech, certain=True)
        number += line.count("\n") + 1
    if not text.strip():
        raise ThemesError(f"{path}: the Word document has no text")
    if not labels and looks_like_subtitles(text):  # Teams' older transcripts, saved as Word
        return parse_subtitles(text, source, path, sha256)
    return parse_lines(text, source, path, sha256, labels)


def _blocks(container) -> Iterator:
    """The paragraphs and tables of ``container`` (the body, a table cell, a text box) in
    reading order, with what Word nests in them taken out: a text box's paragraphs follow the
    paragraph it is anchored in (where that paragraph's mark is deleted, the paragraph it runs
    on into, or the table after it), and a table holding tables (a layout table around a
    transcript table, with a title above it in the same cell) gives its cells' paragraphs and
    tables, row by row, instead of itself. A table that is a transcript table by its own cells
    (``Speaker | Text``, a small table pasted into one speech cell) stays one."""
    waiting: list = []  # text boxes to read after the paragraph (or table) that comes next
    for element in _inside(container, _BLOCK_HOLDERS):
        if element.tag == _P:
            yield element
            waiting += _text_boxes(element)
            if _mark_deleted(element):  # accepted, it runs on into the next: its boxes would be joined to it
                continue
        elif element.tag == _TBL and _is_layout_table(element):
            for row in element.iterchildren(_W + "tr"):
                for cell in row.iterchildren(_W + "tc"):
                    yield from _blocks(cell)
        elif element.tag == _TBL:
            yield element
        else:  # a bookmark, the section's properties: no paragraph to follow
            continue
        for box in waiting:
            yield from _blocks(box)
        waiting = []
    for box in waiting:
        yield from _blocks(box)


def _is_layout_table(table) -> bool:
    """Whether a table holding tables is laid out around them: its own cells make no transcript
    table of two turns or more (a layout table's cells, its tables left out, may look like one
    row of a transcript: a title beside a date over the cell holding the transcript), or a
    table in it with more turns sits in a row that is no turn (a cover sheet, "Interviewer |
    Jane Smith", "Participant | P04", above the cell holding the transcript; not a table of
    scores pasted into an answer of a transcript table). A row of the table inside counts where
    two of its cells hold text."""
    holding = [(row, inner) for row, tr in enumerate(table.iterchildren(_W + "tr")) for inner in tr.iter(_TBL)]
    if not holding:
        return False
    grid = _grid(table)
    titles, layout = _transcript_layout(grid)
    if layout is None:
        return True
    speaker, _, text, header = layout
    spoken = [row for row in range(titles + header, len(grid))
              if len(grid[row]) > max(speaker, text) and grid[row][speaker].strip()]
    turns = {row for row in spoken if grid[row][text].strip()}
    if len(turns) < 2:
        return True
    # A speaker's row elsewhere in the table is a turn's even where its answer is only the
    # table pasted into it.
    names = Counter(grid[row][speaker].strip() for row in spoken)
    answers = turns | {row for row in spoken if names[grid[row][speaker].strip()] > 1}

    def rows_filled(inner: list[list[str]]) -> int:  # (however its speakers are laid out: a time under a name)
        return sum(1 for cells in inner if sum(1 for cell in cells if cell.strip()) >= 2)

    return any(row not in answers and rows_filled(_grid(inner)) > len(turns) for row, inner in holding)


def _grid(table) -> list[list[str]]:
    """The text of a table's own cells, row by row, as ``_cells`` reads them (tables inside
    left out); read from the XML, for a table met before python-docx wraps it."""
    return [[_cell_text(tc) for tc in row.iterchildren(_W + "tc")] for row in table.iterchildren(_W + "tr")]


def _cell_text(tc) -> str:
    return "\n".join(_paragraph(p)[0] for p in _blocks(tc) if p.tag == _P).strip()


def _text_boxes(p) -> list:
    """The text boxes anchored in a paragraph, each once: Word writes a box twice, as a drawing
    (``mc:Choice``) and again as VML for older readers (``mc:Fallback``). A box inside a box is
    read with the one around it; a box in deleted text is left out."""
    boxes = []
    for box in p.iter(_TXBX):
        above = list(itertools.takewhile(lambda element: element is not p, box.iterancestors()))
        if any(element.tag in _NOT_READ for element in above):
            continue
        fallback = next((element for element in above if element.tag == _MC + "Fallback"), None)
        if fallback is not None and any(True for choice in fallback.getparent().iterchildren(_MC + "Choice")
                                        for _ in choice.iter(_TXBX)):
            continue
        boxes.append(box)
    return boxes


def _inside(element, holders: set[str]) -> Iterator:
    """The children of ``element`` in document order, each of ``holders`` replaced by its own
    children (and so on down). A content control showing its placeholder ("Click or tap here
    to enter text.") holds nothing."""
    for child in element.iterchildren():
        if child.tag not in holders:
            yield child
        elif not _showing_placeholder(child):
            yield from _inside(child, holders)


def _showing_placeholder(control) -> bool:
    """Whether a content control shows its placeholder text rather than content."""
    return control.find(f"{_W}sdtPr/{_W}showingPlcHdr") is not None


def _paragraph(p) -> tuple[str, str]:
    """A paragraph's text as Word shows it with its changes accepted (tabs and line breaks as
    ``\\t`` and ``\\n``, other line separators pasted into the text as ``\\n`` too), and the
    text of the bold runs it opens with."""
    from docx.text.run import Run

    runs = [(OTHER_LINE_ENDS.sub("\n", child.text), child)
            for child in _inside(p, _RUN_HOLDERS) if child.tag == _R]
    bold = ""
    for text, run in runs:
        if text and not Run(run, None).bold:
            break
        bold += text
    return "".join(text for text, _ in runs), bold


def _unwrap_rows_and_cells(body) -> None:
    """Lift table rows and cells out of the content controls and custom XML around them, in
    place (the document is only read): python-docx looks for rows and cells only directly in
    their table and row. A content control showing its placeholder holds nothing."""
    wrapped = [holder for holder in body.iter(_W + "sdt", _W + "customXml")
               if holder.getparent() is not None and holder.getparent().tag in (_TBL, _W + "tr")]
    for holder in reversed(wrapped):  # inner ones first
        parent = holder.getparent()
        at = parent.index(holder)
        # A control's rows are in its w:sdtContent, which _inside opens (and which may be missing).
        lifted = [] if _showing_placeholder(holder) else list(_inside(holder, _BLOCK_HOLDERS))
        parent.remove(holder)
        for offset, child in enumerate(c for c in lifted if c.tag in (_W + "tr", _W + "tc")):
            parent.insert(at + offset, child)


def _mark_deleted(p) -> bool:
    """Whether a tracked change deletes (or moves away) the paragraph's mark, so that, accepted,
    the paragraph runs on into the next one."""
    return p.find(f"{_W}pPr/{_W}rPr/{_W}del") is not None or p.find(f"{_W}pPr/{_W}rPr/{_W}moveFrom") is not None


def _join(first: tuple[str, str], second: tuple[str, str]) -> tuple[str, str]:
    """Two paragraphs (text, bold opening) as one: the bold opening runs on into the second
    where the whole first paragraph is bold."""
    (line, bold), (more, more_bold) = first, second
    return line + more, (bold + more_bold if bold == line else bold)


class _Opening(NamedTuple):
    """Bold words opening a paragraph: ``**Jess** They said no.``"""

    name: str      # "Jess"; a numbered heading without its closing stop or colon ("Q3" for "Q3.")
    speech: int    # where the text after them starts in the paragraph
    heading: bool  # a numbered heading of the topic guide ("Q3.", "Topic 2"), not a speaker
    runs_on: bool  # the sentence goes on after them in lower case ("**Never** again will I ...")


def _opening(line: str, bold: str) -> _Opening | None:
    name, rest = bold.strip(), line[len(bold):]
    # After a line break (in the bold run or after it) the speech is the lines below: the label
    # line ends where the paragraph's first line does.
    first_line = line.find("\n") if "\n" in line else len(line)
    speech = min(len(line) - len(rest.lstrip(" \t")), first_line)
    heading = _HEADING.match(name)  # "Q3.", "Question 3:", "Topic 2", or a whole bold "Q3. What ...?"
    if heading:
        return _Opening(heading.group("heading"), speech, True, False)
    if not name or not rest.strip() or not plausible_label(name) or name[0].islower():
        return None
    return _Opening(name, speech, False, rest.lstrip()[:1].islower())


def _bold_speakers(openings: list[_Opening | None]) -> list[bool]:
    """Which paragraphs' bold openings name their speaker, where the document is laid out that
    way (two or more paragraphs open with a bold name).

    A bold name that opens two or more paragraphs is a speaker's. One that opens a single
    paragraph is a speaker's where the sentence starts after it rather than going on from it
    (``**Never** again will I ...`` is emphasis), and where it is like another bold name: with
    a number, as ``Nurse 1`` is like ``User 2``, or without, as ``Dev`` is like ``Jess``. So
    ``**Honestly** I ...`` among ``P1`` and ``P2`` is emphasis, and ``**1.**`` among ``Jess``
    and ``Dev`` is numbering. Numbered headings (``**Q3.**``) are never speakers.
    """
    names = [opening.name if opening and not opening.heading else "" for opening in openings]
    counts = Counter(name for name in names if name)
    starting = {opening.name for opening in openings
                if opening and not opening.heading and (counts[opening.name] > 1 or not opening.runs_on)}
    kinds = Counter(_numbered(name) for name in starting)
    chosen = [counts[name] > 1 or (name in starting and kinds[_numbered(name)] > 1) for name in names]
    return chosen if sum(chosen) > 1 else [False] * len(chosen)


def _numbered(name: str) -> bool:
    return bool(re.search(r"\d", name))


def _cells(row) -> list[str]:
    try:
        cells = [cell._tc for cell in row.cells]  # merged cells come back once per grid column
    except ValueError:  # python-docx: a vertical merge with no cell above it to continue
        cells = list(row._tr.tc_lst)  # each cell as written, merges not followed
    seen, out = set(), []
    for tc in cells:
        if tc in seen:
            continue
        seen.add(tc)
        out.append(_cell_text(tc))
    return out


def _heading(line: str) -> Label | None:
    """The label that makes ``line`` metadata and parts the turns around it (see ``parse_lines``)."""
    return Label(line.split("\n")[0], len(line), layout="heading") if line.strip() else None


def _table_rows(table) -> list[tuple[str, Label | None]]:
    """One (line, label) per row; a transcript table's speech cell goes last in the line."""
    grid = [_cells(row) for row in table.rows]
    titles, layout = _transcript_layout(grid)
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
        if index < titles:  # the title, and the header row below, are metadata that part the turns
            title = cells[0] if cells else ""
            out.append((title, _heading(title)))
            continue
        cells = cells + [""] * (needed - len(cells))
        # One line up to the speech: a speaker cell of two lines ("Dr Smith" over "Psychiatrist",
        # a name over its time) is read as one.
        others = [cell.replace("\n", " ") for col, cell in enumerate(cells) if col != text_col]
        line = "\t".join(others + [cells[text_col]])
        if index == titles and header:
            out.append((line, _heading(line)))
            continue
        speaker, stacked = _speaker_and_time(cells[speaker_col])
        time = cells[time_col].strip() if time_col is not None else ""
        time = time or stacked
        speech = len(line) - len(cells[text_col])
        if len(speaker) > 60:
            speaker = ""  # not a name: the row continues the turn above
        # A row without a speaker continues the one above; its other cells are not speech.
        speaker = speaker or previous
        previous = speaker
        out.append((line, Label(speaker, speech, normalise_time(time) if time else "", certain=True)
                    if speaker else None))
    return out


def _transcript_layout(grid: list[list[str]]) -> tuple[int, tuple[int, int | None, int, bool] | None]:
    """(the number of title rows at the top, ``_layout`` of the rows below them)."""
    # A title over the table ("Interview 3 – Acute ward"): rows holding one value across (a merged cell).
    titles = next((index for index, cells in enumerate(grid) if len(set(cells)) > 1), len(grid))
    return titles, _layout(grid[titles:])


_CELL_TIME = re.compile(rf"[\[(]?({TIME})[\])]?")


def _speaker_and_time(cell: str) -> tuple[str, str]:
    """A speaker cell -> (speaker, time): a time on a line of its own under or over the name
    (``Interviewer`` / ``00:01:02``, as some services stack them) is the row's time."""
    names, times = [], []
    for line in cell.split("\n"):
        found = _CELL_TIME.fullmatch(line.strip())
        (times if found else names).append(found.group(1) if found else line)
    return " ".join(names).strip().rstrip(":：").strip(), (times[0] if times else "")


def _layout(grid: list[list[str]]) -> tuple[int, int | None, int, bool] | None:
    """(speaker column, time column or None, text column, has a header row), or None when the
    table is not a transcript."""
    if not grid or len(grid[0]) < 2:
        return None
    width = len(grid[0])
    header = [cell.strip().lower().rstrip(":") for cell in grid[0]]
    named = {kind: next((i for i, cell in enumerate(header) if cell in words), None)
             for kind, words in (("speaker", _SPEAKER_HEADERS), ("text", _TEXT_HEADERS), ("time", _TIME_HEADERS))}
    if named["speaker"] is not None and named["text"] is not None:
        return named["speaker"], named["time"], named["text"], True
    # Without a header naming them, only narrow tables are taken for transcripts: a wide one
    # ("Line | Time | Speaker | Transcript | Notes" with its header row lost) is too open to guess.
    body = [row for row in grid if len(row) == width]
    if len(body) < 2 or width > 4:
        return None

    def share(col: int, test) -> float:
        values = [row[col] for row in body if row[col].strip()]
        return sum(1 for v in values if test(v)) / len(values) if values else 0.0

    def counts_rows(col: int) -> bool:
        """Whole numbers, each greater than the one above: line numbers, not speakers ("19", "22", "19")."""
        values = [row[col].strip() for row in body if row[col].strip()]
        return all(v.isdecimal() for v in values) and all(int(a) < int(b) for a, b in zip(values, values[1:]))

    times = [c for c in range(width) if share(c, lambda v: _CELL_TIME.fullmatch(v.strip())) >= 0.8]
    time_col = times[0] if times else None
    rest = [c for c in range(width) if c != time_col]
    lengths = {c: sum(len(row[c]) for row in body) / len(body) for c in rest}
    text_col = max(rest, key=lambda c: lengths[c])
    speakers = [c for c in rest if c != text_col and not counts_rows(c)
                and share(c, lambda v: plausible_label(_speaker_and_time(v)[0])) >= 0.8]
    if not speakers:
        return None
    return speakers[0], time_col, text_col, False
