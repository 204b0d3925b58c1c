"""Speaker-aware choices, measured on the shipped sample (5 meetings, 12 speakers).

The real coded data beside the project has no speakers, so these choices are measured on
the sample series, where who speaks is known (users, professionals, two facilitators):

1. ``speakers.exclude_from_clustering: [facilitator]`` (default) against ``[]``: how many
   clusters are mostly the facilitators' own talk (agenda, breaks, prompts), how many show a
   facilitator among their quotes, and the share of users' and professionals' segments left
   unclustered;
2. ``clustering.representatives_from: many_speakers`` (default) against ``closest``: how many
   different speakers the quotes of a cluster come from, against how many speak in it, and how
   close the quotes are to the cluster's centre (cosine; the mean over all members beside it).

    .venv/bin/python bench/bench_speakers.py     # also run by `make bench-clusters`

Writes bench/results/speakers.json. Nothing here depends on ../shared.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


def run(overrides: dict):
    from pipeline.config import load_config
    from pipeline.runner import execute

    return execute(load_config(None, overrides))


def facilitator_figures(outputs) -> dict:
    role = {s.segment_id: s.role for s in outputs.segments}
    clusters = outputs.clustering.clusters
    mostly = sum(1 for c in clusters if 2 * sum(role[s] == "facilitator" for s in c.segment_ids) > len(c.segment_ids))
    quoting = sum(1 for c in clusters if any(role[s] == "facilitator" for s in c.representative_ids))
    quotes = sum(len(c.representative_ids) for c in clusters)
    facilitator_quotes = sum(role[s] == "facilitator" for c in clusters for s in c.representative_ids)
    talk = [s for s in outputs.segments if s.role in ("user", "professional") and not s.backchannel]
    left = sum(outputs.clustering.assignments.get(s.segment_id, -1) == -1 for s in talk)
    return {"clusters": len(clusters), "mostly_facilitator": mostly, "quoting_a_facilitator": quoting,
            "facilitator_quotes": facilitator_quotes, "quotes": quotes,
            "users_professionals_unclustered": round(left / len(talk), 4),
            "clusters_with_a_suggestion": sum(1 for c in clusters if outputs.mapping.clusters.get(c.cluster_id))}


def quote_figures(outputs) -> dict:
    speaker = {s.segment_id: s.speaker for s in outputs.segments}
    row = {s.segment_id: i for i, s in enumerate(outputs.segments)}
    vectors = outputs.embeddings / np.linalg.norm(outputs.embeddings, axis=1, keepdims=True)
    quoted, present, quote_cos, member_cos = [], [], [], []
    for c in outputs.clustering.clusters:
        members = vectors[[row[s] for s in c.segment_ids]]
        centre = members.mean(axis=0)
        centre /= np.linalg.norm(centre)
        quoted.append(len({speaker[s] for s in c.representative_ids}))
        present.append(len({speaker[s] for s in c.segment_ids}))
        quote_cos += list(vectors[[row[s] for s in c.representative_ids]] @ centre)
        member_cos += list(members @ centre)
    return {"clusters": len(quoted), "speakers_quoted_mean": round(float(np.mean(quoted)), 2),
            "speakers_quoted_min": int(min(quoted)), "speakers_in_cluster_mean": round(float(np.mean(present)), 2),
            "quote_cosine_to_centre": round(float(np.mean(quote_cos)), 3),
            "member_cosine_to_centre": round(float(np.mean(member_cos)), 3)}


def main() -> None:
    results: dict = {"data": "data/transcripts/sample (synthetic)", "date": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory(prefix="themes-speakers-") as tmp:
        os.environ["THEMES_CACHE_DIR"] = str(Path(tmp) / "cache")
        results["exclude_from_clustering"] = {
            "[facilitator] (default)": facilitator_figures(run({})),
            "[]": facilitator_figures(run({"speakers": {"exclude_from_clustering": []}})),
        }
        results["representatives_from"] = {
            "many_speakers (default)": quote_figures(run({})),
            "closest": quote_figures(run({"clustering": {"representatives_from": "closest"}})),
        }
    print(json.dumps(results, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speakers.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"written: {RESULTS / 'speakers.json'}")


if __name__ == "__main__":
    main()
