"""Excel workbooks (.xlsx): the first sheet read as a table, one row a record.

Survey tools (Qualtrics, Microsoft Forms, SurveyMonkey) and most research teams keep free
text and codebooks in workbooks. The first sheet is read like a CSV file: its first row with
any cell filled is the header (a title above it is left out, as ``table.split_title`` says),
each later row a record, and a "line" is the sheet's row number. Other sheets are left out,
and a notice says so.

What a cell reads as, exactly: its stored value, not what its number format shows. A formula
gives the result Excel saved with the file (a workbook written by a script and never opened
and saved in Excel has none: the cell reads empty); a merged range holds its value in its
first cell only (the others read empty); numbers print in full (1/3 is 0.3333333333333333,
50% is 0.5), whole numbers without ".0"; dates as ISO dates; TRUE and FALSE.

The sheet's own size tag (``<dimension ref=...>``) is not trusted, since scripts write it
wrong both ways: each row is as wide as its cells, and the rows run to the last one in the
file. A sheet is refused past Excel's own limit of 1,048,576 rows (``MAX_ROWS``; about what a
CSV file at the default input.max_file_mb of 50 holds, at ~50 bytes a row), or with content
past column 1,000 (``MAX_COLUMNS``); empty rows and empty cells cost next to nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from ..errors import ThemesError
from .archive import check_archive, holds

MAX_ROWS = 1_048_576  # Excel's own limit
MAX_COLUMNS = 1_000  # columns with content: a survey export has tens, a codebook a handful


def is_xlsx(raw: bytes) -> bool:
    return holds(raw, "xl/workbook.xml")


def cell_text(value) -> str:
    """A cell as the text a reader of the sheet sees."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def sheet_rows(raw: bytes, path: Path, notices: list[str] | None = None, names=()):
    """Yield (row number, header names) for the first sheet's header, then (row number, row
    dict) for each later row with a cell filled: the protocol of ``table.csv_rows``, a title
    above the header left out likewise where ``names`` are given. A notice naming the other
    sheets, if any, is appended to ``notices``."""
    from openpyxl import load_workbook

    from .table import record, split_title

    check_archive(raw, path, "xl/workbook.xml", "Excel workbook", ".xlsx",
                  "open and save it again in Excel, or save the sheet as CSV")
    try:
        # read_only streams the rows; data_only gives a formula's last shown value, not its source.
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for damaged files
        raise ThemesError(f"{path}: not a readable Excel workbook (.xlsx); open and save it again in Excel, "
                          "or save the sheet as CSV") from None
    try:
        sheets = book.worksheets
        if not sheets:
            raise ThemesError(f"{path}: the workbook has no sheets")
        if len(sheets) > 1 and notices is not None:
            others = ", ".join(repr(sheet.title) for sheet in sheets[1:6]) + (" ..." if len(sheets) > 6 else "")
            notices.append(f"{path}: only the first sheet, {sheets[0].title!r}, is read; left out: {others}")
        sheet = sheets[0]
        found = split_title(_records(sheet, path), path, names, notices)
        if found is None:
            others = f"; only the first sheet is read, not {', '.join(repr(s.title) for s in sheets[1:4])}" \
                if len(sheets) > 1 else ""
            raise ThemesError(f"{path}: the first sheet, {sheet.title!r}, is empty{others}")
        number, cells, records = found
        header = [cell.strip() for cell in cells]
        while header and not header[-1]:
            header.pop()  # empty columns after the last name
        header = [cell.lstrip("\ufeff") for cell in header]
        yield number, header
        for number, cells in records:
            yield number, record(header, cells)
    finally:
        book.close()


def _records(sheet, path: Path):
    """(row number, cells as text) for each row of the sheet with a cell filled. A sheet
    damaged inside (openpyxl reads the cells only now) is refused like a damaged workbook."""
    try:
        yield from _parsed(sheet, path)
    except ThemesError:
        raise
    except Exception:  # a bad cell value, reference or style, cut-short XML: many kinds
        raise ThemesError(f"{path}: not a readable Excel workbook (.xlsx): its first sheet is damaged; open and "
                          "save it again in Excel, or save the sheet as CSV") from None


def _parsed(sheet, path: Path):
    # The sheet's own parser, as openpyxl's read-only rows use it, but without their padding:
    # they are padded to the width the <dimension> tag declares (A1:XFD1048576: 16,384 cells
    # a row, a million rows), or else to each row's last cell, which one styled empty cell in
    # column XFD makes 16,384 wide. Here a row costs what its cells in the file cost, and the
    # rows run to the last one in the file whatever the tag says.
    from openpyxl.worksheet._reader import WorkSheetParser

    book = sheet.parent
    with sheet._get_source() as source:
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            if number > MAX_ROWS:  # checked first: a far row comes after a run of empty ones
                raise ThemesError(f"{path}: the first sheet, {sheet.title!r}, has rows past row "
                                  f"{MAX_ROWS:,}, Excel's limit; save the rows with text as CSV")
            texts = {cell["column"]: cell_text(cell["value"]) for cell in cells if cell["value"] is not None}
            filled = [column for column, text in texts.items() if text.strip()]
            if not filled:
                continue
            if max(filled) > MAX_COLUMNS:
                raise ThemesError(f"{path}:{number}: the first sheet, {sheet.title!r}, has content past "
                                  f"column {MAX_COLUMNS:,}; a table of text has far fewer columns — "
                                  "delete the far cells, or save the columns with text as CSV")
            row = [""] * max(column for column in texts if column <= MAX_COLUMNS)
            for column, text in texts.items():
                if column <= MAX_COLUMNS:
                    row[column - 1] = text
            yield number, row
