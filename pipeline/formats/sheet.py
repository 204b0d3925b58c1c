"""Excel workbooks (.xlsx): the first sheet read as a table, one row a record.

Survey tools (Qualtrics, Microsoft Forms, SurveyMonkey) and most research teams keep free
text and codebooks in workbooks. The first sheet is read like a CSV file: its first row with
any cell filled is the header, each later row a record, and a "line" is the sheet's row
number. Cells are read as the values Excel last showed (a formula's cached result); numbers
that are whole print without ".0", dates as ISO dates. Other sheets are left out, and a
notice says so.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from ..errors import ThemesError
from .archive import check_archive, holds


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


def sheet_rows(raw: bytes, path: Path, notices: list[str] | None = None):
    """Yield (row number, header names) for the first sheet's header, then (row number, row
    dict) for each later row with a cell filled: the protocol of ``table.csv_rows``. A notice
    naming the other sheets, if any, is appended to ``notices``."""
    from openpyxl import load_workbook

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
        header: list[str] | None = None
        for number, row in enumerate(sheets[0].iter_rows(values_only=True), start=1):
            cells = [cell_text(value).strip() if header is None else cell_text(value) for value in row]
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                while cells and not cells[-1]:
                    cells.pop()  # empty columns after the last name
                header = [cell.lstrip("\ufeff") for cell in cells]
                yield number, header
                continue
            yield number, dict(zip(header, cells))  # cells right of the last name are no column's
        if header is None:
            raise ThemesError(f"{path}: the first sheet, {sheets[0].title!r}, is empty")
    finally:
        book.close()
