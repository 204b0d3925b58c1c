"""Safe YAML reading with line numbers for every key, so errors can say where."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ThemesError

MAX_YAML_BYTES = 5_000_000
MAX_ALIASES = 100


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses alias explosions (billion laughs), and notes where each alias
    is: the node it stands for keeps the line of its anchor."""

    alias_count = 0

    def __init__(self, stream):
        super().__init__(stream)
        self.alias_lines: dict[tuple[int, int], int] = {}  # (id of the parent node, position) -> line

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            mark = self.peek_event().start_mark
            if self.alias_count > MAX_ALIASES:
                raise yaml.YAMLError(f"line {mark.line + 1}: too many YAML aliases")
            if parent is not None and index is not None:  # an item's position, or a value's key node
                self.alias_lines[(id(parent), index if isinstance(index, int) else id(index))] = mark.line + 1
        return super().compose_node(parent, index)


class _TextLoader(_Loader):
    """For codebooks: every scalar but null stays the text written. YAML 1.1 would read a
    label `Yes` as true, an id `010` as 8 and `1.1` as a number, and keywords `[yes, no]` as
    booleans; an explicit tag (``!!int 5``) still types a value."""


_KEPT_AS_TYPED = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}
_TextLoader.yaml_implicit_resolvers = {
    first: kept for first, resolvers in _Loader.yaml_implicit_resolvers.items()
    if (kept := [(tag, pattern) for tag, pattern in resolvers if tag in _KEPT_AS_TYPED])}

MAX_EXPANDED_NODES = 200_000
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_of(node: yaml.ScalarNode, path: Path, key: str) -> None:
    """Join the halves of a character written as a surrogate pair of ``\\u`` escapes (as
    json.dump writes an emoji: ``"\\ud83d\\ude00"``; YAML reads each escape alone). Half a
    pair is no text at all: it could not be written out or embedded, so it is refused here."""
    value = _SURROGATE_PAIR.sub(lambda pair: pair.group().encode("utf-16", "surrogatepass").decode("utf-16"),
                                node.value)
    lone = _SURROGATE.search(value)
    if lone:
        where = f" ({key})" if key else ""
        raise ThemesError(f"{path}:{node.start_mark.line + 1}{where}: {ascii(lone.group())} is half of a character "
                          "(a surrogate escape without its pair), not text; write the character itself")
    node.value = value


def _line_index(root: yaml.Node, path: Path, alias_lines: dict | None = None) -> dict:
    """Map key paths to 1-based lines. A document whose aliases would expand past
    MAX_EXPANDED_NODES values, or refer to themselves, is refused: loading it would exhaust
    memory. What an alias (``*a``) or a merge key (``<<: *a``) copies is indexed at the line
    of the alias, where the copy is, once the size is known to be safe."""
    out: dict = {}
    sizes: dict[int, int] = {}
    active: set[int] = set()
    alias_lines = alias_lines or {}
    copies: list[tuple[yaml.Node, tuple, int]] = []  # (node copied, its path, line of the alias)

    def visit(node: yaml.Node, prefix: tuple, index: bool) -> int:
        key = id(node)
        if key in active:
            raise ThemesError(f"{path}:{node.start_mark.line + 1}: invalid YAML: an alias refers to itself")
        if key in sizes:
            return sizes[key]  # shared through an alias: counted, not indexed again
        active.add(key)
        size = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    _text_of(key_node, path, ".".join(map(str, prefix)))
                # A list or mapping used as a key is refused later, when the document is built.
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else f"<{key_node.id}>"
                child = prefix + (name,)
                line = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode) and name != "<<":
                    if name in seen:
                        # YAML keeps the last one silently: half a config would be dropped.
                        raise ThemesError(f"{path}:{line} ({'.'.join(map(str, child))}): the key is given "
                                          f"twice (first at line {seen[name]}); merge the two into one")
                    seen[name] = line
                if index:
                    out.setdefault(child, line)
                size += visit(value_node, child, index)
                if name == "<<":  # merged: the keys it copies are this mapping's own
                    merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                    copies.extend((mapping, prefix, line) for mapping in merged)
                elif (id(node), id(key_node)) in alias_lines:
                    copies.append((value_node, child, alias_lines[(id(node), id(key_node))]))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = prefix + (i,)
                if index:
                    out.setdefault(child, alias_lines.get((id(node), i), item.start_mark.line + 1))
                size += visit(item, child, index)
                if (id(node), i) in alias_lines:
                    copies.append((item, child, alias_lines[(id(node), i)]))
        elif isinstance(node, yaml.ScalarNode):
            _text_of(node, path, ".".join(map(str, prefix)))
        active.discard(key)
        sizes[key] = size
        if size > MAX_EXPANDED_NODES:
            raise ThemesError(f"{path}: invalid YAML: aliases expand it past {MAX_EXPANDED_NODES:,} values")
        return size

    def copy(node: yaml.Node, prefix: tuple, line: int) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else f"<{key_node.id}>"
                if name == "<<":
                    for mapping in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                        copy(mapping, prefix, line)
                    continue
                out.setdefault(prefix + (name,), line)
                copy(value_node, prefix + (name,), line)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                out.setdefault(prefix + (i,), line)
                copy(item, prefix + (i,), line)

    visit(root, (), True)
    for node, prefix, line in copies:  # after the whole document's size was checked
        copy(node, prefix, line)
    return out


def read_yaml(path: Path, typed: bool = True) -> tuple[Any, dict[tuple, int]]:
    """Read a YAML file; return its data and a map from key path to 1-based line number.
    ``typed=False``: scalars other than null are kept as the text written (see _TextLoader)."""
    path = Path(path)
    if path.is_dir():
        raise ThemesError(f"{path}: a folder, not a YAML file")
    if not path.is_file():
        raise ThemesError(f"{path}: file not found")
    raw = path.read_bytes()
    if len(raw) > MAX_YAML_BYTES:
        raise ThemesError(f"{path}: file is too large for a YAML config ({len(raw)} bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ThemesError(f"{path}: not UTF-8 text (byte {err.start})") from None
    loader = None
    try:
        loader = (_Loader if typed else _TextLoader)(text)
        node = loader.get_single_node()
        lines = _line_index(node, path, loader.alias_lines) if node is not None else {}
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ThemesError(f"{path}{line}: invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise ThemesError(f"{path}: invalid YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise ThemesError(f"{path}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines
