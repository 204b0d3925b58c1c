"""Shared fixtures: a small deterministic fake embedder and paths to the shipped data."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "transcripts" / "sample"
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
THEMES = [sys.executable, "-m", "pipeline.cli"]


class FakeEmbedder:
    """Bag-of-words hashed into 64 dimensions, unit length: similar words, similar vectors."""

    name = "fake"
    dimension = 64

    def encode(self, texts, progress=None):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.md5(word.encode()).digest()
                out[row, digest[0] % self.dimension] += 1.0
                out[row, digest[1] % self.dimension] += 0.5
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        if progress:
            progress(len(texts))
        return out


@pytest.fixture(autouse=True)
def own_stage_cache(tmp_path_factory, monkeypatch):
    """Every test (and the CLI it starts) gets an empty stage cache of its own, so a test that
    stubs a stage cannot leave its output for another test to find."""
    monkeypatch.setenv("THEMES_CACHE_DIR", str(tmp_path_factory.mktemp("stage-cache")))


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty decision store of the test's own, which $THEMES_DECISIONS names for every
    command the test starts."""
    path = tmp_path / "decisions.jsonl"
    monkeypatch.setenv("THEMES_DECISIONS", str(path))
    return path


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


def themes(*args, cwd=ROOT, env=None, timeout=600):
    """Run the CLI in a subprocess; returns the CompletedProcess."""
    return subprocess.run([*THEMES, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)


def start_review(run_dir, env, *extra):
    """`themes review RUN_DIR` in the background -> (process, the page's URL). Python's fault
    handler is on, so ``stop_review`` can show where a server that ignores Ctrl-C is stuck."""
    process = subprocess.Popen([*THEMES, "review", str(run_dir), *map(str, extra)], cwd=ROOT,
                               env={**env, "PYTHONFAULTHANDLER": "1"}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = process.stdout.readline()
    if not line.startswith("review: http://127.0.0.1:"):
        process.kill()
        pytest.fail(f"review did not start: {line!r} {process.communicate()[1]}")
    return process, line.split()[1]


def stop_review(process) -> str:
    """Ctrl-C a review server started by ``start_review`` -> its stderr. One still running 20 s
    later is aborted, and the test fails with every thread's stack."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=20)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        stderr = process.communicate(timeout=20)[1]
        pytest.fail(f"review did not stop within 20 s of Ctrl-C; where it was:\n{stderr}")


def write_review_run(out_dir, groups, texts=None, taxonomy="nakanishi2021", overrides=None, abstain=(),
                     roles=("user", "professional")):
    """Write a run folder with the real runner from hand-made artifacts (no model, no BERTopic).

    ``groups`` maps cluster id -> segment numbers; segment i is ``meeting.txt#i.1``, said by a
    user (even i) or a nurse (odd i), of ``roles``. Cluster k suggests the taxonomy's leaves k and k+1. The
    decisions come from the store $THEMES_DECISIONS names, as in a real run.
    """
    from pipeline.artifacts import Cluster, Clustering, Mapping, Segment, Source, Suggestion, Transcript
    from pipeline.config import load_config, merge
    from pipeline.runner import RunOutputs, load_run_taxonomy, write_run

    # The last segment stays unclustered; with no groups, ten segments and no cluster.
    n = max((i for members in groups.values() for i in members), default=7) + 2
    texts = texts or [f"Segment {i} is about the day centre and the tablets." for i in range(n)]
    segments = [Segment(f"meeting.txt#{i}.1", "meeting.txt", i, "Nurse 1" if i % 2 else "User 1",
                        roles[i % 2], texts[i], 0, len(texts[i])) for i in range(n)]
    config = load_config(None, merge({"input": {"paths": ["meeting.txt"]}, "taxonomy": taxonomy,
                                      "output": {"dir": str(out_dir)}}, overrides or {}))
    tax = load_run_taxonomy(config)
    leaves = tax.leaves if tax else []
    assignments = {s.segment_id: -1 for s in segments}
    clusters, suggestions = [], {}
    for cid, numbers in groups.items():
        ids = tuple(segments[i].segment_id for i in numbers)
        assignments.update({sid: cid for sid in ids})
        clusters.append(Cluster(cid, ids, ("day", "centre"), ids[:3], f"label {cid}"))
        suggestions[cid] = [Suggestion(leaves[(cid + k) % len(leaves)].id, 0.6 - 0.1 * k,
                                       leaves[(cid + k) % len(leaves)].label, rationale="matched its examples")
                            for k in range(2)] if leaves else []
    # Clusters in ``abstain`` get no suggestion; their codes come closest, at a quarter of the score.
    closest = {cid: [dataclasses.replace(s, score=round(s.score / 4, 4)) for s in suggestions[cid]]
               for cid in abstain}
    suggestions.update({cid: [] for cid in abstain})
    clustering = Clustering(clusters, assignments, [s.segment_id for s in segments],
                            np.random.default_rng(0).normal(size=(n, 2)))
    outputs = RunOutputs(config=config, sources=[Source("meeting.txt", "meeting.txt", "0" * 64, n, ("User 1",))],
                         segments=segments, embeddings=np.zeros((n, 4), np.float32), clustering=clustering,
                         mapping=Mapping(tax.id if tax else "", suggestions, {}, 0.35, closest), taxonomy=tax)
    return write_run(outputs, Path(out_dir))


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    import os

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = os.environ.get("THEMES_CHROMIUM", "/usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"])
        yield launched
        launched.close()
