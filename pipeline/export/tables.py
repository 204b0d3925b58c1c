"""Table exports: coded segments (CSV, XLSX) and the codebook (CSV, Markdown).

Coded segments: one row a segment and code. Codebook: one row a code, with its definition,
how many segments and clusters it codes, and those segments counted by speaker role (a
group's counts are the sums over the codes below it).
"""

from __future__ import annotations

import csv
import io
import re

from .model import CodedRun, Coding, respondent

SEGMENT_COLUMNS = [
    "segment_id", "source", "turn_id", "timestamp", "speaker", "role", "start", "end", "text",
    "cluster_id", "cluster_label", "code_id", "code", "code_path", "status", "carried",
]
STATUS_WORDS = {"suggested": "suggested, not reviewed"}


def _code_id(key: str) -> str:
    """The id an analyst can look up: the taxonomy id, or the key for codes the taxonomy lacks."""
    return key.split(":", 1)[1] if key.startswith("suggested:") else key


def segment_rows(coded: CodedRun) -> list[list]:
    rows = [SEGMENT_COLUMNS]
    for coding in coded.codings:
        s = coding.segment
        rows.append([
            s.segment_id, s.source, s.turn_id, s.timestamp, s.speaker, s.role, s.start, s.end, s.text,
            coding.cluster_id, coded.run.clusters[coding.cluster_id].get("label", ""),
            _code_id(coding.code), coded.codes[coding.code].name, " > ".join(coded.path(coding.code)),
            STATUS_WORDS.get(coding.status, coding.status), int(coding.carried),
        ])
    return rows


def code_counts(codings: list[Coding], roles: list[str]) -> dict:
    by_role = {role: 0 for role in roles}
    for coding in codings:
        by_role[coding.segment.role] = by_role.get(coding.segment.role, 0) + 1
    return {
        "segments": len(codings),
        "clusters": len({c.cluster_id for c in codings}),
        "speakers": len({respondent(c.segment) for c in codings}),
        "sources": len({c.segment.source for c in codings}),
        "by_role": by_role,
    }


def codebook_rows(coded: CodedRun) -> list[list]:
    roles = coded.roles
    rows = [["code_id", "code", "level", "parent_id", "path", "codable", "origin", "definition",
             "clusters", "segments", "speakers", "sources", *[f"segments_{role}" for role in roles]]]
    for depth, code in coded.walk():
        counts = code_counts(coded.codings_of(code.key), roles)
        rows.append([
            _code_id(code.key), code.name, depth, _code_id(code.parent) if code.parent else "",
            " > ".join(coded.path(code.key)), int(code.codable), code.origin, code.definition,
            counts["clusters"], counts["segments"], counts["speakers"], counts["sources"],
            *[counts["by_role"][role] for role in roles],
        ])
    return rows


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def segments_csv(coded: CodedRun) -> bytes:
    return to_csv(segment_rows(coded))


def codebook_csv(coded: CodedRun) -> bytes:
    return to_csv(codebook_rows(coded))


def segments_xlsx(coded: CodedRun) -> bytes:
    """A workbook with the coded segments and the codebook, one sheet each."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)  # streams rows: a study's thousands of segments stay quick
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for title, rows, widths in (
        ("Coded segments", segment_rows(coded), {"text": 80, "code_path": 50, "code": 30}),
        ("Codebook", codebook_rows(coded), {"definition": 80, "path": 50, "code": 30}),
    ):
        sheet = workbook.create_sheet(title)
        wrapped = set()
        for column, name in enumerate(rows[0], start=1):
            if name in widths:
                sheet.column_dimensions[get_column_letter(column)].width = widths[name]
                wrapped.add(column - 1)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(rows[0]))}{len(rows)}"

        def cell(value, column: int, header: bool = False):
            if not isinstance(value, str):
                return value
            value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
            if not (header or column in wrapped or value.startswith("=")):
                return value
            out = WriteOnlyCell(sheet, value)
            out.data_type = "s"  # text such as "=1+1" is speech, not a formula
            if header:
                out.font = bold
            elif column in wrapped:
                out.alignment = wrap
            return out

        sheet.append([cell(v, i, header=True) for i, v in enumerate(rows[0])])
        for values in rows[1:]:
            sheet.append([cell(v, i) for i, v in enumerate(values)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Markup characters; '_' only at a word's edge (snake_case ids stay readable) and '&' only
# where it would start an entity ('&copy;').
_MD_SPECIAL = re.compile(r"([\\`*<>\[\]|~#]|(?<![^\W_])_|_(?![^\W_])|&(?=#?\w+;))")
_MD_LIST = re.compile(r"^(?:([-+=])|(\d{1,9})([.)]))")  # a list item or a heading underline, at the start


def md_escape(text) -> str:
    """Text that Markdown shows as it is: '<again>', '*sigh*' or '_really_' in speech, or a
    definition starting '# ...' or '1. ...', is not markup. One line; backslashes before the
    characters that would start markup."""
    escaped = _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _MD_LIST.sub(lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), escaped)


def md_escape_lines(text: str) -> str:
    """Text of several lines (a memo, a definition) as one Markdown paragraph that keeps its
    line breaks: each line escaped as by ``md_escape`` (so a line starting '- ' stays a line,
    not a list), joined by hard line breaks (a backslash at the end of a line)."""
    return "\\\n".join(md_escape(line) for line in str(text).strip().splitlines())


def codebook_md(coded: CodedRun) -> bytes:
    """The codebook as Markdown: a heading per theme and group, a table of its codes."""
    roles = coded.roles
    taxonomy = coded.run.taxonomy
    lines = [f"# Codebook: {md_escape(taxonomy.label if taxonomy else coded.run.name)}", ""]
    if taxonomy and taxonomy.citation:
        lines += [md_escape(taxonomy.citation), ""]
    lines += [f"Counts are coded segments of run {md_escape(coded.run.name)}"
              + (f", by speaker role ({', '.join(roles)})" if roles else "") + ".", ""]
    header = ["Code", "Id", "Definition", "Clusters", "Segments", *map(md_escape, roles)]

    def table(keys: list[str]) -> list[str]:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for key in keys:
            code = coded.codes[key]
            counts = code_counts(coded.codings_of(key), roles)
            out.append("| " + " | ".join(md_escape(v) for v in [
                code.name, _code_id(key), code.definition, counts["clusters"], counts["segments"],
                *[counts["by_role"][role] for role in roles]]) + " |")
        return out + [""]

    def section(key: str, depth: int) -> None:
        code = coded.codes[key]
        counts = code_counts(coded.codings_of(key), roles)
        lines.extend([f"{'#' * min(depth + 2, 6)} {md_escape(code.name)} ({counts['segments']} segments)", ""])
        if code.definition:
            lines.extend([md_escape(code.definition), ""])
        leaves = [child for child in code.children if not coded.codes[child].children]
        if leaves:
            lines.extend(table(leaves))
        for child in code.children:
            if coded.codes[child].children:
                section(child, depth + 1)

    for key in coded.roots:
        if coded.codes[key].children:
            section(key, 0)
        else:
            lines.extend(table([key]))
    return "\n".join(lines).rstrip("\n").encode("utf-8") + b"\n"
