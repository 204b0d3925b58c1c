"""Benchmark: do the clusters agree with how people coded the same real text?

    .venv/bin/python bench/bench_clusters.py          # or: make bench-clusters

Data (../shared/data, not in the repository):
- nhs_feedback_phase1.csv: a fixed random sample of 3000 comments (seed 0), against the
  staff's 44 subcategories;
- counsel_chat.csv: one row per question (title + text), topics with at least 10 questions,
  against the topic the asker chose.
Each is clustered on the same embeddings by BERTopic's defaults (UMAP 15 neighbours / 5
dimensions, HDBSCAN min_cluster_size 10, eom; only a seed added so runs repeat) and by the
pipeline's clustering stage with its configured defaults and a few measured alternatives.
Figures: AMI and ARI against the human labels over all texts (unclustered texts count as one
group, as an analyst would see them), the unclustered share, the number of clusters, and three
figures for the keywords (see ``scores`` and ``named_share``).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import COUNSEL, NHS, default_embedder, load_counsel, load_nhs, require, segments_of  # noqa: E402


def bertopic_defaults(docs: list[str], X: np.ndarray, embedder) -> np.ndarray:
    from bertopic import BERTopic
    from umap import UMAP

    from pipeline.cluster import embedder_backend

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
    model = BERTopic(embedding_model=embedder_backend(embedder), umap_model=umap_model)
    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    topics, _ = model.fit_transform(docs, embeddings=X)
    keywords = [[w for w, _ in model.get_topic(t)][:10] for t in sorted(set(topics) - {-1})]
    return np.array(topics), keywords


def pipeline_clusters(docs: list[str], X: np.ndarray, embedder, **overrides) -> np.ndarray:
    from pipeline.cluster import cluster
    from pipeline.config import load_config

    config = load_config().clustering.model_copy(update=overrides)
    segments = segments_of(docs)
    result = cluster(segments, X, config, embedder=embedder)
    return np.array([result.assignments[s.segment_id] for s in segments]), [list(c.keywords) for c in result.clusters]


def scores(result: tuple[np.ndarray, list[list[str]]], labels: list[str]) -> dict:
    """Agreement with the human labels, and two readability figures for the keywords: how
    many clusters share each keyword on average (1.0 = every keyword tells its cluster apart),
    and the share of clusters that repeat a word inside one of their own phrases."""
    from collections import Counter

    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    topics, keywords = result
    counts = Counter(w for words in keywords for w in set(words))
    spread = np.mean([counts[w] for words in keywords for w in words]) if counts else 0.0
    repeats = np.mean([any(w != o and w in o.split() for w in words for o in words) for words in keywords]) \
        if keywords else 0.0
    return {
        "AMI": adjusted_mutual_info_score(labels, topics), "ARI": adjusted_rand_score(labels, topics),
        "unclustered": float((topics == -1).mean()), "clusters": len(set(topics) - {-1}),
        "spread": float(spread), "repeats": float(repeats), "named": named_share(topics, keywords, labels),
    }


def named_share(topics: np.ndarray, keywords: list[list[str]], labels: list[str]) -> float:
    """How often the first three keywords name the theme as the people who coded it did: the
    share of clustered texts whose cluster's first three keywords share a word stem (first five
    letters) with the label most of that cluster's texts carry ("Staff attitude" and "attitude
    of staff" match; "Waiting time" and "wait" do not, so this undercounts)."""
    from collections import Counter

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    def stems(text: str) -> set[str]:
        words = "".join(ch.lower() if ch.isalpha() else " " for ch in text).split()
        return {w[:5] for w in words if w not in ENGLISH_STOP_WORDS and len(w) > 2}

    found = sorted(set(topics.tolist()) - {-1})
    hits = total = 0
    for topic, words in zip(found, keywords):
        members = np.flatnonzero(topics == topic)
        label = Counter(labels[i] for i in members).most_common(1)[0][0]
        total += len(members)
        hits += len(members) * bool(stems(label) & stems(" ".join(words[:3])))
    return hits / total if total else 0.0


def report(name: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{name}")
    width = max(len(r) for r, _ in rows)
    print(f"  {'':{width}}  {'AMI':>6}  {'ARI':>6}  {'unclust.':>8}  {'clusters':>8}  "
          f"{'kw spread':>9}  {'kw repeats':>10}  {'kw name':>7}  {'seconds':>7}")
    for row, v in rows:
        print(f"  {row:{width}}  {v['AMI']:6.3f}  {v['ARI']:6.3f}  {100 * v['unclustered']:7.1f}%  "
              f"{v['clusters']:8d}  {v['spread']:9.2f}  {100 * v['repeats']:9.1f}%  {100 * v['named']:6.1f}%  "
              f"{v['seconds']:7.1f}")


def run(docs: list[str], labels: list[str], embedder, variants: dict) -> list[tuple[str, dict]]:
    X = embedder.encode(docs)
    rows = []
    started = time.perf_counter()
    rows.append(("BERTopic() defaults", scores(bertopic_defaults(docs, X, embedder), labels)
                 | {"seconds": time.perf_counter() - started}))
    for name, overrides in variants.items():
        started = time.perf_counter()
        rows.append((name, scores(pipeline_clusters(docs, X, embedder, **overrides), labels)
                     | {"seconds": time.perf_counter() - started}))
    return rows


VARIANTS = {
    "pipeline (configured defaults)": {},
    "  without outlier reduction": {"reduce_outliers": False},
    "  outlier threshold 0.3": {"outlier_threshold": 0.3},
    "  outlier threshold 0.4": {"outlier_threshold": 0.4},
    "  selection eom": {"selection_method": "eom"},
    "  plain c-TF-IDF keywords": {"reduce_frequent_words": False},
    "  MMR keywords (diversity 0.3)": {"representation": "mmr"},
    "  KeyBERTInspired keywords": {"representation": "keybert"},
    "  min cluster size 8": {"min_cluster_size": 8},
    "  min cluster size 16": {"min_cluster_size": 16},
    "  min cluster size 24": {"min_cluster_size": 24},
    "  UMAP 100 epochs": {"umap_n_epochs": 100},
    "  UMAP 200 epochs": {"umap_n_epochs": 200},
}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the variants whose name contains this text")
    args = parser.parse_args()
    variants = {name: v for name, v in VARIANTS.items()
                if not args.only or args.only.lower() in name.lower() or not v}
    require(NHS, COUNSEL)
    embedder = default_embedder()
    started = time.perf_counter()
    nhs = load_nhs(3000, seed=0)
    report(f"NHS comments: {len(nhs)} sampled (seed 0), {nhs['subcategory'].nunique()} staff subcategories",
           run(nhs["feedback"].tolist(), nhs["subcategory"].tolist(), embedder, variants))
    counsel = load_counsel()
    report(f"counsel-chat questions: {len(counsel)}, {counsel['topic'].nunique()} asker topics",
           run(counsel["text"].tolist(), counsel["topic"].tolist(), embedder, variants))
    print(f"\nmodel {embedder.name}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
