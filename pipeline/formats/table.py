"""One utterance a row: CSV, TSV, JSONL and Excel sheets (survey free text, feedback comments).

Each row with text is one turn, in file order; rows are never merged. Columns are named by
``input.columns``: ``text`` (default: the column called ``text``; without one, the one column
with a usual name for text, ``quote``, ``comment``, ``response``..., said in a notice, among
the columns not already read as another key), and ``speaker``,
``source``, ``timestamp``, ``id`` (default: the columns of those names, where present). A
``source`` column splits the file into one transcript per value, named ``FILE/VALUE``
(``FILE/(no source)`` for rows without one).
A row without a speaker gets the label ``""`` (role ``respondent``). Empty rows are left out
and counted in the transcript's metadata.

A title above the header (``Staff survey 2025``, then perhaps a subtitle or a date) is left
out, and a notice says so (``split_title``).

``Transcript.text`` is the rows' texts joined with ``\\n`` (cells are unquoted and unescaped,
so the file's bytes cannot be indexed directly); ``Turn.line`` is the row's line in the file.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections import Counter
from pathlib import Path

from ..artifacts import Transcript
from ..errors import ThemesError
from .turns import ID, ROLE, TurnBuilder, normalise_time

KEYS = ("text", "speaker", "source", "timestamp", "id", "role")
OPTIONAL_DEFAULTS = {"speaker": "speaker", "source": "source", "timestamp": "timestamp", "id": "id", "role": "role"}
# Usual names for the text column where there is no column called "text" (compared in lower
# case, with "_" and "-" read as spaces). Only a table with exactly one of them is read this way.
TEXT_NAMES = ("quote", "quotation", "quotes", "utterance", "excerpt", "comment", "comments", "response",
              "answer", "free text", "content", "message", "statement", "verbatim")

# A title above the header: at most this many rows of one filled cell (a title, a subtitle, a
# date), with the header at most this many lines below the first (blank lines included).
MAX_TITLE_ROWS = 3
MAX_LINES_ABOVE_HEADER = 5
DELIMITERS = ",;\t|"
# The transcript of the rows whose source cell is empty, FILE/(no source): named so, not
# "FILE/", in the report and in segment ids.
NO_SOURCE = "(no source)"

_RECORD_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

csv.field_size_limit(2**31 - 1)


def column_name(name: str) -> str:
    """A column's name as the usual names are compared: lower case, "_" and "-" read as spaces."""
    return re.sub(r"[\s_-]+", " ", name.strip().lower())


def _text_column(present: list[str], path: Path, line: int, taken: set[str] = frozenset()) -> str:
    """The text column of a table without a column called ``text``: the one with a name from
    ``TEXT_NAMES``, leaving out the columns ``taken`` for speaker, source, timestamp or id.
    None or several such columns: an error naming the columns."""
    candidates = [name for name in present
                  if name not in taken and column_name(name) in TEXT_NAMES]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1 and len({column_name(name) for name in candidates}) == 1:
        raise ThemesError(f"{path}:{line} (input.columns.text): {len(candidates)} columns are named "
                          f"{candidates[0]!r}; rename all but the one to read")
    columns = listed(present)
    if candidates:
        raise ThemesError(f"{path}:{line} (input.columns.text): no column named 'text', and "
                          f"{' and '.join(repr(c) for c in candidates[:5])} could each be the text; the columns are "
                          f"{columns} — set input.columns.text (or --text-column)")
    raise ThemesError(f"{path}:{line} (input.columns.text): no column named 'text'; the columns are "
                      f"{columns} — set input.columns.text (or --text-column)")


def _resolve(columns: dict[str, str | None], present: list[str], path: Path, line: int) -> dict[str, str]:
    """Map each key to the column name it reads ({} entries for columns not used). The text
    column is resolved last, so that a column guessed for it is none already chosen for
    another key."""
    by_lower = {name.strip().lower(): name for name in present}
    chosen: dict[str, str] = {}
    for key in KEYS[1:] + KEYS[:1]:
        wanted = columns.get(key)
        if wanted == "":
            continue  # explicitly not used
        if wanted is None:
            default = "text" if key == "text" else OPTIONAL_DEFAULTS[key]
            if default in by_lower:
                chosen[key] = by_lower[default]
            elif key == "text":
                chosen[key] = _text_column(present, path, line, set(chosen.values()))
            continue
        if wanted in present:
            chosen[key] = wanted
        elif wanted.strip().lower() in by_lower:
            chosen[key] = by_lower[wanted.strip().lower()]
        else:
            raise ThemesError(f"{path}:{line} (input.columns.{key}): no column named {wanted!r}; the columns are "
                              f"{listed(present)}")
    for key, name in chosen.items():
        twins = [p for p in present if p.strip().lower() == name.strip().lower()]
        if len(twins) > 1:
            raise ThemesError(f"{path}:{line} (input.columns.{key}): {len(twins)} columns are named {name!r}; "
                              "rename all but the one to read")
    return chosen


def listed(names: list[str], limit: int = 20) -> str:
    """Column names for a message: quoted, each cut to 40 characters, at most ``limit`` of them."""
    shown = ", ".join(repr(_short(name, 40)) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def record(header: list[str], cells: list[str]) -> dict[str, str]:
    """A row as {column name: cell}; of two columns with one name the first counts (a column
    that is read may not have a twin: ``_resolve``), and cells right of the last name are no
    column's."""
    row: dict[str, str] = {}
    for name, cell in zip(header, cells):
        row.setdefault(name, cell)
    return row


def _filled(cells: list[str]) -> list[str]:
    return [cell for cell in (c.lstrip("\ufeff").strip() for c in cells) if cell]


def split_title(records, path: Path, names, notices: list[str] | None):
    """(header line, header cells, the records after it) from a table's (line, cells) records,
    or None where no record has a cell filled. The header is the first record with a cell
    filled, unless that record is a title: a title is left out, said in a notice, only where
    ``names`` are given (the column names the reader needs one of, compared as ``column_name``
    does) and it is the first of at most ``MAX_TITLE_ROWS`` records of one filled cell, none
    of them one of ``names``, right above a record of two or more filled cells holding one of
    ``names``, at most ``MAX_LINES_ABOVE_HEADER`` lines below it. So a table of one column, or
    a header with one name over rows with notes beside it, keeps its header."""
    records = iter(records)
    first = next((record for record in records if _filled(record[1])), None)
    if first is None:
        return None
    wanted = {column_name(name) for name in names}
    if not wanted or not _title_like(_filled(first[1]), wanted):
        return first[0], first[1], records
    titles, held = [first], []
    for record in records:
        held.append(record)
        line, cells = record
        filled = _filled(cells)
        if line - first[0] > MAX_LINES_ABOVE_HEADER:
            break
        if not filled:
            continue
        if _title_like(filled, wanted) and len(titles) < MAX_TITLE_ROWS:
            titles.append(record)
            continue
        if len(filled) >= 2 and any(column_name(cell) in wanted for cell in filled):
            if notices is not None:
                lines = [str(title_line) for title_line, _ in titles]
                said = lines[0] if len(lines) == 1 else f"{', '.join(lines[:-1])} and {lines[-1]}"
                texts = ", ".join(repr(_short(_filled(title)[0])) for _, title in titles)
                notices.append(f"{path}: a title above the column names (line{'s' if len(lines) > 1 else ''} "
                               f"{said}: {texts}) is left out; the header is line {line}")
            return line, cells, records
        break
    return first[0], first[1], itertools.chain(held, records)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _cells_by(line: str, delimiter: str) -> list[str]:
    """One line's cells split by ``delimiter`` as CSV does (a quote left open runs to its end)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def _by_cells(line: str) -> list[str]:
    """The delimiters, the one splitting ``line`` into the most cells first (on a tie, in the
    order of ``DELIMITERS``). Counted with the CSV reader, in time linear in the line: the
    standard library's Sniffer took 20 s on a 321-byte line of quotes."""
    return sorted(DELIMITERS, key=lambda d: (-len(_cells_by(line, d)), DELIMITERS.index(d)))


def _title_like(cells: list[str], wanted: set[str]) -> bool:
    """One filled cell that is none of the column names looked for: a title, perhaps."""
    return len(cells) == 1 and column_name(cells[0]) not in wanted


def _delimiter(sample: str, names) -> str:
    """The header's delimiter: that of the first of the first lines (a title's and the
    header's, as ``split_title`` reads them) that splits into two or more cells, one of them
    one of ``names``; else the one splitting the first line most. So a title holding another
    delimiter's character (``Staff survey, March 2025`` over ``id;comment``) is no trouble."""
    lines = [line for line in itertools.islice(sample.splitlines(), 50) if line.strip()]
    if not lines:
        return ","
    wanted = {column_name(name) for name in names}
    for line in lines[:MAX_TITLE_ROWS + 1] if wanted else ():
        for delimiter in _by_cells(line):
            cells = _filled(_cells_by(line, delimiter))
            if len(cells) >= 2 and any(column_name(cell) in wanted for cell in cells):
                return delimiter
        if not any(_title_like(_filled(_cells_by(line, delimiter)), wanted) for delimiter in DELIMITERS):
            break  # not a title: the header is at or above this line, and data rows are no guide
    return _by_cells(lines[0])[0]


def _csv_records(reader, path: Path):
    """(line, cells) for each CSV record, the line being the one it starts on."""
    line = 1
    try:
        for row in reader:
            yield line, row
            line = reader.line_num + 1
    except csv.Error as err:
        raise ThemesError(f"{path}:{line}: not valid CSV ({err})") from None


def csv_rows(text: str, delimiter: str | None, path: Path, notices: list[str] | None = None, names=()):
    """Yield (line number, row dict) after the header; the header's names first. The header
    is the first line with a cell filled; a title above it is left out where ``names`` are
    given (``split_title``), and said in ``notices``."""
    if delimiter is None:
        delimiter = _delimiter(text[:65536], names)
    # Lines are handed over one at a time (with their breaks, which quoted cells may hold),
    # so a large file is not copied whole again.
    reader = csv.reader((m.group(0) for m in _RECORD_LINE.finditer(text)), delimiter=delimiter)
    found = split_title(_csv_records(reader, path), path, names, notices)
    if found is None:
        raise ThemesError(f"{path}: the table is empty")
    header_line, header, records = found
    header = [name.lstrip("\ufeff").strip() for name in header]
    yield header_line, header
    for line, row in records:
        if row:
            # Empty cells right of the header are nobody's (a delimiter at the end of a row,
            # "1,I liked it,"), as in an Excel sheet; a filled one means the row is cut wrong.
            if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
                raise ThemesError(f"{path}:{line}: row has {len(row)} cells but the header has {len(header)}; "
                                  "is a quote left open?")
            yield line, record(header, row)


class _Object(dict):
    """A JSON object read with the first of a key given twice, as a table's first of two columns
    of one name counts; ``twice`` names such keys (``{"text": "a", "text": "b"}``), which
    ``json.loads`` would otherwise settle silently for the last."""

    twice: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _Object:
    found = _Object()
    for key, value in pairs:
        found.setdefault(key, value)
    found.twice = tuple(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    return found


def _rows_jsonl(text: str, path: Path, columns: dict[str, str | None] | None = None):
    names: list[str] = []
    rows = []
    # Lines end at \n, \r\n or \r only: U+2028, U+2029 or U+0085 may stand raw inside a JSON
    # string (JSON.stringify and json.dumps(ensure_ascii=False) write them so), where
    # str.splitlines() would cut the line; a raw \r cannot (JSON escapes it).
    for number, line in enumerate(re.split(r"\r\n?|\n", text), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, object_pairs_hook=_object)
        except json.JSONDecodeError as err:
            raise ThemesError(f"{path}:{number}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise ThemesError(f"{path}:{number}: each line must be a JSON object like {{\"text\": \"...\"}}")
        for name in row:
            if name not in names:
                names.append(name)
        rows.append((number, row))
    # A key given twice in one object is refused where it is read, as twin columns are.
    read = {name: key for key, name in _resolve(columns or {}, names, path, 1).items()}
    for number, row in rows:
        twice = [name for name in row.twice if name in read]
        if twice:
            raise ThemesError(f"{path}:{number} (input.columns.{read[twice[0]]}): the key {twice[0]!r} is given "
                              "twice in one object; remove all but the one to read")
    yield 1, names
    yield from rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def parse_table(text: str, source: str, path: Path, sha256: str = "", kind: str = "csv",
                columns: dict[str, str | None] | None = None) -> list[Transcript]:
    """Read a table into one transcript (or one per ``source`` value)."""
    notices: list[str] = []
    rows = _rows_jsonl(text, path, columns) if kind == "jsonl" else \
        csv_rows(text, "\t" if kind == "tsv" else None, path, notices, header_names(columns))
    return parse_rows(rows, source, path, sha256, columns, notices)


def parse_sheet(raw: bytes, source: str, path: Path, sha256: str = "",
                columns: dict[str, str | None] | None = None) -> list[Transcript]:
    """Read an Excel workbook's first sheet as a table (``sheet.sheet_rows``)."""
    from .sheet import sheet_rows

    notices: list[str] = []
    return parse_rows(sheet_rows(raw, path, notices, header_names(columns)), source, path, sha256, columns, notices)


def header_names(columns: dict[str, str | None] | None) -> tuple[str, ...]:
    """The names the text column may have: a header holds one of them, so a row of one cell
    above a row without any is never taken for a title (``split_title``)."""
    wanted = (columns or {}).get("text")
    return (wanted,) if wanted else ("text",) + TEXT_NAMES


def _is_import_ids(row: dict) -> bool:
    """Whether a row is Qualtrics's third header row: every filled cell {"ImportId": ...}."""
    cells = [_cell(value).strip() for value in row.values()]
    cells = [cell for cell in cells if cell]
    return bool(cells) and all(cell.startswith('{"ImportId"') for cell in cells)


def _without_qualtrics_rows(rows, path: Path, notices: list[str]):
    """The rows after the header, less the two more header rows a Qualtrics export (CSV or
    Excel) puts under the column names: the questions' text, then {"ImportId": ...}. They are
    recognised by that second one, and said in a notice; any other table is untouched."""
    first = list(itertools.islice(rows, 2))
    if len(first) == 2 and _is_import_ids(first[1][1]):
        notices.append(f"{path}: a Qualtrics export: its question-text and ImportId rows "
                       f"(lines {first[0][0]} and {first[1][0]}) are header rows, not answers")
        first = []
    return itertools.chain(first, rows)


def parse_rows(rows, source: str, path: Path, sha256: str = "", columns: dict[str, str | None] | None = None,
               notices: list[str] | None = None) -> list[Transcript]:
    """Read (line, header) then (line, row dict) pairs into one transcript (or one per
    ``source`` value); ``notices`` are the reader's own, said with the text column's."""
    header_line, header = next(rows)
    chosen = _resolve(columns or {}, header, path, header_line)
    notices = list(notices or ())
    if (columns or {}).get("text") is None and chosen["text"].strip().lower() != "text":
        notices.append(f"{path}: the text is read from column {chosen['text']!r} (there is no column named "
                       "'text'); set input.columns.text (or --text-column) to read another")
    rows = _without_qualtrics_rows(rows, path, notices)
    groups: dict[str, dict] = {}
    for line, row in rows:
        value = _cell(row.get(chosen["text"])).strip()
        group_name = _cell(row.get(chosen["source"])).strip() if "source" in chosen else ""
        group = groups.setdefault(group_name, {"parts": [], "length": 0, "rows": [], "empty": 0})
        if not value:
            group["empty"] += 1
            continue
        start = group["length"] + (1 if group["parts"] else 0)
        group["parts"].append(value)
        group["length"] = start + len(value)
        group["rows"].append((line, start, group["length"], row))
    transcripts = []
    for group_name, group in groups.items():
        name = f"{source}/{group_name or NO_SOURCE}" if "source" in chosen else source
        body = "\n".join(group["parts"])
        builder = TurnBuilder(body, merge=False)
        for line, start, end, row in group["rows"]:
            speaker = _cell(row.get(chosen["speaker"])).strip() if "speaker" in chosen else ""
            time = _cell(row.get(chosen["timestamp"])).strip() if "timestamp" in chosen else ""
            row_id = _cell(row.get(chosen["id"])).strip() if "id" in chosen else ""
            role = " ".join(_cell(row.get(chosen["role"])).split()) if "role" in chosen else ""
            builder.begin(speaker, line, normalise_time(time) if time else "",
                          ((ID + row_id,) if row_id else ()) + ((ROLE + role,) if role else ()))
            builder.add(start, end)
        metadata = (f"{group['empty']} row(s) without text left out",) if group["empty"] else ()
        turns = builder.turns()
        if turns:
            transcripts.append(Transcript(source=name, path=str(path), text=body, turns=turns,
                                          metadata=metadata, sha256=sha256, notices=tuple(notices)))
    if not transcripts:
        raise ThemesError(f"{path} (input.columns.text): no row has any text in column {chosen['text']!r}")
    return transcripts
