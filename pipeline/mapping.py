"""Stage 5, mapping: rank taxonomy codes for every cluster and every segment.

Each leaf code gets a *profile*: several texts (its label in its parents' context, its
description, aliases and examples), each embedded. A segment's similarity to a code is the best
cosine similarity over the code's profile texts; a cluster's is the mean over its members. The
score shown is that similarity clipped to [0, 1]; below ``threshold`` nothing is suggested.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .artifacts import UNCLUSTERED, Clustering, Mapping, Segment, Suggestion
from .embed import Embedder
from .taxonomy import Taxonomy


@dataclass
class CodeProfiles:
    """Embedded profile texts. ``owner[i]`` is the leaf index of ``texts[i]``."""

    leaf_ids: list[str]
    texts: list[str]
    kinds: list[str]
    owner: np.ndarray
    vectors: np.ndarray


def profile_texts(taxonomy: Taxonomy, code_id: str) -> list[tuple[str, str]]:
    """(kind, text) pairs that describe a leaf: label in context, description, aliases, examples."""
    code = taxonomy.codes[code_id]
    context = " > ".join(a.label for a in taxonomy.ancestors(code_id))
    texts = [("label", f"{context} > {code.label}" if context else code.label)]
    if code.description:
        texts.append(("description", f"{code.label}: {code.description}"))
    texts += [("alias", alias) for alias in code.aliases]
    if code.keywords:
        texts.append(("keywords", ", ".join(code.keywords)))
    texts += [("example", example) for example in code.examples]
    return texts


def build_profiles(taxonomy: Taxonomy, embedder: Embedder) -> CodeProfiles:
    leaf_ids, texts, kinds, owner = [], [], [], []
    for index, leaf in enumerate(code for code in taxonomy.walk() if code.is_leaf):
        leaf_ids.append(leaf.id)
        for kind, text in profile_texts(taxonomy, leaf.id):
            texts.append(text)
            kinds.append(kind)
            owner.append(index)
    vectors = embedder.encode(texts)
    return CodeProfiles(leaf_ids, texts, kinds, np.array(owner), vectors)


def similarity(vectors: np.ndarray, profiles: CodeProfiles) -> tuple[np.ndarray, np.ndarray]:
    """(n, leaves) best similarity per leaf, and the index of the profile text that gave it."""
    sims = vectors @ profiles.vectors.T
    n_leaves = len(profiles.leaf_ids)
    best = np.full((len(vectors), n_leaves), -1.0, dtype=np.float32)
    which = np.zeros((len(vectors), n_leaves), dtype=int)
    for leaf in range(n_leaves):
        cols = np.flatnonzero(profiles.owner == leaf)
        block = sims[:, cols]
        arg = block.argmax(axis=1)
        best[:, leaf] = block[np.arange(len(vectors)), arg]
        which[:, leaf] = cols[arg]
    return best, which


def _rank(scores: np.ndarray, which_text: list[int], profiles: CodeProfiles, taxonomy: Taxonomy,
          threshold: float, top_k: int, evidence: list[tuple[str, ...]] | None = None) -> list[Suggestion]:
    order = np.lexsort((np.arange(len(scores)), -np.round(scores, 6)))
    out = []
    for leaf in order[:top_k]:
        score = float(np.clip(scores[leaf], 0.0, 1.0))
        if score < threshold:
            break
        code_id = profiles.leaf_ids[leaf]
        text_index = which_text[leaf]
        out.append(Suggestion(
            code_id=code_id, score=round(score, 4), label=taxonomy.codes[code_id].label,
            path=tuple(a.id for a in taxonomy.ancestors(code_id)),
            rationale=f"closest to its {profiles.kinds[text_index]}: “{profiles.texts[text_index]}”",
            evidence=evidence[leaf] if evidence else (),
        ))
    return out


def map_to_taxonomy(segments: list[Segment], embeddings: np.ndarray, clustering: Clustering,
                    taxonomy: Taxonomy, embedder: Embedder, threshold: float, top_k: int) -> Mapping:
    """Suggestions for every segment and every cluster, best first; [] where none reaches
    ``threshold``."""
    profiles = build_profiles(taxonomy, embedder)
    best, which = similarity(embeddings, profiles)
    index = {s.segment_id: i for i, s in enumerate(segments)}

    segment_suggestions = {
        s.segment_id: _rank(best[i], list(which[i]), profiles, taxonomy, threshold, top_k)
        for i, s in enumerate(segments)
    }
    cluster_suggestions: dict[int, list[Suggestion]] = {}
    for cluster in clustering.clusters:
        rows = np.array([index[sid] for sid in cluster.segment_ids])
        scores = best[rows].mean(axis=0)
        # The profile text most members came closest to, and the members that fit best.
        which_text = [int(np.bincount(which[rows, leaf]).argmax()) for leaf in range(len(profiles.leaf_ids))]
        evidence = []
        for leaf in range(len(profiles.leaf_ids)):
            top = rows[np.lexsort((rows, -np.round(best[rows, leaf], 6)))[:3]]
            evidence.append(tuple(segments[i].segment_id for i in top))
        cluster_suggestions[cluster.cluster_id] = _rank(
            scores, which_text, profiles, taxonomy, threshold, top_k, evidence)
    return Mapping(taxonomy_id=taxonomy.id, clusters=cluster_suggestions,
                   segments=segment_suggestions, threshold=threshold)


def no_mapping(segments: list[Segment], clustering: Clustering) -> Mapping:
    """The mapping of a run without a taxonomy (inductive analysis): nothing suggested."""
    return Mapping(taxonomy_id="", clusters={c.cluster_id: [] for c in clustering.clusters},
                   segments={s.segment_id: [] for s in segments}, threshold=1.0)


__all__ = ["map_to_taxonomy", "no_mapping", "build_profiles", "UNCLUSTERED"]
