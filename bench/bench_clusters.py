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
group, as an analyst would see them), the unclustered share, and the number of clusters.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import COUNSEL, NHS, default_embedder, load_counsel, load_nhs, require  # noqa: E402


def bertopic_defaults(docs: list[str], X: np.ndarray, embedder) -> np.ndarray:
    from bertopic import BERTopic
    from umap import UMAP

    from pipeline.cluster import embedder_backend

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=42)
    model = BERTopic(embedding_model=embedder_backend(embedder), umap_model=umap_model)
    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    topics, _ = model.fit_transform(docs, embeddings=X)
    return np.array(topics)


def pipeline_clusters(docs: list[str], X: np.ndarray, embedder, **overrides) -> np.ndarray:
    from pipeline.artifacts import Segment
    from pipeline.cluster import cluster
    from pipeline.config import load_config

    config = load_config().clustering.model_copy(update=overrides)
    segments = [Segment(f"d#{i}.1", "d", i, "P", "user", text, 0, len(text)) for i, text in enumerate(docs)]
    result = cluster(segments, X, config, embedder) if _takes_embedder() else cluster(segments, X, config)
    return np.array([result.assignments[s.segment_id] for s in segments])


def _takes_embedder() -> bool:
    import inspect

    from pipeline.cluster import cluster

    return "embedder" in inspect.signature(cluster).parameters


def scores(topics: np.ndarray, labels: list[str]) -> dict:
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    return {
        "AMI": adjusted_mutual_info_score(labels, topics), "ARI": adjusted_rand_score(labels, topics),
        "unclustered": float((topics == -1).mean()), "clusters": len(set(topics) - {-1}),
    }


def report(name: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{name}")
    width = max(len(r) for r, _ in rows)
    print(f"  {'':{width}}  {'AMI':>6}  {'ARI':>6}  {'unclust.':>8}  {'clusters':>8}  {'seconds':>7}")
    for row, v in rows:
        print(f"  {row:{width}}  {v['AMI']:6.3f}  {v['ARI']:6.3f}  {100 * v['unclustered']:7.1f}%  "
              f"{v['clusters']:8d}  {v['seconds']:7.1f}")


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
    "  selection eom": {"selection_method": "eom"},
    "  min_cluster_size 15": {"min_cluster_size": 15},
}


def main() -> None:
    require(NHS, COUNSEL)
    embedder = default_embedder()
    started = time.perf_counter()
    nhs = load_nhs(3000, seed=0)
    report(f"NHS comments: {len(nhs)} sampled (seed 0), {nhs['subcategory'].nunique()} staff subcategories",
           run(nhs["feedback"].tolist(), nhs["subcategory"].tolist(), embedder, VARIANTS))
    counsel = load_counsel()
    report(f"counsel-chat questions: {len(counsel)}, {counsel['topic'].nunique()} asker topics",
           run(counsel["text"].tolist(), counsel["topic"].tolist(), embedder, VARIANTS))
    print(f"\nmodel {embedder.name}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
