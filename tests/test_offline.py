"""Offline, proven: the pipeline runs with every outbound connection blocked and tries none."""

import json
import os
import stat
import subprocess
import sys
import urllib.request

import pytest

from conftest import FIXTURES, ROOT, start_review, stop_review, themes

pytestmark = pytest.mark.e2e


def guarded_env(log):
    env = dict(os.environ)
    # Make sure nothing from the caller's environment switches the libraries offline for us:
    # the CLI must do it itself.
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.pop(var, None)
    env["PYTHONPATH"] = str(ROOT / "tests" / "netguard")
    env["NETGUARD_LOG"] = str(log)
    return env


def test_guard_blocks_and_records(tmp_path):
    log = tmp_path / "net.log"
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=guarded_env(log), check=True)
    assert "192.0.2.1" in log.read_text()


def test_run_review_and_export_use_no_network(tmp_path):
    log = tmp_path / "net.log"
    out = tmp_path / "run"
    env = guarded_env(log)
    env["THEMES_DECISIONS"] = str(tmp_path / "decisions.jsonl")
    env["THEMES_CACHE_DIR"] = str(tmp_path / "cache")
    result = themes("run", "--input", FIXTURES / "small", "--out", out, env=env)
    assert result.returncode == 0, result.stderr
    assert not log.exists(), log.read_text()
    # Everything the run wrote is for its owner only.
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    doctor = themes("doctor", env=env)
    assert doctor.returncode == 0 and "HF_HUB_OFFLINE=1" in doctor.stdout
    assert "int8 model (used)" in doctor.stdout and "scipy" in doctor.stdout

    # Decide, export and review, all behind the same guard.
    clusters = json.loads((out / "clusters.json").read_text())["clusters"]
    assert clusters, "the small fixture should form at least one cluster"
    decided = themes("decide", out, clusters[0]["cluster_id"], "--new", "Sleep", "--definition", "About sleep",
                     env=env)
    assert decided.returncode == 0, decided.stderr
    exported = themes("export", out, "--format", "qdpx", "--out", tmp_path / "project.qdpx", env=env)
    assert exported.returncode == 0, exported.stderr
    assert stat.S_IMODE((tmp_path / "project.qdpx").stat().st_mode) & 0o077 == 0
    review, url = start_review(out, env)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"Content-Security-Policy" in response.read()
    finally:
        stop_review(review)
    assert not log.exists(), log.read_text()
