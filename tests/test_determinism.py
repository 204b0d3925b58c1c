"""The same inputs and config give byte-identical segments.csv and clusters.json on every run,
with the cache cold, warm or switched off."""

import json

import pytest

from pipeline.config import load_config

from conftest import FIXTURES, FakeEmbedder, themes

SMALL = FIXTURES / "small" / "short_meeting.txt"
OUTPUTS = ("segments.csv", "clusters.json")


class IdentifiedFakeEmbedder(FakeEmbedder):
    fingerprint = "fake-v1"


def test_outputs_identical_with_and_without_cache(tmp_path, monkeypatch):
    from pipeline.runner import execute, write_run

    monkeypatch.delenv("THEMES_CACHE_DIR")
    out = tmp_path / "run"
    config = load_config(overrides={"input": {"paths": [str(SMALL)]}, "taxonomy": "none",
                                    "clustering": {"min_cluster_size": 3, "min_samples": 1},
                                    "cache": {"dir": str(tmp_path / "cache")}, "output": {"dir": str(out)}})
    seen = []
    for enabled in (False, True, True):  # no cache, cold cache, warm cache
        config.cache.enabled = enabled
        outputs = execute(config, embedder=IdentifiedFakeEmbedder())
        write_run(outputs, out)
        seen.append({name: (out / name).read_bytes() for name in OUTPUTS})
        seen[-1]["cached"] = outputs.cached
    assert seen[0]["segments.csv"] == seen[1]["segments.csv"] == seen[2]["segments.csv"]
    assert seen[0]["clusters.json"] == seen[1]["clusters.json"] == seen[2]["clusters.json"]
    assert json.loads(seen[0]["clusters.json"])["clusters"], "the fixture should form clusters"
    assert set(seen[1]["cached"].values()) == {False} and set(seen[2]["cached"].values()) == {True}


@pytest.mark.e2e
def test_cli_rerun_is_identical_and_cached(tmp_path):
    out = tmp_path / "run"
    first = themes("run", "--input", SMALL, "--out", out)
    assert first.returncode == 0, first.stderr
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    second = themes("run", "--input", SMALL, "--out", out)
    assert second.returncode == 0, second.stderr
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cached"] == {"ingest": True, "segment": True, "embed": True, "reduce": True, "cluster": True,
                                  "match": True}
    assert "(cached)" in second.stderr


def test_run_id_does_not_depend_on_how_paths_are_spelled(tmp_path, monkeypatch):
    """A relative or absolute path to the same transcript, a shipped taxonomy by name or a copy
    of its file elsewhere: the same run, so the analyst's decisions stay its own."""
    import shutil

    from pipeline.config import resolve_taxonomy_path
    from pipeline.runner import execute, write_run

    copy = tmp_path / "elsewhere" / "codes.yaml"
    copy.parent.mkdir()
    shutil.copy(resolve_taxonomy_path("nakanishi2021"), copy)
    monkeypatch.chdir(SMALL.parent)
    ids = []
    for path, taxonomy in ((SMALL.name, "nakanishi2021"), (str(SMALL), str(copy))):
        config = load_config(overrides={"input": {"paths": [path]}, "taxonomy": taxonomy,
                                        "clustering": {"min_cluster_size": 3, "min_samples": 1}})
        out = tmp_path / "run"
        write_run(execute(config, embedder=IdentifiedFakeEmbedder()), out)
        ids.append(json.loads((out / "clusters.json").read_text(encoding="utf-8"))["run"])
    assert ids[0] == ids[1]


def test_the_order_files_are_given_in_does_not_change_the_run(tmp_path):
    from pipeline.runner import execute, write_run

    sample = FIXTURES.parent.parent / "data" / "transcripts" / "sample"
    files = [str(sample / "meeting_01.txt"), str(sample / "meeting_02.txt"), str(sample / "meeting_03.txt")]
    seen = []
    for paths in (files, files[::-1]):
        config = load_config(overrides={"input": {"paths": paths}, "taxonomy": "none"})
        out = tmp_path / "run"
        write_run(execute(config, embedder=IdentifiedFakeEmbedder()), out)
        seen.append({name: (out / name).read_bytes() for name in OUTPUTS})
    assert seen[0] == seen[1]
    assert json.loads(seen[0]["clusters.json"])["clusters"], "the files should form clusters"
