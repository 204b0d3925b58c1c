"""Offline, proven: the pipeline runs with every outbound connection blocked and tries none."""

import os

import pytest

from conftest import FIXTURES, ROOT, themes

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
    import subprocess
    import sys

    log = tmp_path / "net.log"
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", code], env=guarded_env(log), check=True)
    assert "192.0.2.1" in log.read_text()


def test_run_uses_no_network(tmp_path):
    log = tmp_path / "net.log"
    out = tmp_path / "run"
    result = themes("run", "--input", FIXTURES / "small", "--out", out, env=guarded_env(log))
    assert result.returncode == 0, result.stderr
    assert not log.exists(), log.read_text()
    # Everything the run wrote is for its owner only.
    import stat

    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    doctor = themes("doctor", env=guarded_env(log))
    assert doctor.returncode == 0 and "HF_HUB_OFFLINE=1" in doctor.stdout
    assert not log.exists(), log.read_text()
