"""End to end: the real CLI and the real embedding model on the shipped sample."""

import csv
import json

import pytest

from pipeline.config import TAXONOMY_DIR
from pipeline.taxonomy import load_taxonomy

from conftest import FIXTURES, SAMPLE, themes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "sample"
    result = themes("run", "--input", SAMPLE, "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"report: {out / 'report.html'}" in result.stdout
    (out / "run.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return out


def test_run_folder_contract(sample_run):
    for name in ("segments.csv", "clusters.json", "report.html", "config.yaml", "manifest.json"):
        assert (sample_run / name).is_file(), name
    with open(sample_run / "segments.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    required = {"segment_id", "source", "turn_id", "speaker", "role", "text", "cluster_id", "code_id",
                "code_score", "suggestions"}
    assert required <= set(rows[0])
    leaves = {leaf.id for leaf in load_taxonomy(TAXONOMY_DIR / "nakanishi2021.yaml").leaves}
    roles = {row["speaker"]: row["role"] for row in rows}
    assert roles["User 3"] == "user" and roles["Nurse 1"] == "professional"
    assert roles["Facilitator 2"] == "facilitator"
    assert all(row["cluster_id"] == "-1" for row in rows if row["role"] == "facilitator")
    for row in rows:
        suggestions = json.loads(row["suggestions"])
        assert [s["code_id"] for s in suggestions][:1] == ([row["code_id"]] if row["code_id"] else [])
        assert all(s["code_id"] in leaves for s in suggestions)
        scores = [s["score"] for s in suggestions]
        assert scores == sorted(scores, reverse=True)

    document = json.loads((sample_run / "clusters.json").read_text())
    clusters = document["clusters"]
    assert len(clusters) >= 5
    ids = {row["segment_id"] for row in rows}
    for c in clusters:
        assert c["size"] == len(c["members"]) > 0
        assert c["keywords"]
        assert set(c["segment_ids"]) <= set(c["members"]) <= ids
        assert sum(c["role_counts"].values()) == c["size"]
        assert all(s["code_id"] in leaves for s in c["suggestions"])
    assert any(c["suggestions"] for c in clusters)
    for c in clusters:  # codes that came closest are kept only where nothing fits, all below the line
        assert not (c["suggestions"] and c["closest"])
        assert all(s["code_id"] in leaves and s["score"] < document["threshold"] for s in c["closest"])
    suggested = sum(1 for c in clusters if c["suggestions"])
    mappable = [row for row in rows if row["backchannel"] == "0"]
    with_one = sum(1 for row in mappable if row["code_id"])
    assert (f"mapping: nakanishi2021, {with_one} of {len(mappable)} segments with a suggestion; {suggested} of "
            f"{len(clusters)} clusters with a suggestion; {len(clusters) - suggested} candidate new theme"
            ) in (sample_run / "run.log").read_text()

    manifest = json.loads((sample_run / "manifest.json").read_text())
    assert len(manifest["inputs"]) == 5 and all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert set(manifest["stage_seconds"]) >= {"ingest", "segment", "embed", "cluster", "mapping"}
    assert manifest["embedder"]["backend"] == "onnx-int8" and manifest["embedder"]["device"] == "cpu"
    assert manifest["machine"]["arch"] and "onnxruntime" in manifest["versions"] and "numba" in manifest["versions"]


def test_report_is_self_contained(sample_run):
    html = (sample_run / "report.html").read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "Cluster 0" in html and "Representative quotes" in html


def test_small_transcript_runs(tmp_path):
    out = tmp_path / "small"
    result = themes("run", "--input", FIXTURES / "small" / "short_meeting.txt", "--out", out)
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").is_file()


def test_quotes_table_with_a_teams_own_codebook(tmp_path):
    """The documented contract for coded excerpts: a table of quotes, its text column named on
    the command line, mapped to a codebook kept as a spreadsheet."""
    quotes = tmp_path / "quotes.csv"
    with open(quotes, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "quote"])
        for i, text in enumerate(["I waited eight months for my first appointment.",
                                  "The nurse was kind and took time to listen to me.",
                                  "Nobody gave me any information about my treatment or what the medication was for."] * 4):
            writer.writerow([i, text])
    codebook = tmp_path / "team codebook.csv"
    codebook.write_text("code,definition,group\n"
                        "Waiting,Long waits for appointments or referrals,Access\n"
                        "Staff attitude,Whether staff were kind and listened,Care\n"
                        "Information,Being told about treatment and medication,Care\n", encoding="utf-8")
    out = tmp_path / "run"
    result = themes("run", "--input", quotes, "--text-column", "quote", "--taxonomy", codebook, "--out", out,
                    "--no-cache")
    assert result.returncode == 0, result.stderr
    with open(out / "segments.csv", newline="", encoding="utf-8") as handle:
        firsts = [row["code_id"] for row in csv.DictReader(handle)][:3]
    assert firsts == ["access.waiting", "care.staff_attitude", "care.information"]
    assert json.loads((out / "clusters.json").read_text(encoding="utf-8"))["taxonomy"] == "team_codebook"
