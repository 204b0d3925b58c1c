"""Hostile input: every file in tests/fixtures/bad/ gives its one-line message and exit code 2 —
no traceback, no hang."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

from conftest import FIXTURES, ROOT

BAD = FIXTURES / "bad"
EXPECTED = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
CASES = sorted(p.name for p in BAD.iterdir() if "__" in p.name)


def command_for(name: str, path: Path, tmp_path: Path) -> list[str]:
    kind = name.split("__", 1)[0]
    out = ["--out", str(tmp_path / "run")]
    if kind == "input":
        return ["run", "--input", str(path), *out]
    if kind == "config":
        return ["run", "--config", str(path), "--input", str(FIXTURES / "small"), *out]
    if kind == "taxonomy":
        return ["run", "--taxonomy", str(path), "--input", str(FIXTURES / "small"), *out]
    raise AssertionError(f"unknown kind of bad input: {name}")


def invoke(args: list[str], seconds: int = 60):
    def timeout(*_):
        raise TimeoutError(f"themes {' '.join(args)} took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    try:
        return CliRunner().invoke(app, args, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_corpus_is_large_and_fully_described():
    assert len(CASES) >= 50
    assert sorted(EXPECTED) == CASES


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gives_one_clean_line(name, tmp_path):
    result = invoke(command_for(name, BAD / name, tmp_path))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    assert errors[0].startswith(f"error: {BAD / name}"), errors[0]  # names the file
    assert EXPECTED[name] in errors[0], errors[0]
    assert not (tmp_path / "run").exists()


def test_symlink_loop_in_input_folder(tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / "a.txt").write_text("User 1: I waited a long time for help.\nNurse 1: I know.\n")
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "self.txt").symlink_to(folder / "self.txt")
    result = invoke(["speakers", str(folder)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def test_zip_bomb_memory_is_bounded():
    """The 1 GiB docx bomb is refused without inflating it: the process stays under 1 GiB."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from pipeline.ingest import ingest\n"
        "from pipeline.errors import ThemesError\n"
        "try:\n"
        f"    ingest([{str(BAD / 'input__zip_bomb.docx')!r}])\n"
        "except ThemesError as err:\n"
        "    print(err)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "input__zip_bomb.docx" in result.stdout
