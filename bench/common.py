"""Shared helpers for the benchmarks: the real data beside the project, and cached embeddings.

The data lives in ../shared/data (never in the repository). Embeddings are cached under
.cache/bench/ (gitignored), keyed by the model and the exact texts, so reruns are fast.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / ".cache" / "bench"
NHS = SHARED_DATA / "nhs_feedback_phase1.csv"
COUNSEL = SHARED_DATA / "counsel_chat.csv"

sys.path.insert(0, str(ROOT))


def require(*paths: Path) -> None:
    """Exit cleanly, with a message, when the benchmark data is absent."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"skipped: benchmark data not found: {', '.join(missing)}")
        raise SystemExit(0)


class CachedEmbedder:
    """Wraps an Embedder with a per-text disk cache (one .npy of vectors and a .json of text
    hashes per model build), so any subsample of texts already seen is not embedded again."""

    def __init__(self, embedder, cache: Path = CACHE):
        self.embedder = embedder
        self.name = embedder.name
        from pipeline.embed import embedder_fingerprint

        # The fingerprint names the model files themselves: a rebuilt model is a new cache.
        slug = hashlib.sha256(embedder_fingerprint(embedder).encode("utf-8")).hexdigest()[:12]
        self.vectors_path = cache / f"{slug}.npy"
        self.index_path = cache / f"{slug}.json"

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts, progress=None):
        import json

        keys = [self._key(t) for t in texts]
        index: dict[str, int] = {}
        vectors = None
        if self.index_path.is_file() and self.vectors_path.is_file():
            index = {k: i for i, k in enumerate(json.loads(self.index_path.read_text()))}
            vectors = np.load(self.vectors_path)
        missing = list(dict.fromkeys(k_t for k_t in zip(keys, texts) if k_t[0] not in index))
        if missing:
            new = self.embedder.encode([t for _, t in missing], progress)
            vectors = new if vectors is None else np.vstack([vectors, new])
            for key, _ in missing:
                index[key] = len(index)
            self.vectors_path.parent.mkdir(parents=True, exist_ok=True)
            np.save(self.vectors_path, vectors)
            self.index_path.write_text(json.dumps(sorted(index, key=index.get)))
        if vectors is None:  # no texts at all
            return self.embedder.encode([])
        return vectors[[index[k] for k in keys]]

    def encode_tokens(self, texts, each, progress=None):
        """Token vectors are not cached: the wrapped embedder makes them."""
        self.embedder.encode_tokens(texts, each, progress)


def default_embedder() -> CachedEmbedder:
    from pipeline.config import EmbeddingConfig
    from pipeline.embed import make_embedder

    return CachedEmbedder(make_embedder(EmbeddingConfig()))


def load_nhs(sample: int | None = 3000, seed: int = 0):
    """NHS comments with their staff coding: a DataFrame with feedback, code, label, subcategory.

    Empty comments are dropped; ``sample`` rows are drawn with a fixed seed (None = all)."""
    import pandas as pd

    frame = pd.read_csv(NHS)
    frame["feedback"] = frame["feedback"].fillna("").astype(str).str.strip()
    frame = frame[frame["feedback"].str.len() > 0].reset_index(drop=True)
    frame["subcategory"] = frame["subcategory"].str.strip()
    if sample and sample < len(frame):
        frame = frame.sample(n=sample, random_state=seed).reset_index(drop=True)
    return frame


def load_counsel(min_questions: int = 10):
    """One row per counsel-chat question (title + text) for topics with >= ``min_questions``."""
    import pandas as pd

    frame = pd.read_csv(COUNSEL).drop_duplicates("questionID")
    frame["text"] = (frame["questionTitle"].fillna("").str.strip() + " "
                     + frame["questionText"].fillna("").str.strip()).str.strip()
    counts = frame["topic"].value_counts()
    keep = counts[counts >= min_questions].index
    return frame[frame["topic"].isin(keep)].reset_index(drop=True)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % by default) of the share ``hits`` / ``n``."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share(hits: int, n: int) -> str:
    """``hits``/``n`` as a percentage with its Wilson 95 % interval: '33/62 = 53.2% (41.0-64.9)'."""
    low, high = wilson(hits, n)
    return f"{hits}/{n} = {100 * hits / max(1, n):.1f}% ({100 * low:.1f}-{100 * high:.1f})"


def segments_of(docs: list[str]):
    """Each text as one clusterable segment of its own turn (document ``d``)."""
    from pipeline.artifacts import Segment

    return [Segment(f"d#{i}.1", "d", i, "P", "user", text, 0, len(text)) for i, text in enumerate(docs)]
