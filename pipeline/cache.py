"""The stage cache: each stage's output stored under a key made of its inputs' hashes, its
own config section and the pipeline's code, so a rerun recomputes only what changed.

An entry is a folder ``<dir>/<stage>/<key[:2]>/<key>/`` holding the output as ``value.json``
(the typed artifacts as plain JSON) and ``array-N.npy`` files (numpy arrays), plus
``entry.json`` listing every file's sha256. Entries are written into a temporary folder and
renamed into place, so a killed run leaves no half entry under a real key; on read every file
is hashed again and an entry that does not match is removed and recomputed, never trusted.
A cache that cannot be written (read-only, disk full) only costs speed: the run goes on, says
why once, and caches nothing more.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import __version__

CACHE_ENV = "THEMES_CACHE_DIR"
ENTRY = "entry.json"
VALUE = "value.json"
FORMAT = 1
STAGES = ("ingest", "sources", "segment", "embed", "reduce", "tree", "cluster", "match", "mapping")


# The libraries whose versions can change each stage's output: an entry is reused only with
# the versions that computed it (a newer SciPy can draw a different UMAP map from the same
# embeddings, for example). The embedder's own fingerprint already names its runtime.
_READERS = ("charset-normalizer", "python-docx", "lxml", "openpyxl", "pyyaml")
LIBRARIES = {
    "ingest": _READERS,
    "sources": _READERS,
    "segment": ("spacy",),
    "embed": ("numpy",),
    "reduce": ("numpy", "scipy", "scikit-learn", "umap-learn", "pynndescent", "numba"),
    "tree": ("numpy", "scipy", "scikit-learn", "hdbscan"),
    "cluster": ("numpy", "scipy", "scikit-learn", "hdbscan", "bertopic", "pandas"),
    "match": ("numpy",),
    "mapping": ("numpy", "scikit-learn", "PyStemmer"),  # stop words, stems of shared words
}


# Stages whose floating-point results depend on the processor: the BLAS kernel, NumPy's SIMD
# loops and numba's compiled code are chosen for it, and UMAP magnifies a difference in the
# last bit into other clusters. Their entries are kept per kind of machine (``machine``), so a
# cache copied with a project to another computer is not taken for what that one computes.
MACHINE_STAGES = frozenset({"embed", "reduce", "tree", "cluster", "match"})


@lru_cache(maxsize=1)
def machine() -> dict[str, str]:
    """What a run's numbers depend on beyond the code and library versions: the processor
    architecture, the CPU numba compiles for, NumPy's enabled SIMD extensions and the BLAS
    kernel. Also in every run's manifest.json."""
    import platform

    found = {"arch": platform.machine()}
    try:
        import llvmlite.binding as llvm

        found["numba_cpu"] = os.environ.get("NUMBA_CPU_NAME") or llvm.get_host_cpu_name()
    except Exception:  # numba absent or broken: no compiled code to differ
        found["numba_cpu"] = ""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        features = {}
    found["numpy_simd"] = " ".join(sorted(name for name, on in features.items() if on))
    try:
        from threadpoolctl import threadpool_info

        # The kernels chosen, not the libraries loaded so far (SciPy brings a second OpenBLAS
        # once imported, choosing the same kernel): the same on every run of one machine.
        found["blas"] = " ".join(sorted({f"{pool.get('internal_api')}:{pool.get('architecture')}"
                                         for pool in threadpool_info() if pool.get("user_api") == "blas"}))
    except Exception:
        found["blas"] = ""
    return found


def _normalised_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@lru_cache(maxsize=1)
def installed_versions() -> dict[str, str]:
    """Each installed distribution's version, by normalised name, read from the names of the
    ``*.dist-info`` folders on sys.path (importlib.metadata took 0.15 s for the list above,
    a noticeable share of a rerun); the first one found wins, as for imports."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                distribution, _, version = name[: -len(".dist-info")].partition("-")
                found.setdefault(_normalised_name(distribution), version)
    return found


def installed_version(name: str) -> str:
    """The installed version of the distribution ``name``; "" when it is not installed."""
    return installed_versions().get(_normalised_name(name), "")


def library_versions(stage: str) -> dict[str, str]:
    """The versions of the libraries ``stage`` depends on ("" for one not installed)."""
    return {name: installed_version(name) for name in LIBRARIES.get(stage, ())}


PACKAGE = Path(__file__).resolve().parent
_RELATIVE_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.+)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[\w \t,]+)", re.MULTILINE)


def _module_files(path: Path, seen: set[Path]) -> None:
    """``path`` and, recursively, every module of this package that it imports."""
    if path in seen or not path.is_file():
        return
    seen.add(path)
    for dots, name, names in _RELATIVE_IMPORT.findall(path.read_text(encoding="utf-8")):
        base = path.parent
        for _ in range(len(dots) - 1):
            base = base.parent
        targets = [name] if name else [n.strip() for n in names.strip("()").split(",") if n.strip()]
        for target in targets:
            where = base.joinpath(*target.split("."))
            _module_files(where.with_suffix(".py"), seen)
            _module_files(where / "__init__.py", seen)
        if name:
            _module_files(base.joinpath(*name.split(".")) / "__init__.py", seen)


# Modules in every stage's code: the cache (how an output is written and read back) and the
# runner, which decides what each stage is given (its arguments, the ``sources`` lambda,
# ``embed_stage``'s choice of fused or plain embedding), though no stage imports it.
EVERY_STAGE = ("cache.py", "runner.py")
# Modules a stage's output comes from that its own module does not import: runner.py hands
# them to the stage.
WIRED_IN = {
    "embed": ("mapping",),  # with a taxonomy, embed_stage embeds through mapping.embed_and_match_tokens
    "cluster": ("embed",),  # keywords embedded with the run's embedder (clustering.representation)
}


def stage_files(stage: str) -> set[Path]:
    """The files whose code makes ``stage``'s output (a module's name, as ``StageCache.key``
    takes it): its module and those runner.py wires into it, every module of the package they
    import, and EVERY_STAGE. A stage without a module of its own: the whole package."""
    seen: set[Path] = set()
    for module in (stage, *WIRED_IN.get(stage, ())):
        _module_files(PACKAGE / f"{module}.py", seen)
    if not seen:
        return set(PACKAGE.rglob("*.py"))
    return seen | {PACKAGE / name for name in EVERY_STAGE}


@lru_cache(maxsize=None)
def code_version(stage: str) -> str:
    """The pipeline version plus a hash of ``stage_files(stage)``: a code change invalidates
    the entries it could affect, so a cached output always comes from the code that runs now."""
    digest = hashlib.sha256(f"{__version__}:{FORMAT}".encode())
    for path in sorted(stage_files(stage)):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_dir(configured: str) -> Path:
    """``cache.dir``, unless the environment variable THEMES_CACHE_DIR names another folder."""
    return Path(os.environ.get(CACHE_ENV) or configured).expanduser()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_digest(paths: list[str | Path]) -> str | None:
    """A hash of every file under ``paths`` (names and contents); a missing path is named as
    missing, so the stage runs and reports it. None when a file cannot be read."""
    try:
        return _files_digest(paths)
    except OSError:
        return None


def _files_digest(paths: list[str | Path]) -> str:
    digest = hashlib.sha256()
    for given in paths:
        root = Path(given)
        digest.update(f"path:{given}\0".encode())
        if root.is_file():
            found = [root]
        elif root.is_dir():
            found = sorted(p for p in root.rglob("*") if p.is_file())
        else:
            digest.update(b"missing\0")
            continue
        for path in found:
            stat = path.stat()
            digest.update(f"{path.relative_to(root) if path != root else path.name}\0{stat.st_size}\0".encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


# -- artifacts <-> plain JSON and .npy ---------------------------------------------------------

_PLAIN = (str, int, float, bool, type(None))


@lru_cache(maxsize=None)
def _field_names(kind: type) -> tuple[str, ...] | None:
    """A dataclass's field names, looked up once per type (None: not a dataclass)."""
    return tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None


def _encode(value: Any, arrays: list[np.ndarray]) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # most values: asked first, and by exact type, as a run writes 100,000s of them
        return value
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__npy__": len(arrays) - 1}
    names = _field_names(kind)
    if names is not None:
        return {name: _encode(getattr(value, name), arrays) for name in names}
    if isinstance(value, (list, tuple)):
        return [_encode(item, arrays) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode(item, arrays) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(kind: Any, value: Any, arrays: list[np.ndarray]) -> Any:
    return _decoder(kind)(value, arrays)


@lru_cache(maxsize=None)
def _decoder(kind: Any) -> Callable[[Any, list[np.ndarray]], Any]:
    """A function that rebuilds a value of type ``kind`` from its JSON form, made once per
    type: a cached run reads tens of thousands of segments, and asking the type system about
    every one of them took longer than reading the files."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        build = _decoder(options[0]) if len(options) == 1 else (lambda value, arrays: value)
    elif dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        # JSON already gives str, bool, int and float fields as they are: only the others
        # (tuples, nested artifacts, arrays) are converted.
        fields = {name: _decoder(hint) for name, hint in hints.items() if hint not in (str, bool, int, float)}
        names = set(hints)
        # An entry holds every field, as written by ``_encode``: its object is rebuilt as pickle
        # does, by filling its __dict__ (a frozen dataclass's __init__ sets each field through
        # object.__setattr__, three times slower on the 10,000s of segments a rerun reads).
        restorable = not hasattr(kind, "__post_init__") and not hasattr(kind, "__slots__")

        def build(value, arrays):
            converted = value | {name: fields[name](value[name], arrays) for name in fields if name in value}
            if restorable and converted.keys() == names:
                rebuilt = object.__new__(kind)
                rebuilt.__dict__.update(converted)
                return rebuilt
            return kind(**converted)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item_of = _decoder(args[0])
        build = ((lambda value, arrays: tuple(value)) if args[0] is str else
                 (lambda value, arrays: tuple(item_of(item, arrays) for item in value)))
    elif origin is tuple:
        items = [_decoder(a) for a in args]

        def build(value, arrays):
            return tuple(item(v, arrays) for item, v in zip(items, value))
    elif origin is list:
        item_of = _decoder(args[0])
        build = ((lambda value, arrays: list(value)) if args[0] is str else
                 (lambda value, arrays: [item_of(item, arrays) for item in value]))
    elif origin is dict:
        key_of, item_of = _decoder(args[0]), _decoder(args[1])

        def build(value, arrays):
            return {key_of(key, arrays): item_of(item, arrays) for key, item in value.items()}
    elif kind in (int, float):
        def build(value, arrays):
            return kind(value) if isinstance(value, str) else value
    else:
        def build(value, arrays):
            return value

    def decode(value, arrays):
        if value is None:
            return None
        if type(value) is dict and len(value) == 1 and "__npy__" in value:
            return arrays[value["__npy__"]]
        return build(value, arrays)

    return decode


def to_files(value: Any) -> dict[str, bytes]:
    """An artifact -> the files of a cache entry (deterministic bytes)."""
    arrays: list[np.ndarray] = []
    document = json.dumps(_encode(value, arrays), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    files = {VALUE: document.encode("utf-8")}
    for i, array in enumerate(arrays):
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        files[f"array-{i}.npy"] = buffer.getvalue()
    return files


def from_files(kind: Any, files: dict[str, bytes]) -> Any:
    arrays = []
    i = 0
    while f"array-{i}.npy" in files:
        arrays.append(np.load(io.BytesIO(files[f"array-{i}.npy"]), allow_pickle=False))
        i += 1
    return _decode(kind, json.loads(files[VALUE].decode("utf-8")), arrays)


def digest_of(files: dict[str, bytes]) -> str:
    """One hash over an entry's files: the output's identity for the stages downstream."""
    return _digest_of_hashes({name: sha256_bytes(data) for name, data in files.items()})


def _digest_of_hashes(hashes: dict[str, str]) -> str:
    """``digest_of`` from the files' own sha256 hashes."""
    digest = hashlib.sha256()
    for name in sorted(hashes):
        digest.update(name.encode() + b"\0" + hashes[name].encode() + b"\0")
    return digest.hexdigest()


# -- the cache -----------------------------------------------------------------------------------

class Result:
    """A stage's output, its content hash (for the stages downstream) and whether it came from
    the cache. ``decode``: the output is read only when first asked for (see ``load``)."""

    def __init__(self, value: Any, digest: str, cached: bool, decode: Callable[[], Any] | None = None):
        self._value, self.digest, self.cached, self._decode = value, digest, cached, decode

    @property
    def value(self) -> Any:
        if self._decode is not None:
            decode, self._decode = self._decode, None
            self._value = decode()
        return self._value


class StageCache:
    """Stores and finds stage outputs. ``root`` None switches it off (outputs are still hashed
    so downstream keys stay the same); ``warn`` receives one line when it must stop caching."""

    def __init__(self, root: Path | None, warn: Callable[[str], None] | None = None):
        self.root = Path(root) if root is not None else None
        self.warn = warn or (lambda message: None)
        self.notes: list[str] = []
        self._writable = True
        self._readable = True

    def key(self, stage: str, inputs: dict[str, str], sections: dict[str, Any], module: str | None = None) -> str:
        """sha256 over the stage name, its inputs' hashes, its config sections (as sorted
        JSON), the version of its code (``module``, default: the module named as the stage),
        the versions of the libraries it uses and, for a stage whose numbers depend on the
        processor, the kind of machine."""
        document = {"stage": stage, "inputs": inputs, "code": code_version(module or stage),
                    "libraries": library_versions(stage),
                    "config": {name: _config_json(section) for name, section in sections.items()}}
        if stage in MACHINE_STAGES:
            document["machine"] = machine()
        return sha256_bytes(json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8"))

    def _entry(self, stage: str, key: str) -> Path:
        return self.root / stage / key[:2] / key

    def load(self, stage: str, key: str, kind: Any, recompute: Callable[[], Any] | None = None) -> Result | None:
        """The entry under ``key``, its files checked against their hashes; None when there is
        none or it is damaged (then removed). With ``recompute`` the value is decoded only when
        first asked for, so an output no later stage needs is never read (a rerun's
        transcripts); an entry that cannot be decoded then is removed and ``recompute()``
        gives the value."""
        if self.root is None or not self._readable:
            return None
        entry = self._entry(stage, key)
        try:
            hashes = _read_index(entry, key)
            files = _read_files(entry, hashes)
        except FileNotFoundError:  # the index: no entry (a listed file missing is damage)
            return None
        except OSError as err:
            if _within_reach(entry):  # the entry's own fault: a file where its folder should be, ...
                return self._reject(stage, entry, "its index cannot be read")
            return self._cannot_read(err)
        except DamagedEntry as damage:
            return self._reject(stage, entry, str(damage))
        digest = _digest_of_hashes(hashes)  # just checked
        if recompute is not None:
            def decode():
                try:
                    return from_files(kind, files)
                except Exception as err:  # a well-hashed entry from an incompatible layout
                    self._reject(stage, entry, f"it cannot be read ({type(err).__name__})")
                    return recompute()
            return Result(None, digest, cached=True, decode=decode)
        try:
            value = from_files(kind, files)
        except Exception as err:  # a well-hashed entry from an incompatible layout
            return self._reject(stage, entry, f"it cannot be read ({type(err).__name__})")
        return Result(value, digest, cached=True)

    def save(self, stage: str, key: str | None, value: Any) -> Result:
        files = to_files(value)
        result = Result(value, digest_of(files), cached=False)
        if self.root is None or key is None or not self._writable:
            return result
        entry = self._entry(stage, key)
        work = None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.tmp-", dir=entry.parent))
            for name, data in files.items():
                (work / name).write_bytes(data)
            listing = {"stage": stage, "key": key, "format": FORMAT,
                       "files": {name: sha256_bytes(data) for name, data in files.items()}}
            # The index is written last: a folder without it is never read.
            (work / ENTRY).write_text(json.dumps(listing, indent=1, sort_keys=True), encoding="utf-8")
            if entry.exists():
                shutil.rmtree(entry, ignore_errors=True)
            os.rename(work, entry)
            work = None
            _remove_stale_work(entry)
        except OSError as err:
            self._writable = False
            self._say(f"cache: cannot write to {self.root} ({err.strerror or err}); "
                      "this run recomputes and caches nothing more")
        finally:
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
        return result

    def _cannot_read(self, err: OSError) -> None:
        """The cache folder itself cannot be read: no entry is damaged, so none is removed;
        said once, and the cache is left alone for the rest of the run."""
        self._readable = self._writable = False
        self._say(f"cache: cannot read or write {self.root} ({err.strerror or err}); "
                  "this run recomputes and caches nothing more")

    def _reject(self, stage: str, entry: Path, why: str) -> None:
        self._say(f"cache: the {stage} entry {entry.name[:12]} is damaged ({why}); recomputing it")
        _remove(entry, ignore_errors=True)  # a file where its folder should be goes too: else damaged for good
        return None

    def _say(self, message: str) -> None:
        self.notes.append(message)
        self.warn(message)


class DamagedEntry(Exception):
    """An entry that cannot be trusted; the message says why, for the warning."""


_HASH = re.compile(r"[0-9a-f]{64}")


def _read_index(entry: Path, key: str) -> dict[str, str]:
    """The entry's ``{file name: sha256}`` from its ``entry.json``, which must be what ``save``
    writes: JSON, an object, under ``key``, listing ``value.json`` and only plain file names
    of the entry's own folder with a sha256 each. Anything else (edited, truncated, written by
    another layout) raises DamagedEntry, never an error of its own; a missing index raises
    FileNotFoundError (no entry), one that cannot be read another OSError."""
    try:
        listing = json.loads((entry / ENTRY).read_text(encoding="utf-8"))
    except ValueError:  # not UTF-8, not JSON
        raise DamagedEntry("its index cannot be read") from None
    if not isinstance(listing, dict) or not _is_file_list(listing.get("files")):
        raise DamagedEntry("its index is not a list of its files and their hashes")
    if listing.get("key") != key:
        raise DamagedEntry("its key does not match")
    return listing["files"]


def _is_file_list(files: Any) -> bool:
    """``files`` of an index: a mapping of file names to hex sha256s, value.json among them."""
    return (isinstance(files, dict) and VALUE in files and all(map(_is_file_name, files))
            and all(isinstance(digest, str) and _HASH.fullmatch(digest) for digest in files.values()))


def _is_file_name(name: Any) -> bool:
    """A name of a file in the entry's own folder: a path (``..``, ``a/b``, ``/etc/x``) would
    read outside it, and a NUL raises ValueError where an OSError is handled."""
    return (isinstance(name, str) and name not in ("", ".", "..")
            and not any(c in name for c in ("/", os.sep, "\0")))


def _read_files(entry: Path, hashes: dict[str, str]) -> dict[str, bytes]:
    """The entry's files, each checked against its hash (DamagedEntry if one is missing or differs)."""
    try:
        files = {name: (entry / name).read_bytes() for name in hashes}
    except OSError:
        raise DamagedEntry("a file is missing") from None
    bad = [name for name, data in files.items() if sha256_bytes(data) != hashes[name]]
    if bad:
        raise DamagedEntry(f"{', '.join(bad)} does not match its hash")
    return files


def _within_reach(entry: Path) -> bool:
    """Whether the folders that hold ``entry`` can be searched, so that a failure to read it is
    the entry's own, not the cache folder's (a file where the cache folder, a stage's folder or
    a shard should be: NotADirectoryError; a folder this user may not search: PermissionError)."""
    try:
        entry.lstat()
    except FileNotFoundError:  # gone meanwhile (another run removed it): the folders are fine
        return True
    except OSError:
        return False
    return True


def _config_json(section: Any) -> Any:
    if hasattr(section, "model_dump"):
        return section.model_dump(mode="json")
    return section


_SHARD = re.compile(r"[0-9a-f]{2}")
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}")
_WORK_NAME = re.compile(r"\.[0-9a-f]{12}\.tmp-.+")


def clear(root: Path) -> int:
    """Remove every entry (and half-written folder) under ``root``, a cache folder; returns
    how many entries were removed. Only what the cache writes is touched (``STAGE/xx/KEY/`` and
    ``STAGE/xx/.KEY.tmp-*``, and the folders holding them once empty), nothing else there: a
    cache folder set to a project's own folder loses none of its files."""
    root = Path(root)
    removed = 0
    for stage in STAGES:
        folder = root / stage
        if not folder.is_dir() or folder.is_symlink():
            continue
        for shard in folder.iterdir():
            if not _SHARD.fullmatch(shard.name) or not shard.is_dir() or shard.is_symlink():
                continue
            for item in shard.iterdir():
                if _ENTRY_NAME.fullmatch(item.name) or _WORK_NAME.fullmatch(item.name):
                    # A complete entry (its index in a folder of its own) counts as removed.
                    removed += bool(_ENTRY_NAME.fullmatch(item.name) and not item.is_symlink()
                                    and (item / ENTRY).is_file())
                    _remove(item)
            _remove_if_empty(shard)
        _remove_if_empty(folder)
    return removed


# A half-written entry older than this was left by a killed run (a live one writes in seconds).
STALE_WORK_SECONDS = 3600


def _remove_stale_work(entry: Path) -> None:
    """Remove the half-written copies of ``entry`` that killed runs left beside it: they hold
    what the stage read (transcript text, for the first stages) and nothing reads them."""
    now = time.time()
    for work in entry.parent.glob(f".{entry.name[:12]}.tmp-*"):
        try:
            if now - work.stat().st_mtime > STALE_WORK_SECONDS:
                shutil.rmtree(work, ignore_errors=True)
        except OSError:
            pass


def _remove(path: Path, ignore_errors: bool = False) -> None:
    """An entry's folder, whole; a file or a link where one should be (a damaged entry), itself."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=ignore_errors)
        return
    try:
        path.unlink()
    except OSError:
        if not ignore_errors:
            raise


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # something else is in it: kept


def keep_compiled_code() -> None:
    """Ask numba to keep UMAP's compiled functions on disk. UMAP marks few of them
    ``cache=True``, so every process spent about 25 s of CPU compiling them on its first call;
    kept (next to the library, as numba does for the functions that ask), the next process
    loads them in about a second. Compiled code never changes results. Call before UMAP is
    imported; later calls do nothing."""
    import sys
    import warnings

    if "umap" in sys.modules:
        return
    import numba

    def caching(original):
        def decorate(*args, **kwargs):
            kwargs.setdefault("cache", True)
            return original(*args, **kwargs)
        return decorate

    warnings.filterwarnings("ignore", message=r"(?s).*[Cc]annot cache compiled function")
    njit, jit = numba.njit, numba.jit
    numba.njit, numba.jit = caching(njit), caching(jit)
    try:
        import umap  # noqa: F401  (its functions are decorated as it is imported)
    finally:
        numba.njit, numba.jit = njit, jit


if __name__ == "__main__":  # `make setup`: compile UMAP's functions once for this machine
    import time

    import numpy as np

    started = time.perf_counter()
    keep_compiled_code()
    from umap import UMAP

    points = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    UMAP(n_neighbors=15, n_components=5, metric="cosine", random_state=0, low_memory=True, n_jobs=1,
         init="spectral").fit_transform(points)
    print(f"compiled code ready ({time.perf_counter() - started:.0f} s)")
