"""Which decision store each command uses: the one a run was made with, found from any folder,
unless --config or $THEMES_DECISIONS names another."""

import json
import os

from conftest import themes, write_review_run

GROUPS = {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)}


def test_commands_on_a_run_folder_use_the_store_the_run_was_made_with_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("THEMES_DECISIONS", raising=False)
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "study").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(project)  # decisions.path is relative to the folder a run starts from
    run = write_review_run(project / "runs" / "study1", GROUPS,
                           overrides={"decisions": {"path": "study/decisions.jsonl"}})
    store = (project / "study" / "decisions.jsonl").resolve()
    assert json.loads((run / "manifest.json").read_text())["decision_store"] == "../../study/decisions.jsonl"

    store.write_text("")  # the store exists (a run never creates it)
    result = themes("decide", run, 0, "--accept", cwd=elsewhere)
    assert result.returncode == 0 and f"(saved to {store})" in result.stdout, result.stderr
    assert store.is_file() and not (elsewhere / "decisions").exists()
    assert "Accepted codes (1)" in themes("codebook", run, cwd=elsewhere).stdout
    assert "1 of 3 clusters decided" in themes("decisions", "show", "--run", run, cwd=elsewhere).stdout
    result = themes("export", run, "--format", "codebook-md", "--out", elsewhere / "book.md", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"codebook-md: {elsewhere / 'book.md'}: a codebook of 30 codes and groups, 1 of them used (in 1 cluster)"

    other = tmp_path / "other.jsonl"  # --config still chooses another store
    (tmp_path / "other.yaml").write_text(f"decisions:\n  path: {other}\n")
    assert "Accepted codes (0)" in themes("codebook", run, "--config", tmp_path / "other.yaml", cwd=elsewhere).stdout
    result = themes("codebook", run, cwd=elsewhere, env={**os.environ, "THEMES_DECISIONS": str(other)})
    assert "Accepted codes (0)" in result.stdout


def test_a_copied_project_uses_its_own_store_and_a_recorded_path_is_never_created(tmp_path, monkeypatch):
    import shutil

    monkeypatch.delenv("THEMES_DECISIONS", raising=False)
    original = tmp_path / "projB"
    (original / "decisions").mkdir(parents=True)
    (original / "decisions" / "decisions.jsonl").write_text("")
    monkeypatch.chdir(original)
    write_review_run(original / "runs" / "default", GROUPS)
    copy = tmp_path / "projC"
    shutil.copytree(original, copy)
    result = themes("decide", copy / "runs" / "default", 1, "--reject", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (copy / "decisions" / "decisions.jsonl").read_text().count("\n") == 1
    assert (original / "decisions" / "decisions.jsonl").read_text() == ""

    # A manifest naming a store that does not exist is not followed: the config's store is used.
    manifest = copy / "runs" / "default" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["decision_store"] = "../../../elsewhere/planted.jsonl"
    (tmp_path / "elsewhere").mkdir()
    manifest.write_text(json.dumps(data))
    result = themes("decide", copy / "runs" / "default", 2, "--reject", cwd=copy)
    assert result.returncode == 0 and not (tmp_path / "elsewhere" / "planted.jsonl").exists()
    assert (copy / "decisions" / "decisions.jsonl").read_text().count("\n") == 2
