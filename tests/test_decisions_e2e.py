"""End to end with the real model: a cluster accepted on the command line stays accepted when
the run is repeated with another clustering config, and the rerun leaves the store as it was."""

import json
import os
import re

import pytest

from pipeline.decisions import jaccard

from conftest import FIXTURES, themes

pytestmark = pytest.mark.e2e

SOME_CODE = "barrier.control.disempowerment_symptoms_medication"


def test_accepted_cluster_is_carried_through_a_rerun_with_other_clustering(tmp_path):
    transcript = tmp_path / "meeting.txt"
    # The 30-turn fixture plus one line of markup, which the report must show as text.
    transcript.write_text((FIXTURES / "small" / "short_meeting.txt").read_text(encoding="utf-8")
                          + "User 2: I typed <script>alert('x')</script> & <b>bold</b> into the online form, "
                            "and nothing happened.\n", encoding="utf-8")
    store = tmp_path / "decisions.jsonl"
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    out = tmp_path / "small"

    first = themes("run", "--input", transcript, "--out", out, env=env)
    assert first.returncode == 0, first.stderr
    clusters = json.loads((out / "clusters.json").read_text())["clusters"]
    assert clusters, "the fixture should form at least one cluster"
    target = max(clusters, key=lambda c: c["size"])
    code = target["suggestions"][0]["code_id"] if target["suggestions"] else SOME_CODE
    decided = themes("decide", out, target["cluster_id"], "--accept", code, "--memo", "mornings lost", env=env)
    assert decided.returncode == 0, decided.stderr
    snapshot = store.read_bytes()

    config = tmp_path / "rerun.yaml"
    config.write_text("clustering:\n  umap_n_neighbors: 10\n")
    second = themes("run", "--config", config, "--input", transcript, "--out", out, env=env)
    assert second.returncode == 0, second.stderr
    assert store.read_bytes() == snapshot  # the run read the store and left it alone

    document = json.loads((out / "clusters.json").read_text())
    best = max(document["clusters"], key=lambda c: jaccard(c["members"], target["members"]))
    decision = best["decision"]
    assert decision is not None, [c["members"] for c in document["clusters"]]
    assert (decision["status"], decision["code_id"], decision["carried"]) == ("accepted", code, True)
    assert decision["overlap"] >= 0.5
    assert decision["overlap"] == pytest.approx(jaccard(best["members"], target["members"]), abs=1e-4)
    assert decision["memo"] == "mornings lost"

    html = (out / "report.html").read_text()
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert" not in html
    book = themes("codebook", out, env=env)
    assert book.returncode == 0 and code in book.stdout
