"""Codebooks kept elsewhere, read as taxonomies: a spreadsheet (an Excel workbook's first
sheet, or CSV or TSV), and a REFI-QDA codebook (.qdc) exported by NVivo, ATLAS.ti, MAXQDA or
QualCoder.

Both become the same tree a taxonomy YAML file describes (``taxonomy.parse_taxonomy`` checks
it), so every rule and message about codes applies to them too; errors name the file and
its line.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import regex

from .errors import ThemesError
from .formats.encoding import decode
from .formats.sheet import is_xlsx, sheet_rows
from .formats.table import column_name, csv_rows, listed
from .taxonomy import MAX_DEPTH, folded_id

# Column names a codebook table may use for each field, the first present winning (compared
# in lower case, "_" and "-" read as spaces). "when" (a codebook's "when to use" column) is
# added to the description; "when not to use" is never read, since it describes other codes.
# A sub-level column (SUB_LABELS) beside a "label"/"code"/"name" one is the label, and the
# other the innermost group level (see read_table).
SUB_LABELS = ("subcode", "sub code", "subtheme", "sub theme", "subcategory", "sub category")
COLUMNS = {
    "label": ("label", "code", "name", "code name", "code label") + SUB_LABELS,
    "id": ("id", "code id"),
    "description": ("description", "definition", "full definition", "brief definition", "short definition",
                    "code description", "code definition", "meaning"),
    "when": ("when to use", "use when", "inclusion criteria"),
    "group": ("group", "parent", "category", "theme", "code group", "parent code", "group name",
              "category name", "theme name"),
    "examples": ("examples", "example", "example quotes", "example quote", "exemplars", "exemplar",
                 "typical exemplars", "typical exemplar"),
    "keywords": ("keywords", "key words"),
}
PATH_SEPARATOR = ">"  # a group cell "Theme > Group" names a path of groups
LIST_SEPARATOR = ";"  # examples and keywords cells hold several, separated by ";"


def slug(text: str) -> str:
    """A code id from a label: lower case words joined by "_" (dots separate levels). Words are
    letters of any script with their combining marks (``regex``), so "दवा" and "दवी" stay two
    ids; an accent typed as a letter and a combining mark is one character first."""
    return regex.sub(r"[^\w]+", "_", unicodedata.normalize("NFC", text.strip().lower())).strip("_") or "code"


def _node(label: str, line: int) -> dict:
    return {"label": label, "_line": line}  # its id is given by _give_ids, once the tree is whole


def _give_ids(top: list[dict], path: Path, rename: str, unit: str = "line") -> None:
    """Give each code without an id one made from its label, under its parent's id
    (``access.waiting_time`` for "Waiting time" under "Access"), so a group's own id leads its
    children's wherever its row is. Two labels that make one id ("Waiting time" and
    "Waiting-time") are refused naming both: the id is none the user wrote, so "duplicate code
    id" would not say what to change. ``rename`` says how to tell them apart."""
    # Ids compared as the taxonomy compares them, apart from case and accents' encoding.
    made: dict[str, dict] = {}  # folded_id(an id made from a label) -> its code
    given: dict[str, dict] = {}  # folded_id(an id the file gives) -> its code

    def visit(nodes: list[dict], prefix: str) -> None:
        for node in nodes:
            line = node["_line"]
            if node.get("id"):
                other = made.get(folded_id(node["id"]))
                if other is not None:
                    written = f" ({other['id']})" if other["id"] != node["id"] else ""
                    raise ThemesError(f"{path}:{line}: its id {node['id']} is the one {other['label']!r} ({unit} "
                                      f"{other['_line']}) makes from its label{written}; {rename}")
                given.setdefault(folded_id(node["id"]), node)
            else:
                node["id"] = f"{prefix}{slug(node['label'])}"
                other = made.get(folded_id(node["id"]))
                if other is not None:
                    raise ThemesError(f"{path}:{line}: {node['label']!r} and {other['label']!r} ({unit} "
                                      f"{other['_line']}) make the same id, {node['id']}; {rename}")
                other = given.get(folded_id(node["id"]))
                if other is not None:
                    written = f" ({other['id']})" if other["id"] != node["id"] else ""
                    raise ThemesError(f"{path}:{line}: {node['label']!r} makes the id {node['id']}, which {unit} "
                                      f"{other['_line']} gives as its id{written}; {rename}")
                made[folded_id(node["id"])] = node
            visit(node.get("codes", []), f"{node['id']}.")

    visit(top, "")


def read_table(path: Path) -> tuple[dict, dict, tuple[str, ...]]:
    """A codebook table -> (taxonomy data, lines, notes on how it was read). One row a code;
    its `group` cell names the groups above it, created in order of first appearance. A row
    may also describe a group: its label is the one other rows name in their `group` cell.

    A table with both a sub-level column (``Subcode``, ``Subtheme``...) and a ``Code`` (or
    ``Label``, ``Name``) column reads the sub-level cell as the label and the code cell as the
    innermost group (below the `group` cell's path, if any); a row with a code cell but no
    sub-level cell describes that group. There, empty code and group cells are carried down
    from the rows above (see _carry_down)."""
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise ThemesError(f"{path}: file is empty")
    xlsx = Path(path).suffix.lower() == ".xlsx" or is_xlsx(raw)
    # A title above the header is left out where the header has a label column (notices).
    notices: list[str] = []
    if xlsx:
        # The first sheet (a notice names the others, for `taxonomy check`).
        rows = sheet_rows(raw, path, notices, COLUMNS["label"])
    else:
        text = decode(raw, path, "a codebook table saved as CSV or TSV")
        if not text.strip():
            raise ThemesError(f"{path}: file is empty")
        rows = csv_rows(text, "\t" if Path(path).suffix.lower() == ".tsv" else None, path, notices,
                        COLUMNS["label"])
    header_line, names = next(rows)
    column = _columns(names, path, header_line)
    cells = [(line, cell) for line, cell in ((line, _cells(row, column)) for line, row in rows)
             if any(cell.values())]
    carried = _carry_down(cells, column, "row" if xlsx else "line")
    top = _tree(cells, path)
    _give_ids(top, path, f"rename one, or give one an id in the {column['id']!r} column" if column["id"] else
              "rename one, or add an 'id' column and give one an id there", "row" if xlsx else "line")
    notes = tuple(notice.removeprefix(f"{path}: ") for notice in notices) + _column_notes(column, names) + carried
    return ({"id": slug(Path(path).stem), "label": Path(path).stem, "codes": top}, _lines_by_position(top),
            notes)


def _columns(names: list[str], path: Path, line: int = 1) -> dict[str, str | None]:
    """Each field -> the column it is read from (None where there is none); "level" is the
    code column of the "Code | Subcode" layout, read as the innermost group."""
    by_name: dict[str, str] = {}
    for name in names:
        by_name.setdefault(column_name(name), name)
    column = {field: next((by_name[alias] for alias in aliases if alias in by_name), None)
              for field, aliases in COLUMNS.items()}
    # "Code | Subcode": the subcode is the label, the code the innermost group level.
    sub = next((by_name[alias] for alias in SUB_LABELS if alias in by_name), None)
    level = column["label"] if sub and column["label"] != sub else None
    if level:
        column["label"] = sub
    column["level"] = level
    for field, name in column.items():
        twins = [other for other in names if name and column_name(other) == column_name(name)]
        if len(twins) > 1:
            raise ThemesError(f"{path}:{line} ({field}): {len(twins)} columns are named {name!r}; rename all but the "
                              "one to read")
    if column["label"] is None:
        raise ThemesError(f"{path}:{line} (label): no column for the code's label; name one 'label', 'code' or "
                          f"'name' (the columns are {listed(names)})")
    return column


def _cells(row: dict, column: dict) -> dict[str, str]:
    return {field: (row.get(name) or "").strip() if name else "" for field, name in column.items()}


def _carry_down(cells: list[tuple[int, dict]], column: dict, unit: str) -> tuple[str, ...]:
    """In the "Code | Subcode" layout, a row with a subcode but an empty code cell takes the
    code of the nearest row above with one, in the same group: spreadsheets merge a code's
    cell down its block of rows (Excel keeps the value in the first cell only), or leave it
    blank under the first row. An empty group cell likewise takes the group above, once a
    row has named one. A row that describes a group (its name is one the group column uses)
    takes nothing and ends the block. The cells are filled in place; returns a note for each block of rows
    so read (``unit`` names the numbers: "row" in a sheet, "line" in a CSV file).

    The plain layout is left alone: there an empty group cell means a code at the top level."""
    if not column["level"]:
        return ()
    carried: dict[tuple[str, str, int], list[int]] = {}  # (field, value, line it came from) -> lines
    above: dict[str, tuple[str, int]] = {}  # field -> (value, line) of the nearest cell above with one

    def carry(field: str, line: int, cell: dict) -> None:
        if cell[field]:
            above[field] = (cell[field], line)
        elif field in above:
            cell[field] = above[field][0]
            carried.setdefault((field, *above[field]), []).append(line)

    # A row naming a group the group column uses describes that group (see read_table): it
    # takes nothing from above and ends the block.
    groups = {part.strip() for _, cell in cells for part in cell["group"].split(PATH_SEPARATOR)} - {""}
    group = None  # the last row's group: a new group ends a code's block
    for line, cell in cells:
        if not cell["label"] and not cell["level"]:
            continue  # no code here: refused when the tree is built
        if (cell["label"] or cell["level"]) in groups:
            above.clear()
            group = cell["group"]
            continue
        if column["group"]:
            carry("group", line, cell)
        if cell["group"] != group:
            above.pop("level", None)
        group = cell["group"]
        carry("level", line, cell)
    return tuple(f"{_span(unit, lines)}: empty {column[field]!r} cell read as {value!r} from {unit} {source} "
                 "above (as a merged cell)"
                 for (field, value, source), lines in sorted(carried.items(), key=lambda item: item[1][0]))


def _span(unit: str, lines: list[int]) -> str:
    """"line 4", or "lines 4-6" for a block of rows."""
    return f"{unit}s {lines[0]}-{lines[-1]}" if len(lines) > 1 else f"{unit} {lines[0]}"


def _tree(cells: list[tuple[int, dict]], path: Path) -> list[dict]:
    """The top-level codes the rows describe, each with its "codes" nested."""
    top: list[dict] = []
    nodes: dict[tuple[str, ...], dict] = {}  # label path -> code
    rows_of: dict[tuple[str, ...], int] = {}  # label path -> the line of the row that gave it

    def place(key: tuple[str, ...], line: int) -> dict:
        """The code at this label path, created (with the groups above it) where new."""
        if len(key) > MAX_DEPTH + 1:
            raise ThemesError(f"{path}:{line} ({key[-1]}): codes nested too deeply ({len(key) - 1} levels of groups "
                              f"above a code; at most {MAX_DEPTH})")
        parent = None
        for end in range(1, len(key) + 1):
            if key[:end] not in nodes:
                siblings = top if parent is None else parent.setdefault("codes", [])
                nodes[key[:end]] = _node(key[end - 1], line)
                siblings.append(nodes[key[:end]])
            parent = nodes[key[:end]]
        return parent

    for line, cell in cells:
        if not cell["label"] and not cell["level"]:
            raise ThemesError(f"{path}:{line} (label): a code has no label")
        key = tuple(part.strip() for part in cell["group"].split(PATH_SEPARATOR) if part.strip())
        key += tuple(part for part in (cell["level"], cell["label"]) if part)
        if key in rows_of:
            raise ThemesError(f"{path}:{line} ({key[-1]}): the same code as line {rows_of[key]} "
                              f"(same label{' in the same group' if len(key) > 1 else ''})")
        rows_of[key] = line
        code = place(key, line)
        code["_line"] = line
        if cell["id"]:  # a group's too, whether its row comes before or after its codes
            code["id"] = cell["id"]
        if cell["description"] or cell["when"]:
            description = cell["description"]
            if description and cell["when"] and description[-1] not in ".!?":
                description += "."
            when = f"When to use: {cell['when']}" if cell["when"] else ""
            code["description"] = " ".join(part for part in (description, when) if part)
        for field in ("examples", "keywords"):
            parts = [part.strip() for part in cell[field].split(LIST_SEPARATOR) if part.strip()]
            if parts:
                code[field] = parts
    if not top:
        raise ThemesError(f"{path}: the codebook has no codes")
    return top


def _column_notes(column: dict, names: list[str]) -> tuple[str, ...]:
    """"columns read: ..." and, if any, "columns not read: ..." for `taxonomy check`."""
    used = {name for name in column.values() if name}
    shown = {"when": "when to use (added to the description)"}
    after = {}
    if column["level"]:
        shown["level"] = "innermost group" if column["group"] else "group"
        after["level"] = f" (a row with no {column['label']!r} describes that group)"
    order = [field for field in column if field != "level"]
    order.insert(order.index("group") + 1, "level")
    read = ", ".join(f"{shown.get(field, field)} from {column[field]!r}{after.get(field, '')}"
                     for field in order if column[field])
    unread = [name for name in names if name and name not in used]
    return (f"columns read: {read}",) + ((f"columns not read: {', '.join(repr(n) for n in unread)}",)
                                         if unread else ())


def read_qdc(path: Path) -> tuple[dict, dict]:
    """A REFI-QDA codebook (QDA-XML 1.0) -> (taxonomy data, lines). Codes nest as in the file;
    a code's description is its <Description>. A code with child codes is a group here, even
    where the QDA program lets it be coded itself."""
    from lxml import etree

    try:
        root = etree.fromstring(Path(path).read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        raise ThemesError(f"{path}:{err.position[0]}: not a REFI-QDA codebook (XML error: {err.msg})") from None
    # QDA-XML's namespace (urn:QDA-XML:codebook:1.0), or none where a program leaves it out.
    q = f"{{{root.nsmap[None]}}}" if root.nsmap.get(None) else ""
    codes_element = root.find(f"{q}Codes")
    if codes_element is None or codes_element.find(f"{q}Code") is None:
        raise ThemesError(f"{path}: the codebook has no codes (no <Codes><Code> elements)")

    def visit(element) -> dict:
        name = (element.get("name") or "").strip()
        if not name:
            raise ThemesError(f"{path}:{element.sourceline} (name): a <Code> has no name")
        code = _node(name, element.sourceline)
        description = (element.findtext(f"{q}Description") or "").strip()
        if description:
            code["description"] = description
        children = [visit(child) for child in element.findall(f"{q}Code")]
        if children:
            code["codes"] = children
        return code

    top = [visit(element) for element in codes_element.findall(f"{q}Code")]
    _give_ids(top, path, "rename one in the QDA program and export the codebook again")
    return {"id": slug(Path(path).stem), "label": Path(path).stem, "codes": top}, _lines_by_position(top)


def _lines_by_position(top: list[dict]) -> dict:
    """Each code's line, keyed by its position in the tree as ``parse_taxonomy`` looks it up
    (``("codes", 0, "codes", 2)``); the nodes' own record of it is removed."""
    by_position: dict = {("codes",): top[0]["_line"] if top else 1}

    def visit(nodes: list[dict], loc: tuple) -> None:
        for i, node in enumerate(nodes):
            by_position[loc + (i,)] = node.pop("_line", "?")
            visit(node.get("codes", []), loc + (i, "codes"))

    visit(top, ("codes",))
    return by_position
