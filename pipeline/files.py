"""Small file helpers shared by stages and commands, in a module of their own: a stage that
imports one of them takes only this module into its code version (``cache.stage_files``),
not the whole module it used to live in."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write into a temporary file beside ``path`` and rename it over ``path``: readers see the
    old file or the new one, never half of one."""
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
