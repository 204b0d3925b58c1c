"""Importing a library without optional parts of it that the pipeline never uses."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def without(*modules: str) -> Iterator[None]:
    """Inside the block, importing any of ``modules`` that is not loaded yet raises
    ModuleNotFoundError, so a library that treats them as optional goes on without them;
    after the block they import normally again. Modules already loaded are left alone."""
    blocked = [name for name in modules if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # None in sys.modules: the import raises ModuleNotFoundError
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
