"""The embed stage: each distinct text once, the backend switch, and the int8 model's
faithfulness to the fp32 sentence-transformers model."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

import pipeline.embed as embed_module
from pipeline.config import EmbeddingConfig, load_config
from pipeline.embed import (OnnxEmbedder, SentenceTransformerEmbedder, embed, embedder_fingerprint,
                            fast_model_current, fast_model_dir, make_embedder)
from pipeline.errors import ThemesError

from conftest import FakeEmbedder

TEXTS = [
    "The nurse explained everything clearly and kindly.",
    "Waiting times in A&E were far too long; we sat there for six hours.",
    "Nothing.",
    "Parking at the hospital is expensive and there are never enough spaces.",
    "I felt safe talking to the psychologist, and the group helped me a lot with my anxiety.",
    "Food was cold.",
    "Staff were rushed off their feet but still found time to listen to my worries about going home.",
    "Nothing.",
    "The online booking system kept crashing, so I had to phone three times to get an appointment "
    "and every time I was on hold for over forty minutes before anyone answered.",
    "Lovely clean ward.",
]


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        self.seen = []

    def encode(self, texts, progress=None):
        self.seen.append(list(texts))
        return super().encode(texts, progress)


def test_each_distinct_text_is_embedded_once_in_order():
    embedder = CountingEmbedder()
    counted = []
    vectors = embed(TEXTS, embedder, counted.append)
    assert embedder.seen == [list(dict.fromkeys(TEXTS))]
    assert sum(counted) == len(TEXTS)  # the progress bar still reaches the number of segments
    assert np.array_equal(vectors, FakeEmbedder().encode(TEXTS))
    assert embed([], embedder).shape[0] == 0


def test_backend_switch():
    assert isinstance(make_embedder(EmbeddingConfig(device="cpu")), OnnxEmbedder)
    assert isinstance(make_embedder(EmbeddingConfig(backend="torch", device="cpu")), SentenceTransformerEmbedder)
    assert isinstance(make_embedder(EmbeddingConfig(device="cuda")), SentenceTransformerEmbedder)
    assert load_config().embedding.backend == "onnx-int8"


def test_auto_device_without_a_gpu_stays_on_the_cpu(monkeypatch):
    monkeypatch.setattr(embed_module, "gpu_present", lambda: False)
    assert isinstance(make_embedder(EmbeddingConfig(device="auto")), OnnxEmbedder)
    monkeypatch.setattr(embed_module, "gpu_present", lambda: True)
    chosen = make_embedder(EmbeddingConfig(device="auto"))
    assert isinstance(chosen, SentenceTransformerEmbedder) and chosen.device == "cuda"


def test_fingerprint_names_the_model_files():
    assert embedder_fingerprint(SimpleNamespace(name="x")) == "x"
    torch_print = embedder_fingerprint(SentenceTransformerEmbedder("all-MiniLM-L6-v2"))
    assert "model.safetensors" in torch_print and "torch" in torch_print


needs_fast_model = pytest.mark.skipif(not fast_model_current("all-MiniLM-L6-v2"),
                                      reason="the int8 model is not built (make setup)")


@needs_fast_model
def test_out_of_date_fast_model_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / fast_model_dir("all-MiniLM-L6-v2").name
    shutil.copytree(fast_model_dir("all-MiniLM-L6-v2"), copy)
    monkeypatch.setattr(embed_module, "MODELS_DIR", tmp_path)
    assert fast_model_current("all-MiniLM-L6-v2")
    source = json.loads((copy / "source.json").read_text())
    source["weights"] = {"model.safetensors": "0" * 64}  # built from other weights
    (copy / "source.json").write_text(json.dumps(source))
    assert not fast_model_current("all-MiniLM-L6-v2")
    with pytest.raises(ThemesError, match="embedding.backend.*make setup"):
        OnnxEmbedder("all-MiniLM-L6-v2").encode(["hello"])


@needs_fast_model
def test_int8_vectors_stay_close_to_fp32():
    fast = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=4)
    int8 = embed(TEXTS, fast)
    fp32 = embed(TEXTS, SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=4))
    assert int8.shape == fp32.shape == (len(TEXTS), 384) and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    cosines = (int8 * fp32).sum(axis=1)
    print("cosine int8 vs fp32:", np.round(cosines, 4))
    assert cosines.min() > 0.95 and cosines.mean() > 0.98, cosines
    # Same neighbours: each text's nearest other text is the same under both.
    def nearest(vectors):
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -1)
        return sims.argmax(axis=1)

    distinct = [TEXTS.index(t) for t in dict.fromkeys(TEXTS)]
    assert (nearest(int8[distinct]) == nearest(fp32[distinct])).mean() >= 0.6
    # A text's vector does not depend on the texts beside it, nor on their order.
    again = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=3).encode(TEXTS[::-1] + ["Another text."])[:-1][::-1]
    assert np.array_equal(again, int8)
