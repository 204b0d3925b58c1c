"""Taxonomies (codebooks): a YAML tree of codes; leaves are what suggestions name. Tables and
REFI-QDA codebooks are read into the same tree (``codebooks``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import ThemesError
from .yamlio import read_yaml

NODE_KEYS = {"id", "label", "description", "aliases", "keywords", "examples", "codes"}
TOP_KEYS = {"id", "label", "citation", "description", "codes"}
MAX_DEPTH = 20  # levels of codes below the top: far more than any codebook has
# Files a codebook is often kept in that are not read (each was read as YAML, and refused as
# "not UTF-8 text"): what to make of one instead.
_AS_TABLE = "save it as .xlsx or CSV"
_AS_TEXT = "put its codes in a table saved as .xlsx or CSV (one row a code), or in a YAML file"
_AS_QDC = "export its codebook from the QDA program as REFI-QDA (.qdc)"
NOT_READ = {**dict.fromkeys((".xls", ".xlsm", ".xlsb", ".ods", ".numbers"), _AS_TABLE),
            **dict.fromkeys((".doc", ".docx", ".odt", ".rtf", ".pdf", ".pages"), _AS_TEXT),
            **dict.fromkeys((".qdpx", ".nvp", ".nvpx"), _AS_QDC)}


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    parent: str | None = None
    children: tuple[str, ...] = ()
    depth: int = 0

    @property
    def is_leaf(self) -> bool:
        return not self.children


@dataclass(frozen=True)
class Taxonomy:
    id: str
    label: str
    codes: dict[str, Code]
    roots: tuple[str, ...]
    description: str = ""
    citation: str = ""
    path: str = ""
    notes: tuple[str, ...] = ()  # how a codebook table was read (its columns), for `taxonomy check`

    @property
    def leaves(self) -> list[Code]:
        return [code for code in self.codes.values() if code.is_leaf]

    @property
    def digest(self) -> str:
        """A digest of the codes as read (ids, texts, hierarchy), whatever path the file was
        given by: part of a run's identity."""
        content = {"id": self.id, "roots": self.roots, "codes": [dataclasses.asdict(c) for c in self.codes.values()]}
        return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()

    def ancestors(self, code_id: str) -> list[Code]:
        """The code's ancestors, theme first (the code itself excluded)."""
        chain = []
        parent = self.codes[code_id].parent
        while parent is not None:
            chain.append(self.codes[parent])
            parent = self.codes[parent].parent
        return chain[::-1]

    def walk(self):
        """Yield every code depth-first in file order."""
        def visit(code_id):
            yield self.codes[code_id]
            for child in self.codes[code_id].children:
                yield from visit(child)
        for root in self.roots:
            yield from visit(root)


def _kind(value) -> str:
    """"a list", "a mapping", "a number"...: what a value is where text was wanted."""
    return {list: "a list", dict: "a mapping", bool: "true or false", int: "a number", float: "a number"}.get(
        type(value), f"a {type(value).__name__}")


def _control_character(text: str) -> str | None:
    """The first control character in the text, named ("a tab", "U+0000"), or None. Ids and
    labels are one line of text: printed in a tree, a report or a QDA program, a line break
    or a NUL in one breaks the line or the file."""
    for char in text:
        if unicodedata.category(char) == "Cc":
            return {"\t": "a tab", "\n": "a line break", "\r": "a line break"}.get(char, f"U+{ord(char):04X}")
    return None


def _shown(text: str) -> str:
    """The text with its control characters escaped (``x\\ty``), so a message stays one line."""
    return "".join(repr(char)[1:-1] if unicodedata.category(char) == "Cc" else char for char in text)


def folded_id(code_id: str) -> str:
    """The id compared with case and the encoding of accents ignored (``café`` typed as one
    character or as ``e`` and a combining accent; ``Access`` and ``access``): such ids print
    alike, or nearly, so an analyst cannot tell which code is meant."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", code_id).casefold())


def _strings(value, path, line, key) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ThemesError(f"{path}:{line} ({key}): must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def parse_taxonomy(data, lines: dict, path: Path) -> Taxonomy:
    if not isinstance(data, dict):
        raise ThemesError(f"{path}: a taxonomy must be a mapping with id, label and codes")
    for key in data:
        if key not in TOP_KEYS:
            raise ThemesError(f"{path}:{lines.get((key,), '?')} ({key}): unknown key")
    for key in ("id", "label", "description", "citation"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ThemesError(f"{path}:{lines.get((key,), '?')} ({key}): the taxonomy's {key} must be text, "
                              f"not {_kind(data[key])}")
    for key in ("id", "label"):
        if not data.get(key) or not data[key].strip():
            raise ThemesError(f"{path} ({key}): missing taxonomy {key}")
        if _control_character(data[key]):
            raise ThemesError(f"{path}:{lines.get((key,), '?')} ({key}): the taxonomy's {key} has a control "
                              f"character ({_control_character(data[key])}); write it on one line")
    if isinstance(data.get("codes"), dict):
        raise ThemesError(f"{path}:{lines.get(('codes',), 1)} (codes): the taxonomy has no codes in a list: they are "
                          "written as a mapping; write each as an item of a list ('- id: ...')")
    if not isinstance(data.get("codes"), list) or not data["codes"]:
        raise ThemesError(f"{path}:{lines.get(('codes',), 1)} (codes): the taxonomy has no codes")

    codes: dict[str, Code] = {}
    code_lines: dict[str, object] = {}
    folded: dict[str, str] = {}  # folded_id(id) -> the id as written

    def visit(node, loc: tuple, parent: str | None, depth: int) -> str:
        line = lines.get(loc, "?")
        if not isinstance(node, dict):
            under = f" ({parent})" if parent else ""
            raise ThemesError(f"{path}:{line}{under}: a code must be a mapping with id and label, "
                              f"not {type(node).__name__ if node is not None else 'an empty item'}")
        for key in node:
            if key not in NODE_KEYS:
                raise ThemesError(f"{path}:{lines.get(loc + (key,), line)} ({key}): unknown key in a code")
        code_id = node.get("id")
        if code_id is not None and not isinstance(code_id, str):
            raise ThemesError(f"{path}:{line} (id): a code's id must be text, not {_kind(code_id)}")
        if not code_id or not code_id.strip():
            raise ThemesError(f"{path}:{line} (id): a code has no id")
        code_id = code_id.strip()
        label = node.get("label")
        if label is not None and not isinstance(label, str):
            raise ThemesError(f"{path}:{line} ({code_id}): code has no label ({_kind(label)} is not text)")
        if not label or not label.strip():
            raise ThemesError(f"{path}:{line} ({_shown(code_id)}): code has no label")
        for field, text in (("id", code_id), ("label", label.strip())):
            if _control_character(text):
                raise ThemesError(f"{path}:{line} ({_shown(code_id)}): the {field} has a control character "
                                  f"({_control_character(text)}); write it on one line")
        if code_id in codes:
            raise ThemesError(f"{path}:{line} ({code_id}): duplicate code id")
        if folded_id(code_id) in folded:
            raise ThemesError(f"{path}:{line} ({code_id}): same id as line "
                              f"{code_lines[folded[folded_id(code_id)]]} apart from case or accents")
        folded[folded_id(code_id)] = code_id
        if depth > MAX_DEPTH:
            raise ThemesError(f"{path}:{line} ({code_id}): codes nested too deeply (at most {MAX_DEPTH} levels of "
                              "groups above a code)")
        children_data = node.get("codes")
        if isinstance(children_data, dict):
            raise ThemesError(f"{path}:{lines.get(loc + ('codes',), line)} ({code_id}): 'codes' must be a list of child "
                              "codes (each an item: '- id: ...'), not a mapping")
        if "codes" in node and (not isinstance(children_data, list) or not children_data):
            # `codes:` written but empty: the node is neither a clear leaf nor a group.
            raise ThemesError(f"{path}:{lines.get(loc + ('codes',), line)} ({code_id}): 'codes' must be a "
                              "non-empty list of child codes; leave the key out for a leaf code")
        description = node.get("description") or ""
        if not isinstance(description, str):
            raise ThemesError(f"{path}:{line} ({code_id}): description must be text")
        codes[code_id] = None  # reserve the id before the children, so duplicates are caught
        code_lines[code_id] = line
        children = tuple(
            visit(child, loc + ("codes", i), code_id, depth + 1)
            for i, child in enumerate(children_data or [])
        )
        codes[code_id] = Code(
            id=code_id, label=label.strip(), description=" ".join(description.split()),
            aliases=_strings(node.get("aliases"), path, line, f"{code_id}.aliases"),
            keywords=_strings(node.get("keywords"), path, line, f"{code_id}.keywords"),
            examples=_strings(node.get("examples"), path, line, f"{code_id}.examples"),
            parent=parent, children=children, depth=depth,
        )
        return code_id

    roots = tuple(visit(node, ("codes", i), None, 0) for i, node in enumerate(data["codes"]))
    _check_dotted_ids(codes, code_lines, path)
    return Taxonomy(
        id=data["id"].strip(), label=data["label"].strip(), codes=codes, roots=roots,
        description=" ".join((data.get("description") or "").split()),
        citation=data.get("citation") or "", path=str(path),
    )


def _check_dotted_ids(codes: dict[str, Code], code_lines: dict, path: Path) -> None:
    """Dotted ids (``barrier.safety.x``) name their parent: a code whose id extends another
    code's id but sits elsewhere in the tree was almost always meant to be its child, which
    would make that code a group, not a leaf."""
    for code_id, code in codes.items():
        prefix = code_id
        while "." in prefix:
            prefix = prefix.rsplit(".", 1)[0]
            if prefix in codes:
                ancestors = set()
                parent = code.parent
                while parent is not None:
                    ancestors.add(parent)
                    parent = codes[parent].parent
                if prefix not in ancestors:
                    kind = "a leaf" if codes[prefix].is_leaf else "a group"
                    raise ThemesError(
                        f"{path}:{code_lines.get(code_id, '?')} ({code_id}): its id extends '{prefix}', "
                        f"{kind} at line {code_lines.get(prefix, '?')}, but it is not listed under it; "
                        f"move it into the 'codes' of '{prefix}' or rename it")
                break


def load_taxonomy(path: Path) -> Taxonomy:
    """A taxonomy YAML file, or a codebook kept elsewhere: a table (.xlsx, .csv, .tsv) or a
    REFI-QDA codebook (.qdc); see ``codebooks``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise ThemesError(f"{path}: is a folder, not a codebook; name the file")
    if suffix in NOT_READ:
        raise ThemesError(f"{path}: {suffix} files are not read as codebooks; {NOT_READ[suffix]}")
    if suffix in (".xlsx", ".csv", ".tsv", ".qdc"):
        from .codebooks import read_qdc, read_table

        if not path.is_file():
            raise ThemesError(f"{path}: codebook not found")
        if suffix == ".qdc":
            return parse_taxonomy(*read_qdc(path), path)
        data, lines, notes = read_table(path)
        return dataclasses.replace(parse_taxonomy(data, lines, path), notes=notes)
    data, lines = read_yaml(path, typed=False)  # ids, labels and keywords as written: `Yes`, `010`, `1.1`
    if data is None:
        raise ThemesError(f"{path}: file is empty")
    return parse_taxonomy(data, lines, path)


def render_tree(taxonomy: Taxonomy) -> str:
    """An indented text tree of the taxonomy (leaves marked with '*')."""
    rows = [*taxonomy.notes, f"{taxonomy.label} [{taxonomy.id}]"]
    for code in taxonomy.walk():
        mark = "*" if code.is_leaf else "+"
        rows.append(f"{'  ' * (code.depth + 1)}{mark} {code.id} — {code.label}")
    leaves = taxonomy.leaves
    described = sum(1 for leaf in leaves if leaf.description)
    with_examples = sum(1 for leaf in leaves if leaf.examples)
    rows.append(f"{len(taxonomy.codes)} codes, {len(leaves)} codable leaves "
                f"({described} with a description, {with_examples} with examples)")
    groups = [code for code in taxonomy.codes.values() if not code.is_leaf]
    if groups:
        own = sum(1 for group in groups if group.description or group.examples or group.keywords or group.aliases)
        counted = f"{len(groups)} group{'s' if len(groups) != 1 else ''}"
        rows.append(f"{counted}, {own} with their own description, examples, keywords or aliases (they count in "
                    "suggestions too)" if own else f"{counted}, none with a description, examples, keywords or aliases")
    if not described and not with_examples:
        rows.append("labels only: suggestions work; descriptions and examples make them better")
    return "\n".join(rows)
