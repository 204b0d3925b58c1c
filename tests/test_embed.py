"""The embed stage: each distinct text once, the backend switch, and the int8 model's
faithfulness to the fp32 sentence-transformers model."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

import pipeline.embed as embed_module
from pipeline.config import EmbeddingConfig, load_config
from pipeline.embed import (OnnxEmbedder, SentenceTransformerEmbedder, build_fast_model, embed, embedder_fingerprint,
                            fast_model_current, fast_model_dir, make_embedder, quantize_rows, same_length_calls)
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


def test_the_default_device_gives_the_same_embedder_with_or_without_a_gpu(monkeypatch):
    """On a GPU the fp32 model runs and the clusters differ: the default stays on the CPU."""
    for present in (False, True):
        monkeypatch.setattr(embed_module, "gpu_present", lambda: present)
        assert isinstance(make_embedder(load_config().embedding), OnnxEmbedder)


def test_a_run_records_what_made_its_vectors():
    from pipeline.embed import embedder_record

    record = embedder_record(OnnxEmbedder("all-MiniLM-L6-v2"))
    assert (record["backend"], record["device"]) == ("onnx-int8", "cpu") and "all-MiniLM-L6-v2" in record["model"]
    assert record["fingerprint"].startswith("all-MiniLM-L6-v2 ")
    torch = embedder_record(SentenceTransformerEmbedder("all-MiniLM-L6-v2", device="cuda"))
    assert (torch["backend"], torch["device"]) == ("torch", "cuda")


def test_cuda_without_a_gpu_names_the_device_key():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here")
    with pytest.raises(ThemesError, match=r"^embedding\.device: 'cuda' needs a CUDA GPU"):
        SentenceTransformerEmbedder("all-MiniLM-L6-v2", device="cuda").encode(["The ward was loud."])


def test_fingerprint_names_the_model_files():
    assert embedder_fingerprint(SimpleNamespace(name="x")) == "x"
    torch_print = embedder_fingerprint(SentenceTransformerEmbedder("all-MiniLM-L6-v2"))
    assert "model.safetensors" in torch_print and "torch" in torch_print


def test_calls_hold_texts_of_one_length_longest_first():
    lengths = [5, 9, 5, 5, 300, 9, 5, 2, 5, 5]
    calls = same_length_calls(lengths, max_texts=4, max_tokens=16)
    assert sorted(i for call in calls for i in call) == list(range(len(lengths)))
    assert all(len({lengths[i] for i in call}) == 1 for call in calls)
    assert [lengths[call[0]] for call in calls] == sorted((lengths[call[0]] for call in calls), reverse=True)
    assert max(len(call) for call in calls) == 3  # 16 tokens hold three texts of 5, not four
    assert [4] in calls  # a text longer than max_tokens still runs, alone
    assert all(len(call) <= 4 for call in same_length_calls([3] * 10, max_texts=4, max_tokens=1000))


def test_row_quantized_products_do_not_depend_on_the_other_rows():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = rng.normal(size=(64, 48)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "one-product",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["texts", "tokens", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["texts", "tokens", 48])],
        [numpy_helper.from_array(weight, "w")])
    model = quantize_rows(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8))
    assert "MatMul" not in {node.op_type for node in model.graph.node}
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = rng.normal(size=(5, 7, 64)).astype(np.float32)
    x[1] *= 1000.0  # a text with far larger activations beside the others
    x[2, 3] = 0.0  # an all-zero token
    together = session.run(None, {"x": x})[0]
    for i in range(len(x)):
        alone = session.run(None, {"x": x[i:i + 1]})[0][0]
        assert np.array_equal(alone, together[i])
        assert np.array_equal(session.run(None, {"x": x[i:i + 1, 2:5]})[0][0], together[i, 2:5])
    exact = x @ weight
    error = np.linalg.norm(together - exact, axis=-1) / np.maximum(np.linalg.norm(exact, axis=-1), 1e-12)
    assert error.max() < 0.02 and not together[2, 3].any()


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
    source["weights_stat"] = {"model.safetensors": [1, 1]}
    (copy / "source.json").write_text(json.dumps(source))
    assert not fast_model_current("all-MiniLM-L6-v2")
    with pytest.raises(ThemesError, match="embedding.backend.*make setup"):
        OnnxEmbedder("all-MiniLM-L6-v2").encode(["hello"])


@needs_fast_model
def test_weights_are_hashed_again_only_when_their_size_or_time_changed(tmp_path, monkeypatch):
    copy = tmp_path / fast_model_dir("all-MiniLM-L6-v2").name
    shutil.copytree(fast_model_dir("all-MiniLM-L6-v2"), copy)
    monkeypatch.setattr(embed_module, "MODELS_DIR", tmp_path)
    source = json.loads((copy / "source.json").read_text())
    source.pop("weights_stat", None)
    (copy / "source.json").write_text(json.dumps(source))
    build_fast_model("all-MiniLM-L6-v2")  # current: only records the weights' size and time
    assert "weights_stat" in json.loads((copy / "source.json").read_text())
    hashed = []
    real_hash = embed_module.file_sha256
    monkeypatch.setattr(embed_module, "file_sha256", lambda path: hashed.append(path) or real_hash(path))
    assert fast_model_current("all-MiniLM-L6-v2") and hashed == []
    source = json.loads((copy / "source.json").read_text())
    source["weights_stat"] = {name: [size, time - 1] for name, (size, time) in source["weights_stat"].items()}
    (copy / "source.json").write_text(json.dumps(source))  # as if the weights were touched since
    assert fast_model_current("all-MiniLM-L6-v2") and hashed  # hashed again: same content, still current


@needs_fast_model
def test_int8_vectors_stay_close_to_fp32():
    fast = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=4)
    int8 = embed(TEXTS, fast)
    fp32 = embed(TEXTS, SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=4))
    assert int8.shape == fp32.shape == (len(TEXTS), 384) and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    cosines = (int8 * fp32).sum(axis=1)
    print("cosine int8 vs fp32:", np.round(cosines, 4))
    assert cosines.min() > 0.98 and cosines.mean() > 0.99, cosines
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


@needs_fast_model
def test_a_text_gets_the_same_vector_whatever_shares_its_call():
    fast = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=64)
    # Many texts of the same token count, so that calls really hold several texts.
    texts = [f"The {word} ward was clean." for word in ("new", "old", "main", "day", "surgical", "children's")]
    texts += ["Food was cold.", "Beds were hard.", "Staff were kind.", *TEXTS]
    texts = list(dict.fromkeys(texts))
    _, tokenizer = fast._load()
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    assert max(len(call) for call in same_length_calls(lengths, 64)) >= 3
    together = fast.encode(texts)
    alone = np.stack([fast.encode([text])[0] for text in texts])
    assert np.array_equal(together, alone)
    order = np.random.default_rng(1).permutation(len(texts))
    extra = ["The quiet ward was clean.", "Tea was cold."]
    shuffled = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=2).encode([texts[i] for i in order] + extra)
    assert np.array_equal(shuffled[:len(texts)], together[order])


def _token_vectors(embedder, texts):
    out = [None] * len(texts)

    def keep(rows, vectors):
        for i, v in zip(rows, vectors):
            out[i] = v

    embedder.encode_tokens(texts, keep)
    return out


@needs_fast_model
def test_both_backends_give_the_same_word_pieces_close_to_each_other():
    int8 = _token_vectors(OnnxEmbedder("all-MiniLM-L6-v2", batch_size=4), TEXTS)
    fp32 = _token_vectors(SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=4), TEXTS)
    _, tokenizer = OnnxEmbedder("all-MiniLM-L6-v2")._load()
    for text, a, b in zip(TEXTS, int8, fp32):
        pieces = [t for t in tokenizer.encode(text).tokens if t not in ("[CLS]", "[SEP]") and any(c.isalnum() for c in t)]
        assert a.shape == b.shape == (len(pieces), 384), text  # punctuation and [CLS]/[SEP] left out
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        cosines = (a * b).sum(axis=1)
        assert cosines.min() > 0.9 and cosines.mean() > 0.97, (text, cosines)
    # Emoji and a script the vocabulary lacks are unknown tokens: no word piece, nothing matched.
    for text in ("😀😀", "ꦲꦏ꧀ꦱꦫ"):
        for embedder in (OnnxEmbedder("all-MiniLM-L6-v2"), SentenceTransformerEmbedder("all-MiniLM-L6-v2")):
            vectors = _token_vectors(embedder, [text])[0]
            assert vectors.shape == (1, 384) and not vectors.any(), (text, embedder)
    # A text's word pieces do not depend on the texts beside it.
    alone = _token_vectors(OnnxEmbedder("all-MiniLM-L6-v2", batch_size=4), TEXTS[3:4])[0]
    assert np.array_equal(alone, int8[3])


@needs_fast_model
def test_one_run_of_the_model_gives_the_vectors_and_the_word_matches_of_two(monkeypatch):
    from pipeline.maxsim import can_embed_and_match, embed_and_match, match

    fast = OnnxEmbedder("all-MiniLM-L6-v2", batch_size=4)
    assert can_embed_and_match(fast) and not can_embed_and_match(SentenceTransformerEmbedder("all-MiniLM-L6-v2"))
    profiles = ["waiting list for months", "the staff were kind", "parking"]
    background = ["The weather was cold."]
    runs = []
    real = OnnxEmbedder._hidden
    monkeypatch.setattr(OnnxEmbedder, "_hidden", lambda self, texts, *a: runs.append(len(texts)) or real(self, texts, *a))
    vectors, both = embed_and_match(TEXTS, profiles, background, fast)
    assert runs == [len(profiles), len(set(TEXTS)), len(background)]  # the texts once, not twice
    apart = match(TEXTS, profiles, background, fast)
    assert np.array_equal(vectors, embed(TEXTS, fast))
    assert np.array_equal(both.segments, apart.segments) and np.array_equal(both.background, apart.background)
    assert both.profile_texts == profiles
