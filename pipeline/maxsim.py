"""Token-level matching ("late interaction", as in ColBERT's MaxSim), a second reading of each
segment beside its sentence vector.

A sentence vector averages a whole utterance into one point, so its topic dominates and how
it is said (an experience, a cause, a proposal) weighs little. Here each word piece of the
segment, in its context, finds the most similar word piece of a code's text; a segment's
MaxSim with that text is the mean over the segment's word pieces. `mapping.py` adds it to the
sentence similarity. Measured on `make bench-mapping`'s sets (docs/taxonomy.md): NHS top-1
and top-3 and the development set's right theme first all rise.

Where the backend can (``embed_and_match``), the run of the model that embeds the segments
gives their word vectors too; else (a rerun with another taxonomy, the torch backend) the
model runs again for them. They are not kept (one per word piece, they take many times the
room of the sentence vectors, about 14 times for the NHS comments of `make bench`): the run
keeps the matches in the stage cache.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .artifacts import TokenMatch
from .embed import Embedder, once_each


def can_match(embedder: Embedder) -> bool:
    """Whether the embedder gives token vectors (both real backends do; stand-ins may not)."""
    return callable(getattr(embedder, "encode_tokens", None))


def token_vectors(texts: list[str], embedder: Embedder) -> list[np.ndarray]:
    """Each text's unit word-piece vectors (pieces, d), in the order given."""
    out: list[np.ndarray | None] = [None] * len(texts)

    def keep(rows: list[int], vectors: list[np.ndarray]) -> None:
        for i, v in zip(rows, vectors):
            out[i] = v

    embedder.encode_tokens(texts, keep)
    if any(v is None for v in out):
        raise RuntimeError("the embedder gave no token vectors for some texts")
    return out


class TokenIndex:
    """The word-piece vectors of some texts stacked into one matrix, with where each text starts."""

    def __init__(self, vectors: list[np.ndarray]):
        self.matrix = np.ascontiguousarray(np.concatenate(vectors).T, dtype=np.float32)  # (d, pieces)
        self.starts = np.cumsum([0] + [len(v) for v in vectors[:-1]])

    def maxsim(self, queries: list[np.ndarray]) -> np.ndarray:
        """(queries, texts) for some texts' word-piece vectors: for each indexed text, the mean
        over a query's pieces of their best cosine with a piece of that text. The queries go
        through one matrix product (one per query would take almost twice as long)."""
        best = np.maximum.reduceat(np.concatenate(queries) @ self.matrix, self.starts, axis=1)
        lengths = np.array([len(q) for q in queries])
        return np.add.reduceat(best, np.cumsum(lengths) - lengths, axis=0) / lengths[:, None]


def _scorer(index: TokenIndex, count: int) -> tuple[np.ndarray, Callable[[list[int], list[np.ndarray]], None]]:
    """(count, indexed texts) MaxSim rows, and the token sink that fills them."""
    out = np.zeros((count, len(index.starts)), dtype=np.float32)

    def score(rows: list[int], vectors: list[np.ndarray]) -> None:  # rows are disjoint: safe from any thread
        out[rows] = index.maxsim(vectors)

    return out, score


def maxsim_matrix(texts: list[str], index: TokenIndex, embedder: Embedder,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """(len(texts), indexed texts) MaxSim; each distinct text is read once."""

    def compute(unique: list[str]) -> np.ndarray:
        out, score = _scorer(index, len(unique))
        if unique:
            embedder.encode_tokens(unique, score, progress)
        return out

    return once_each(texts, compute, progress)


def can_embed_and_match(embedder: Embedder) -> bool:
    """Whether the embedder's ``encode`` can give token vectors from the same run of the model
    (the ONNX backend), so a cold run need not run it twice."""
    return can_match(embedder) and "tokens" in inspect.signature(embedder.encode).parameters


def embed_and_match(texts: list[str], profile_texts: list[str], background: list[str], embedder: Embedder,
                    progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, TokenMatch]:
    """``embed.embed(texts)`` and ``match(texts, ...)`` from one run of the model over
    ``texts``, the same to the bit as the two apart (the same calls, the same products)."""
    index = TokenIndex(token_vectors(profile_texts, embedder))
    width = len(index.starts)

    def compute(unique: list[str]) -> np.ndarray:
        scores, score = _scorer(index, len(unique))
        vectors = embedder.encode(unique, progress, tokens=score)
        return np.hstack([vectors, scores])  # one array, so repeated texts are copied alike

    both = once_each(texts, compute, progress)
    vectors = np.ascontiguousarray(both[:, :both.shape[1] - width])
    matched = TokenMatch(profile_texts=list(profile_texts), segments=np.ascontiguousarray(both[:, -width:]),
                         background=maxsim_matrix(list(background), index, embedder))
    return vectors, matched


def match(texts: list[str], profile_texts: list[str], background: list[str], embedder: Embedder,
          progress: Callable[[int], None] | None = None) -> TokenMatch | None:
    """MaxSim of ``texts`` and of the ``background`` sentences with every profile text; None
    when the embedder gives no token vectors."""
    if not can_match(embedder):
        return None
    index = TokenIndex(token_vectors(profile_texts, embedder))
    return TokenMatch(profile_texts=list(profile_texts), segments=maxsim_matrix(texts, index, embedder, progress),
                      background=maxsim_matrix(list(background), index, embedder))
