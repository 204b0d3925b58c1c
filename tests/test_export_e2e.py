"""End to end on held-out text: real NHS patient feedback (not written by this project) through
`themes run` with the real model, decisions in the store, then `themes export`."""

import csv
import json
import os
import re
import zipfile

import pytest
from lxml import etree

from pipeline.decisions import Decision, append_decision, read_run

from conftest import SHARED_DATA, themes
from fixtures.export.refi import P, schema

pytestmark = pytest.mark.e2e
FEEDBACK = SHARED_DATA / "nhs_feedback_phase1.csv"
SUBCATEGORIES = ("Listening", "Medication", "Time spent waiting for first appt/referral/service")


def feedback_transcript(path):
    """Fifteen critical comments from each of three subcategories, one respondent a turn."""
    with open(FEEDBACK, encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["row_index"]))
    lines, count = ["Feedback comments (held-out sample)"], {s: 0 for s in SUBCATEGORIES}
    for row in rows:
        text = " ".join(row["feedback"].split())
        if row["subcategory"] in count and count[row["subcategory"]] < 15 and 8 <= len(text.split()) <= 80 \
                and int(row["criticality"]) < 0:
            count[row["subcategory"]] += 1
            lines.append(f"Patient {len(lines)}: {text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def decided_run(tmp_path_factory):
    if not FEEDBACK.is_file():
        pytest.skip(f"{FEEDBACK} is not here")
    root = tmp_path_factory.mktemp("held_out")
    feedback_transcript(root / "feedback.txt")
    (root / "config.yaml").write_text("speakers:\n  roles:\n    patient: ['Patient *']\n", encoding="utf-8")
    env = {**os.environ, "THEMES_DECISIONS": str(root / "decisions.jsonl")}
    run = root / "run"
    result = themes("run", "--config", root / "config.yaml", "--input", root / "feedback.txt", "--out", run, env=env)
    assert result.returncode == 0, result.stderr
    folder = read_run(run)
    assert folder.clusters, "the held-out sample formed no clusters"
    first = folder.clusters[0]
    code_id = first["suggestions"][0]["code_id"] if first["suggestions"] else "barrier.safety.lack_of_compassion"
    decisions = [{"status": "accepted", "code_id": code_id, "memo": "Checked against the comments & <kept>."}]
    if len(folder.clusters) > 1:
        decisions.append({"status": "new", "name": "Waiting “too long” for care"})
    for cluster, fields in zip(folder.clusters, decisions):
        append_decision(root / "decisions.jsonl", Decision(
            cluster_key=f"{folder.run}:{cluster['cluster_id']}", run=folder.run, cluster_id=cluster["cluster_id"],
            segment_ids=tuple(cluster["members"]), author="e2e", timestamp="2025-03-03T10:00:00+00:00", **fields))
    return run, env, sum(len(c["members"]) for c in folder.clusters[:len(decisions)])


def test_held_out_qdpx_is_valid_and_cuts_exactly(decided_run, tmp_path):
    run, env, coded = decided_run
    out = tmp_path / "project.qdpx"
    result = themes("export", run, "--format", "qdpx", "--out", out, "--author", "E2E Analyst", env=env)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        project = etree.fromstring(archive.read("project.qde"))
        texts = {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("Sources/")}
    schema("Project.xsd").assertValid(project)
    with open(run / "segments.csv", encoding="utf-8", newline="") as handle:
        segments = {row["segment_id"]: row for row in csv.DictReader(handle)}
    selections = list(project.iter(f"{P}PlainTextSelection"))
    assert len(selections) == coded
    (source,) = project.iter(f"{P}TextSource")
    text = texts["Sources/" + source.get("plainTextPath").removeprefix("internal://")]
    for selection in selections:
        segment = segments[selection.get("name").split(": ", 1)[1]]
        cut = text[int(selection.get("startPosition")):int(selection.get("endPosition"))]
        for marker in json.loads(segment["annotations"] or "[]"):
            cut = cut.replace(marker, "", 1)
        assert " ".join(cut.split()) == segment["text"]
    notes = [n.findtext(f"{P}PlainTextContent") for n in project.iter(f"{P}Note")]
    assert notes == ["Checked against the comments & <kept>."]


def test_held_out_draft_quotes_patients(decided_run, tmp_path):
    run, env, _ = decided_run
    out = tmp_path / "draft.md"
    result = themes("export", run, "--format", "md", "--out", out, env=env)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    quotes = [line for line in text.splitlines() if line.startswith("> ")]
    assert quotes and all(re.fullmatch(r"> “.+” \(Patient \d+\)", q) for q in quotes)
    assert "(patient " in text  # counts by role
