"""Shared fixtures: a small deterministic fake embedder and paths to the shipped data."""

from __future__ import annotations

import hashlib
import re
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


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


def themes(*args, cwd=ROOT, env=None, timeout=600):
    """Run the CLI in a subprocess; returns the CompletedProcess."""
    return subprocess.run([*THEMES, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)
