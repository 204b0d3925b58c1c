"""The stage cache: keys, entries checked by hash, a cache that cannot be written, and a rerun
that recomputes only what changed."""

import errno
from pathlib import Path

import numpy as np
import pytest

from pipeline.artifacts import Cluster, Clustering, Mapping, Segment, Suggestion, Transcript, Turn
import pipeline.cache
import pipeline.runner
from pipeline.cache import (StageCache, clear, code_version, digest_of, files_digest, from_files,
                            installed_version, installed_versions, library_versions, to_files)
from pipeline.config import load_config

from conftest import FIXTURES, FakeEmbedder, themes


class NamedFakeEmbedder(FakeEmbedder):
    """A fake embedder the cache may identify, counting the texts it embeds."""

    fingerprint = "fake-v1"

    def __init__(self):
        self.calls = 0

    def encode(self, texts, progress=None):
        self.calls += 1
        return super().encode(texts, progress)


def test_artifacts_round_trip_exactly():
    transcript = Transcript("a.txt", "/in/a.txt", "User 1: Hi there.", (
        Turn(1, "User 1", "Hi there.", 8, 17, 1, "00:00:01", ("id=3",), ((0, "00:00:01"), (4, "00:00:02"))),),
        ("Title",), "f" * 64)
    clustering = Clustering([Cluster(0, ("a#1.1",), ("hi",), ("a#1.1",), "hi")], {"a#1.1": 0, "a#2.1": -1},
                            ["a#1.1", "a#2.1"], np.array([[0.1, 0.2], [0.3, 1 / 3]], np.float32), ["a note"])
    mapping = Mapping("t", {0: [Suggestion("x.y", 0.123456789, "Y", ("x",), "why", ("a#1.1",))]}, {}, 0.35)
    for value, kind in [((([transcript], ["skipped: b.txt"])), tuple[list[Transcript], list[str]]),
                        ([Segment("a#1.1", "a.txt", 1, "User 1", "user", "Hi there.", 8, 17)], list[Segment]),
                        (clustering, Clustering), (mapping, Mapping),
                        (np.arange(12, dtype=np.float32).reshape(3, 4) / 7, np.ndarray)]:
        files = to_files(value)
        back = from_files(kind, files)
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and np.array_equal(back, value)
        elif isinstance(value, Clustering):
            assert back.coords.tobytes() == value.coords.tobytes()
            assert (back.clusters, back.assignments, back.order, back.notes) == (
                value.clusters, value.assignments, value.order, value.notes)
        else:
            assert back == value
        assert to_files(back) == files  # the bytes, and so the digest, are stable


def test_key_depends_on_stage_inputs_and_config():
    cache = StageCache(None)
    config = load_config()
    base = cache.key("cluster", {"segments": "a"}, {"clustering": config.clustering})
    assert base == cache.key("cluster", {"segments": "a"}, {"clustering": config.clustering})
    assert base != cache.key("cluster", {"segments": "b"}, {"clustering": config.clustering})
    assert base != cache.key("embed", {"segments": "a"}, {"clustering": config.clustering})
    changed = config.clustering.model_copy(update={"min_cluster_size": 9})
    assert base != cache.key("cluster", {"segments": "a"}, {"clustering": changed})
    assert len(code_version("cluster")) == 64 and code_version("cluster") != code_version("ingest")


# The modules runner.py gives to StageCache.key for its stages (a stage's name or ``module=``).
STAGE_MODULES = ("ingest", "segment", "embed", "cluster", "mapping")


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the package's code, which code_version hashes instead of the real one: a test
    edits it as a developer would the real code."""
    import shutil

    copy = tmp_path / "pipeline"
    shutil.copytree(pipeline.cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "templates"))
    monkeypatch.setattr(pipeline.cache, "PACKAGE", copy)
    monkeypatch.setattr(pipeline.cache, "__file__", str(copy / "cache.py"))
    code_version.cache_clear()
    yield copy
    code_version.cache_clear()  # versions of the copy must not outlive it


def _code_versions_after_edit(package: Path, module: str) -> tuple[dict, dict]:
    """Every stage's code version before and after a comment is added to ``module``."""
    before = {stage: code_version(stage) for stage in STAGE_MODULES}
    with open(package / module, "a", encoding="utf-8") as handle:
        handle.write("# a comment\n")
    code_version.cache_clear()
    return before, {stage: code_version(stage) for stage in STAGE_MODULES}


def test_an_edit_to_the_runner_changes_every_stage_code(package_copy):
    """runner.py decides what each stage is given: an entry made by its old code is not reused."""
    before, after = _code_versions_after_edit(package_copy, "runner.py")
    assert [stage for stage in STAGE_MODULES if before[stage] == after[stage]] == []


def test_an_edit_to_a_module_no_stage_runs_keeps_every_stage_cached(package_copy):
    """A comment in the report (or the export, the decisions) recomputed embeddings, UMAP and
    clusters: embed.py imported a file helper from export/, and so all of it."""
    for module in ("report.py", "export/__init__.py", "decisions.py", "review.py"):
        before, after = _code_versions_after_edit(package_copy, module)
        assert [stage for stage in STAGE_MODULES if before[stage] != after[stage]] == [], module
    # ... while the mapping, which the embed stage runs with a taxonomy, still counts for it.
    before, after = _code_versions_after_edit(package_copy, "mapping.py")
    assert before["embed"] != after["embed"] and before["segment"] == after["segment"]


def test_key_depends_on_the_versions_of_the_stage_libraries(monkeypatch):
    import scipy
    import sklearn

    assert library_versions("reduce")["scipy"] == scipy.__version__
    assert library_versions("cluster")["scikit-learn"] == sklearn.__version__
    cache = StageCache(None)
    inputs, sections = {"segments": "a"}, {"clustering": load_config().clustering}
    cluster, ingest = cache.key("cluster", inputs, sections), cache.key("ingest", inputs, sections)
    other = dict(installed_versions(), scipy="0.0.1")
    monkeypatch.setattr(pipeline.cache, "installed_versions", lambda: other)
    assert cache.key("cluster", inputs, sections) != cluster  # another SciPy: recomputed
    assert cache.key("ingest", inputs, sections) == ingest  # reading files does not use it


def test_a_cache_copied_to_another_kind_of_machine_is_not_taken_for_its_own(monkeypatch):
    """The same versions draw other clusters on another processor (BLAS kernel, NumPy's SIMD
    loops, numba's target): those stages' entries are kept per kind of machine."""
    cache = StageCache(None)
    inputs, sections = {"segments": "a"}, {"clustering": load_config().clustering}
    stages = ("embed", "reduce", "tree", "cluster", "match", "segment", "ingest")
    here = {stage: cache.key(stage, inputs, sections) for stage in stages}
    assert pipeline.cache.machine()["arch"] and pipeline.cache.machine()["blas"]
    other = dict(pipeline.cache.machine(), numba_cpu="haswell")
    monkeypatch.setattr(pipeline.cache, "machine", lambda: other)
    there = {stage: cache.key(stage, inputs, sections) for stage in stages}
    assert [stage for stage in stages if here[stage] != there[stage]] == ["embed", "reduce", "tree", "cluster", "match"]


def test_the_kind_of_machine_does_not_depend_on_what_was_imported_first():
    import subprocess
    import sys

    probe = "import {first}\nfrom pipeline.cache import machine\nprint(machine())"
    seen = {subprocess.run([sys.executable, "-c", probe.format(first=first)], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).resolve().parent.parent).stdout
            for first in ("numpy", "scipy.linalg")}
    assert len(seen) == 1, seen


def test_installed_versions_agree_with_package_metadata():
    import importlib.metadata as md

    for name in ("numpy", "scipy", "scikit-learn", "umap-learn", "sentence-transformers", "PyYAML", "charset_normalizer"):
        assert installed_version(name) == md.version(name), name
    assert installed_version("no-such-package-here") == ""


def test_a_loaded_entry_has_the_digest_it_was_saved_with(tmp_path):
    cache = StageCache(tmp_path)
    value = [Segment("a#1.1", "a.txt", 1, "User 1", "user", "Hi there.", 8, 17)]
    saved = cache.save("segment", "k" * 64, value)
    loaded = cache.load("segment", "k" * 64, list[Segment])
    assert loaded.cached and loaded.value == value and loaded.digest == saved.digest == digest_of(to_files(value))


def test_files_digest_follows_contents(tmp_path):
    (tmp_path / "a.txt").write_text("User 1: one")
    first = files_digest([tmp_path])
    (tmp_path / "a.txt").write_text("User 1: two")
    assert files_digest([tmp_path]) != first
    assert files_digest([tmp_path / "missing"]) != files_digest([tmp_path / "other"])


def _entry_files(root: Path, stage: str) -> list[Path]:
    return sorted(p.parent for p in (root / stage).glob("*/*/entry.json"))


def test_corrupted_entry_is_recomputed_never_trusted(tmp_path):
    warnings = []
    cache = StageCache(tmp_path, warnings.append)
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    saved = cache.save("embed", "k" * 64, value)
    assert cache.load("embed", "k" * 64, np.ndarray).digest == saved.digest
    [entry] = _entry_files(tmp_path, "embed")
    array = entry / "array-0.npy"
    data = bytearray(array.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte in the vectors
    array.write_bytes(bytes(data))
    assert cache.load("embed", "k" * 64, np.ndarray) is None
    assert warnings and "damaged" in warnings[0] and not entry.exists()


@pytest.mark.parametrize("index", [
    '{"files": ["value.json"], "key": KEY}',  # a list, not a mapping
    '{"files": {"value.json": 7}, "key": KEY}',  # a hash that is not a string
    '{"files": {"value.json": null}, "key": KEY}',
    '{"files": {"value.json": ["a"]}, "key": KEY}',
    '{"files": "value.json", "key": KEY}',
    '{"files": {}, "key": KEY}',  # no value.json
    '{"files": {"../value.json": HASH}, "key": KEY}',  # outside the entry
    '{"files": {"value.json\\u0000": HASH}, "key": KEY}',
    '{"files": {"value.json": HASH}, "key": 3}',
    '[]', '"entry"', 'null', '{}',
])
def test_an_index_of_the_wrong_shape_is_a_damaged_entry(tmp_path, index):
    warnings = []
    cache = StageCache(tmp_path, warnings.append)
    cache.save("segment", "f" * 64, [])
    [entry] = _entry_files(tmp_path, "segment")
    value_hash = pipeline.cache.sha256_bytes((entry / "value.json").read_bytes())
    (entry / "entry.json").write_text(index.replace("KEY", f'"{"f" * 64}"').replace("HASH", f'"{value_hash}"'))
    assert cache.load("segment", "f" * 64, list[Segment]) is None  # no traceback
    assert len(warnings) == 1 and "segment entry ffffffffffff is damaged" in warnings[0], warnings
    assert not entry.exists()
    cache.save("segment", "f" * 64, [])  # recomputed and cached again
    assert cache.load("segment", "f" * 64, list[Segment]).value == []


def test_half_written_entry_is_ignored(tmp_path):
    cache = StageCache(tmp_path)
    cache.save("segment", "a" * 64, [])
    [entry] = _entry_files(tmp_path, "segment")
    (entry / "entry.json").unlink()  # as if the run was killed before the index was written
    assert cache.load("segment", "a" * 64, list[Segment]) is None


def test_unwritable_cache_warns_once_and_still_returns(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    warnings = []
    cache = StageCache(blocker / "cache", warnings.append)
    for key in ("a", "b"):
        result = cache.save("embed", key * 64, np.zeros((1, 2), np.float32))
        assert result.cached is False and result.digest == digest_of(to_files(np.zeros((1, 2), np.float32)))
    assert len(warnings) == 1 and "cannot write" in warnings[0]

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    warnings.clear()
    cache = StageCache(tmp_path / "full", warnings.append)
    cache.save("embed", "c" * 64, np.zeros((1, 2), np.float32))
    assert len(warnings) == 1 and "No space left" in warnings[0]
    assert not list((tmp_path / "full").rglob("*.npy"))  # nothing half-written left behind


def test_a_file_where_the_cache_folder_should_be_is_said_once_not_as_damaged_entries(tmp_path, monkeypatch):
    import pipeline.cluster
    from pipeline.runner import execute

    monkeypatch.delenv("THEMES_CACHE_DIR")
    monkeypatch.setattr(pipeline.cluster, "cluster", quick_cluster)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    config = _config(tmp_path)
    config.cache.dir = str(blocker)
    warned = []
    progress = type("Warned", (pipeline.runner.Progress,), {"warn": lambda self, message: warned.append(message)})()
    outputs = execute(config, embedder=NamedFakeEmbedder(), progress=progress)
    cache_lines = [w for w in warned if w.startswith("cache:")]
    assert len(cache_lines) == 1 and "damaged" not in cache_lines[0], cache_lines
    assert "Not a directory" in cache_lines[0] and set(outputs.cached.values()) == {False}
    assert blocker.read_text() == "x"

    # A file where a stage's folder should be is the cache folder's problem too, said once.
    warnings = []
    cache = StageCache(tmp_path / "cache", warnings.append)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "segment").write_text("x")
    for key in "abc":
        assert cache.load("segment", key * 64, list[Segment]) is None
        cache.save("segment", key * 64, [])
    assert len(warnings) == 1 and "damaged" not in warnings[0], warnings


def _config(tmp_path, **clustering):
    return load_config(overrides={
        "input": {"paths": [str(FIXTURES / "small" / "short_meeting.txt")]}, "taxonomy": "none",
        "cache": {"dir": str(tmp_path / "cache")}, "clustering": clustering,
        "output": {"dir": str(tmp_path / "run")}})


def quick_cluster(segments, embeddings, config):
    """A stand-in for the cluster stage (UMAP's first call is slow; the real stage goes through
    the cache in test_determinism): segment i joins cluster i % min_cluster_size."""
    from pipeline.cluster import chosen_min_cluster_size

    ids = [s.segment_id for s in segments if s.clusterable]
    assignments = {sid: i % chosen_min_cluster_size(config, len(ids)) for i, sid in enumerate(ids)}
    return Clustering([], assignments, ids, np.asarray(embeddings[:len(ids), :2], np.float32))


def test_the_text_column_notice_is_said_once_a_run_also_from_the_cache(tmp_path, monkeypatch):
    import pipeline.cluster
    from pipeline.runner import execute

    monkeypatch.delenv("THEMES_CACHE_DIR")
    monkeypatch.setattr(pipeline.cluster, "cluster", quick_cluster)
    table = tmp_path / "quotes.csv"
    rows = [f"{i},ward {'ab'[i % 2]},Patient {i} said the wait for a bed was {i} weeks long." for i in range(40)]
    table.write_text("id,source,comment\n" + "\n".join(rows) + "\n")
    config = _config(tmp_path)
    config.input.paths = [str(table)]
    warned = []
    progress = type("Warned", (pipeline.runner.Progress,), {"warn": lambda self, message: warned.append(message)})()
    first = execute(config, embedder=NamedFakeEmbedder(), progress=progress)
    again = execute(config, embedder=NamedFakeEmbedder())
    assert again.cached["ingest"] and len(first.sources) == 2  # one transcript per ward
    notice = f"{table}: the text is read from column 'comment'"
    assert [n for n in first.notes if n.startswith(notice)] == [n for n in again.notes if n.startswith(notice)]
    assert len([n for n in first.notes if n.startswith(notice)]) == 1 and warned[0].startswith(notice)


def test_rerun_recomputes_only_what_changed(tmp_path, monkeypatch):
    import pipeline.cluster
    from pipeline.runner import execute, manifest

    monkeypatch.delenv("THEMES_CACHE_DIR")
    monkeypatch.setattr(pipeline.cluster, "cluster", quick_cluster)
    embedder = NamedFakeEmbedder()
    first = execute(_config(tmp_path), embedder=embedder)
    assert first.cached == {"ingest": False, "segment": False, "embed": False, "cluster": False}
    again = execute(_config(tmp_path), embedder=embedder)
    assert set(again.cached.values()) == {True} and embedder.calls == 1
    assert again.clustering.assignments == first.clustering.assignments
    assert np.array_equal(again.embeddings, first.embeddings)

    decoded = []
    real_from_files = pipeline.cache.from_files
    monkeypatch.setattr(pipeline.cache, "from_files", lambda kind, files: decoded.append(kind) or real_from_files(kind, files))
    changed = execute(_config(tmp_path, min_cluster_size=5, selection_method="eom"), embedder=embedder)
    assert changed.cached == {"ingest": True, "segment": True, "embed": True, "cluster": False}
    assert tuple[list[Transcript], list[str]] not in decoded  # segments were cached: transcripts never read
    assert [s.source for s in changed.sources] == [s.source for s in first.sources] and changed.sources[0].turns
    assert embedder.calls == 1
    assert manifest(changed)["cached"]["embed"] is True

    disabled = _config(tmp_path)
    disabled.cache.enabled = False
    assert set(execute(disabled, embedder=embedder).cached.values()) == {False} and embedder.calls == 2


def test_a_lazy_entry_that_cannot_be_decoded_is_recomputed(tmp_path):
    cache = StageCache(tmp_path)
    cache.save("segment", "k" * 64, [Segment("a#1.1", "a.txt", 1, "User 1", "user", "Hi there.", 8, 17)])
    recomputed = []
    hit = cache.load("segment", "k" * 64, dict[str, int], recompute=lambda: recomputed.append(1) or "again")
    assert hit.cached and not recomputed  # nothing decoded yet
    assert hit.value == "again" and recomputed == [1]
    assert "cannot be read" in cache.notes[0] and cache.load("segment", "k" * 64, int) is None  # removed


def test_unidentified_embedder_is_not_cached_but_clustering_is(tmp_path, monkeypatch, fake_embedder):
    import pipeline.cluster
    from pipeline.runner import execute

    monkeypatch.delenv("THEMES_CACHE_DIR")
    monkeypatch.setattr(pipeline.cluster, "cluster", quick_cluster)
    execute(_config(tmp_path), embedder=fake_embedder)
    again = execute(_config(tmp_path), embedder=fake_embedder)
    assert again.cached["embed"] is False and again.cached["cluster"] is True


def test_env_overrides_cache_dir_and_cache_clear(tmp_path, monkeypatch):
    import os

    from pipeline.cache import cache_dir

    env_dir = tmp_path / "from-env"
    monkeypatch.setenv("THEMES_CACHE_DIR", str(env_dir))
    assert cache_dir(".cache/themes") == env_dir
    cache = StageCache(env_dir)
    cache.save("segment", "a" * 64, [])
    cache.save("cluster", "b" * 64, [])
    (env_dir / "unrelated.txt").write_text("kept")
    result = themes("cache", "clear", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "removed 2 entries" in result.stdout
    assert not (env_dir / "segment").exists() and (env_dir / "unrelated.txt").read_text() == "kept"
    assert clear(tmp_path / "never-made") == 0


def test_run_help_offers_no_cache():
    result = themes("run", "--help")
    assert result.returncode == 0 and "--no-cache" in result.stdout


def test_speed_keys_are_documented():
    from pipeline.config import PROJECT_ROOT, CacheConfig

    doc = (PROJECT_ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    keys = [f"cache.{key}" for key in CacheConfig.model_fields] + ["embedding.backend", "clustering.sample_above"]
    for key in keys:
        assert f"`{key}`" in doc, key
    assert "THEMES_CACHE_DIR" in doc and (PROJECT_ROOT / "docs" / "performance.md").is_file()


def test_plain_progress_lines_when_not_a_terminal(capsys):
    from pipeline.cli import ConsoleProgress

    progress = ConsoleProgress()
    progress.tty = False
    progress.start("embed", 2000)
    for _ in range(20):
        progress.advance(100)
    progress.done("embed", "2000 segments")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "embed: 200/2000" and lines[-1] == "embed: 2000 segments"
    assert 9 <= len(lines) <= 11


def test_clear_touches_only_what_the_cache_wrote(tmp_path):
    """A cache folder set to a project's folder: its own folders named like stages stay."""
    cache = StageCache(tmp_path)
    cache.save("segment", "a" * 64, [])
    (tmp_path / "segment" / "notes.txt").write_text("mine")  # beside the cache's own shards
    (tmp_path / "match").mkdir()
    (tmp_path / "match" / "interview_07.txt").write_text("mine")
    (tmp_path / "embed" / "ab").mkdir(parents=True)
    (tmp_path / "embed" / "ab" / ("c" * 64)).write_text("damaged")  # a file where an entry's folder was
    (tmp_path / "embed" / "ab" / (".abcdefabcdef.tmp-x1y2")).mkdir()  # left by a killed run
    assert clear(tmp_path) == 1
    assert (tmp_path / "segment" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "match" / "interview_07.txt").read_text() == "mine"
    assert not (tmp_path / "segment" / ("a" * 64)[:2]).exists() and not (tmp_path / "embed").exists()


def test_a_file_where_an_entry_should_be_is_removed_and_the_stage_cached_again(tmp_path):
    cache = StageCache(tmp_path)
    entry = cache._entry("segment", "d" * 64)
    entry.parent.mkdir(parents=True)
    entry.write_text("not a folder")
    assert cache.load("segment", "d" * 64, list) is None  # damaged: recomputed, and the file goes
    cache.save("segment", "d" * 64, [])
    assert StageCache(tmp_path).load("segment", "d" * 64, list) is not None


def test_a_half_written_entry_left_by_a_killed_run_goes_when_the_entry_is_saved(tmp_path):
    import os
    import time

    cache = StageCache(tmp_path)
    entry = cache._entry("segment", "e" * 64)
    entry.parent.mkdir(parents=True)
    stale, fresh = entry.parent / f".{'e' * 12}.tmp-killed", entry.parent / f".{'e' * 12}.tmp-running"
    stale.mkdir()
    (stale / "segments.json").write_text("transcript text")
    fresh.mkdir()  # another run writing it right now
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    cache.save("segment", "e" * 64, [])
    assert not stale.exists() and fresh.exists()
