"""Safe YAML reading with line numbers for every key, so errors can say where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ThemesError

MAX_YAML_BYTES = 5_000_000
MAX_ALIASES = 100


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses alias explosions (billion laughs)."""

    alias_count = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"line {mark.line + 1}: too many YAML aliases")
        return super().compose_node(parent, index)


def _line_index(node: yaml.Node, prefix: tuple = (), out: dict | None = None) -> dict:
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = prefix + (key_node.value,)
            out[key] = key_node.start_mark.line + 1
            _line_index(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = prefix + (i,)
            out[key] = item.start_mark.line + 1
            _line_index(item, key, out)
    return out


def read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Read a YAML file; return its data and a map from key path to 1-based line number."""
    path = Path(path)
    if not path.is_file():
        raise ThemesError(f"{path}: file not found")
    raw = path.read_bytes()
    if len(raw) > MAX_YAML_BYTES:
        raise ThemesError(f"{path}: file is too large for a YAML config ({len(raw)} bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ThemesError(f"{path}: not UTF-8 text (byte {err.start})") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ThemesError(f"{path}{line}: invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise ThemesError(f"{path}: invalid YAML: {err}") from None
    except RecursionError:
        raise ThemesError(f"{path}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    lines = _line_index(node) if node is not None else {}
    return data, lines
