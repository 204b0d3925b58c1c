"""Crashes: SIGKILL inside each stage and in the middle of decision writes. Afterwards the
earlier run folder is intact, the decision store is readable and holds every acknowledged
decision, and the next run succeeds."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.decisions import load_decisions

from conftest import FIXTURES, ROOT, THEMES

pytestmark = pytest.mark.e2e

SMALL = FIXTURES / "small" / "short_meeting.txt"
# The non-TTY log prints "<stage>: ..." when a stage ends; killing right then lands in the next
# stage (segment, embed, cluster, mapping, writing the run folder).
KILL_AFTER = ["ingest:", "segment:", "embed:", "cluster:", "mapping:"]


def folder_digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def env_for(tmp_path):
    env = dict(os.environ)
    env["THEMES_CACHE_DIR"] = str(tmp_path / "cache")
    env["THEMES_DECISIONS"] = str(tmp_path / "decisions.jsonl")
    return env


def run_cli(args, env, kill_after=None):
    process = subprocess.Popen([*THEMES, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if kill_after and line.startswith(kill_after):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=600)
    return process.returncode, "".join(seen)


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("crash")
    out = tmp_path / "runs" / "study"
    code, log = run_cli(["run", "--input", SMALL, "--out", out], env_for(tmp_path))
    assert code == 0, log
    return tmp_path, out


def test_kill_inside_each_stage_keeps_earlier_run(earlier_run):
    tmp_path, out = earlier_run
    before = folder_digest(out)
    # A different clustering config, so a finished run would really change the folder.
    config = tmp_path / "changed.yaml"
    config.write_text("clustering:\n  umap_n_neighbors: 7\n")
    args = ["run", "--input", SMALL, "--out", out, "--config", config]
    for kill_after in KILL_AFTER:
        code, log = run_cli(args, env_for(tmp_path), kill_after)
        assert code == -signal.SIGKILL, log
        assert folder_digest(out) == before, f"killed after {kill_after!r}"
    # A run killed while it wrote the run folder leaves its temporary folder (transcript text);
    # whether the last kill landed there is chance, so one is planted, as a process now ended.
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    leftover = out.parent / f".study.tmp-{int(ended.stdout)}"
    leftover.mkdir(exist_ok=True)
    (leftover / "segments.csv").write_text("segment_id,text\nshort_meeting.txt#1.1,what was said\n")
    # The next run succeeds (half-written cache entries are ignored or recomputed), replaces the
    # folder and removes every folder the killed runs left beside it.
    code, log = run_cli(args, env_for(tmp_path))
    assert code == 0, log
    assert folder_digest(out) != before and (out / "report.html").is_file()
    assert [p.name for p in out.parent.iterdir()] == ["study"]
    assert f"{leftover.name}" in log


WRITER = """
import sys
from pipeline.decisions import Decision, append_decision
path = sys.argv[1]
for i in range(100000):
    append_decision(path, Decision(cluster_key=f"run:{i}", run="run", cluster_id=i, status="rejected",
                                   memo="x" * 2000, segment_ids=tuple(f"a.txt#{i}.{k}" for k in range(20)),
                                   author="test", timestamp="2026-01-01T00:00:00Z"))
    print(i, flush=True)
"""


@pytest.mark.parametrize("delay", [0.3, 0.7, 1.1])
def test_kill_mid_decision_write_loses_no_acknowledged_decision(tmp_path, delay):
    store = tmp_path / "decisions.jsonl"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(store)], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    acknowledged = []
    started = time.monotonic()
    for line in process.stdout:
        acknowledged.append(int(line))
        if time.monotonic() - started > delay and len(acknowledged) >= 5:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    # Lines printed after the kill was sent may still be in the pipe: all of them were acknowledged.
    acknowledged += [int(line) for line in process.stdout.read().split()]
    kept = {d.cluster_id for d in load_decisions(store)}
    assert set(acknowledged) <= kept


def test_ctrl_c_leaves_at_once_even_with_worker_threads_still_running(tmp_path):
    """Ctrl-C while native worker threads (onnxruntime's) are busy: the process ends with its
    one line and code 130 instead of finalizing the interpreter under them. A Python thread
    that would hold a normal exit stands in for them here."""
    script = (
        "import sys, threading, time\n"
        "from pipeline import cli, ingest\n"
        "threading.Thread(target=time.sleep, args=(3600,)).start()\n"
        "def interrupted(*args, **kwargs):\n"
        "    raise KeyboardInterrupt\n"
        "ingest.ingest = interrupted\n"
        f"sys.argv = ['themes', 'speakers', {str(FIXTURES)!r}]\n"
        "cli.main()\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 130
    assert result.stderr.strip().splitlines()[-1].startswith("error: interrupted; nothing is left half-written")


def test_ctrl_c_while_the_command_line_loads_is_one_line():
    """The entry point catches a Ctrl-C during the imports, before cli's own handler exists."""
    script = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def slow(name, *args, **kwargs):\n"
        "    if name == 'typer':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = slow\n"
        "from pipeline.entry import main\n"
        "sys.argv = ['themes', '--help']\n"
        "main()\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: interrupted before anything was read or written"
