"""Coded segments (CSV, XLSX) and the codebook (CSV, Markdown)."""

import csv

import pytest
from openpyxl import load_workbook

from pipeline.export import export

from fixtures.export.runfolder import accepted, decision_store, make_run, merged, new, rejected  # noqa: F401 (autouse)


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path, {
        0: accepted("barrier.control.disempowerment_symptoms_medication"),
        1: new("Not being heard", "Talk about not being listened to."),
        2: merged(0),
        3: rejected(),
    })


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_coded_segments_csv_one_row_a_segment_and_code(run, tmp_path):
    export(run, "csv", tmp_path / "coded.csv")
    rows = read_csv(tmp_path / "coded.csv")
    assert len(rows) == 4 + 5 + 2
    by_id = {row["segment_id"]: row for row in rows}
    row = by_id["会議 2.txt#5.1"]
    assert row["text"] == "The sleepiness from the pills 💊 means I miss the morning appointments."
    assert (row["speaker"], row["role"], row["source"], row["turn_id"], row["cluster_id"]) == \
        ("User 6", "user", "会議 2.txt", "5", "0")
    assert row["code_id"] == "barrier.control.disempowerment_symptoms_medication"
    assert row["code_path"] == ("Barriers to recovery > Locus of control within oneself > "
                                "Disempowerment owing to symptoms and medication")
    assert row["status"] == "accepted"
    assert by_id["meeting 1.txt#8.1"]["status"] == "merged"
    assert by_id["meeting 1.txt#8.1"]["code_id"] == "barrier.control.disempowerment_symptoms_medication"
    heard = by_id["会議 2.txt#4.1"]
    assert (heard["status"], heard["code"], heard["code_id"]) == ("new", "Not being heard", "new:not being heard")
    assert by_id["meeting 1.txt#2.1"]["text"] == ('I was never asked what I wanted. The doctor said "just take it" '
                                                 '& that was the end of it.')
    assert "meeting 1.txt#7.1" not in by_id  # rejected


def test_xlsx_round_trip_keeps_text_and_never_makes_formulas(tmp_path):
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope"), 3: new("= a number <on> a list & 数")})
    export(run, "xlsx", tmp_path / "coded.xlsx")
    export(run, "csv", tmp_path / "coded.csv")
    workbook = load_workbook(tmp_path / "coded.xlsx")
    assert workbook.sheetnames == ["Coded segments", "Codebook"]
    sheet = workbook["Coded segments"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    expected = read_csv(tmp_path / "coded.csv")
    assert values[0] == list(expected[0])
    assert [[("" if v is None else str(v)) for v in row] for row in values[1:]] == \
        [list(row.values()) for row in expected]
    assert "=1+1 is all we are to them, a number on a list, nothing more." in [row[8] for row in values]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    codebook = [[cell.value for cell in row] for row in workbook["Codebook"].iter_rows()]
    assert ["new:= a number <on> a list & 数", "= a number <on> a list & 数"] in [row[:2] for row in codebook]


def test_codebook_csv_counts_by_role_and_sums_groups(run, tmp_path):
    export(run, "codebook-csv", tmp_path / "codebook.csv")
    rows = {row["code_id"]: row for row in read_csv(tmp_path / "codebook.csv")}
    leaf = rows["barrier.control.disempowerment_symptoms_medication"]
    # Cluster 0 (4 user segments) and merged cluster 2 (1 user, 1 professional).
    assert (leaf["segments"], leaf["clusters"], leaf["segments_user"], leaf["segments_professional"]) == \
        ("6", "2", "5", "1")
    assert leaf["codable"] == "1" and leaf["level"] == "2" and leaf["parent_id"] == "barrier.control"
    assert leaf["definition"].startswith("The illness and its treatment")
    assert rows["barrier"]["segments"] == "6" and rows["barrier"]["codable"] == "0"
    assert rows["barrier.safety.lack_of_compassion"]["segments"] == "0"
    assert rows["new:not being heard"]["parent_id"] == "group:new"
    assert rows["new:not being heard"]["segments_professional"] == "1"
    assert rows["new:not being heard"]["origin"] == "new"
    assert len(rows) == 30 + 1 + 1  # the taxonomy, the new-themes group, one new theme


def test_codebook_markdown(run, tmp_path):
    export(run, "codebook-md", tmp_path / "codebook.md")
    text = (tmp_path / "codebook.md").read_text(encoding="utf-8")
    assert text.startswith("# Codebook: System-level barriers")
    assert "## Barriers to recovery (6 segments)" in text
    assert ("| Disempowerment owing to symptoms and medication | barrier.control.disempowerment_symptoms_medication"
            in text)
    assert "| 2 | 6 | 1 | 5 |" in text  # clusters, segments, professional, user
    assert "## New themes (5 segments)" in text and "| Not being heard | new:not being heard |" in text


def test_csv_export_replaces_an_existing_file_atomically(run, tmp_path):
    out = tmp_path / "coded.csv"
    out.write_text("old", encoding="utf-8")
    export(run, "csv", out)
    assert read_csv(out)[0]["segment_id"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_an_office_export_made_again_is_the_same_file(run, tmp_path, fmt):
    """No time of saving in the file: every zip entry, and the document's created and
    modified stamps, carry one fixed time."""
    import re
    import zipfile

    from pipeline.export import FIXED_TIME

    export(run, fmt, tmp_path / f"a.{fmt}", author="Ana")
    with zipfile.ZipFile(tmp_path / f"a.{fmt}") as archive:
        assert {info.date_time for info in archive.infolist()} == {FIXED_TIME}
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == ["2000-01-01T00:00:00Z"] * 2
    export(run, fmt, tmp_path / f"b.{fmt}", author="Ana")
    assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()


def test_csv_keeps_text_that_starts_like_a_formula_and_the_docs_send_spreadsheets_to_the_xlsx(tmp_path):
    """CSV is for pandas, R and QDA software: participants' words stay exactly as said. A
    spreadsheet opens the xlsx, where every such cell is text, never a formula."""
    import zipfile

    from conftest import ROOT

    name, definition = '=HYPERLINK("http://x","y")', "+cmd -x @foo"
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope"), 3: new(name, definition)})
    export(run, "codebook-csv", tmp_path / "codebook.csv")
    export(run, "csv", tmp_path / "coded.csv")
    export(run, "xlsx", tmp_path / "coded.xlsx")
    codebook = {row["code"]: row for row in read_csv(tmp_path / "codebook.csv")}
    assert codebook[name]["definition"] == definition
    said = "=1+1 is all we are to them, a number on a list, nothing more."
    assert said in [row["text"] for row in read_csv(tmp_path / "coded.csv")]

    workbook = load_workbook(tmp_path / "coded.xlsx")
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    formula_like = [cell for cell in cells if isinstance(cell.value, str) and cell.value[:1] in "=+-@"]
    assert {name, definition, said} <= {cell.value for cell in formula_like}
    assert all(cell.data_type == "s" for cell in formula_like)
    with zipfile.ZipFile(tmp_path / "coded.xlsx") as archive:
        assert not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in archive.namelist())

    docs = " ".join((ROOT / "docs" / "export.md").read_text(encoding="utf-8").split())
    assert "`csv` and `codebook-csv` keep text exactly" in docs
    assert "import the CSV with every column as text" in docs


def test_rows_without_a_speaker_label_each_count_as_a_respondent_in_the_codebook(run):
    import dataclasses

    from pipeline.export.model import load_coded_run
    from pipeline.export.tables import codebook_rows

    coded = load_coded_run(run)  # every segment as a survey row reads: no label, a respondent of its own
    rows = dataclasses.replace(coded, codings=[
        dataclasses.replace(c, segment=dataclasses.replace(c.segment, speaker="")) for c in coded.codings])
    header, *body = codebook_rows(rows)
    speakers = {row[0]: row[header.index("speakers")] for row in body}
    # Not being heard: five rows of two transcripts; the accepted code: six rows (cluster 0 and merged 2).
    assert speakers["new:not being heard"] == 5
    assert speakers["barrier.control.disempowerment_symptoms_medication"] == 6
    assert speakers["barrier"] == 6 and speakers["group:new"] == 5
    labelled = {row[0]: row[header.index("speakers")] for row in codebook_rows(coded)[1:]}
    assert labelled["new:not being heard"] == 5  # User 1, User 2, Nurse 1; User 5, User 6


def test_new_themes_sharing_a_name_take_the_latest_decisions_definition(tmp_path):
    import json

    from pipeline.decisions import Decision, append_decision

    run = make_run(tmp_path, {})
    document = json.loads((run / "clusters.json").read_text(encoding="utf-8"))
    members = {c["cluster_id"]: tuple(c["members"]) for c in document["clusters"]}

    def decide(cluster_id, name, definition, when):
        append_decision(tmp_path / "decisions.jsonl", Decision(
            cluster_key=f"{document['run']}:{cluster_id}", run=document["run"], cluster_id=cluster_id,
            status="new", name=name, definition=definition, segment_ids=members[cluster_id], author="test",
            timestamp=when))

    def definition():
        export(run, "codebook-csv", tmp_path / "codebook.csv")
        return {row["code_id"]: row["definition"] for row in read_csv(tmp_path / "codebook.csv")}["new:fairness"]

    decide(1, "Fairness", "first", "2025-03-03T10:00:00Z")
    decide(3, "  fairness ", "second", "2025-03-03T11:00:00Z")
    assert definition() == "second"  # the later decision, though on the higher cluster id
    decide(1, "Fairness", "third", "2025-03-03T12:00:00Z")
    assert definition() == "third"
    decide(3, "fairness", "fourth", "2025-03-03T13:30:00+02:00")  # 11:30 UTC: earlier than the third
    assert definition() == "third"
    decide(3, "fairness", None, "2025-03-03T14:00:00Z")  # a later decision without a definition keeps it
    assert definition() == "third"
