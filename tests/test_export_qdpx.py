"""REFI-QDA exports: schema-valid, selections cut exactly their segments, stable GUIDs."""

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from pipeline.errors import ThemesError
from pipeline.export import export
from pipeline.export.model import load_coded_run, read_run, read_sources

from fixtures.export.refi import C, P, schema
from fixtures.export.runfolder import accepted, decision_store, make_run, merged, new, rejected  # noqa: F401 (autouse)

SPECIAL_MEMO = 'Sleep & <sedation> — “mornings”, "quoted" 😴 眠い'

DECISIONS = {
    0: accepted("barrier.control.disempowerment_symptoms_medication", memo=SPECIAL_MEMO),
    1: new("Not being heard <by doctors> & nurses", "Talk about not being listened to.", memo="new & <kept>"),
    2: merged(1),
    3: rejected(memo="Too mixed to be one theme."),
}


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path, DECISIONS)


def read_qdpx(path: Path) -> tuple[etree._Element, dict[str, str]]:
    with zipfile.ZipFile(path) as archive:
        project = etree.fromstring(archive.read("project.qde"))
        texts = {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name != "project.qde"}
    return project, texts


def export_qdpx(run, tmp_path, name="project.qdpx", **kwargs) -> tuple[etree._Element, dict[str, str]]:
    out = tmp_path / name
    export(run, "qdpx", out, author="Dr Ada Analyst", **kwargs)
    return read_qdpx(out)


def test_project_is_valid_qda_xml_and_selections_cut_exactly_their_segments(run, tmp_path):
    project, texts = export_qdpx(run, tmp_path)
    schema("Project.xsd").assertValid(project)

    codes = {c.get("guid"): c for c in project.iter(f"{P}Code")}
    with open(run / "segments.csv", encoding="utf-8", newline="") as handle:
        segments = {row["segment_id"]: row for row in csv.DictReader(handle)}
    sources = project.findall(f"{P}Sources/{P}TextSource")
    assert [s.get("name") for s in sources] == ["meeting 1.txt", "会議 2.txt"]
    coded, cuts_exactly = [], 0
    for source in sources:
        text = texts["Sources/" + source.get("plainTextPath").removeprefix("internal://")]
        for selection in source.findall(f"{P}PlainTextSelection"):
            segment = segments[selection.get("name").split(": ", 1)[1]]
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            cut = text[start:end]
            for marker in json.loads(segment["annotations"] or "[]"):  # markers stay in the source
                cut = cut.replace(marker, "", 1)
            assert " ".join(cut.split()) == segment["text"]
            cuts_exactly += segment["annotations"] == ""
            (coding,) = selection.findall(f"{P}Coding")
            code = codes[coding.find(f"{P}CodeRef").get("targetGUID")]
            assert code.get("isCodable") == "true"
            coded.append((segment["segment_id"], code.get("name")))
    # Clusters 0 (accepted), 1 (new) and 2 (merged into 1) are coded; rejected cluster 3 is not.
    assert len(coded) == 4 + 5 + 2 and cuts_exactly == len(coded) - 1
    assert ("会議 2.txt#2.1", "Disempowerment owing to symptoms and medication") in coded
    assert ("会議 2.txt#6.1", "Not being heard <by doctors> & nurses") in coded
    assert not any(sid.startswith("meeting 1.txt#7.") for sid, _ in coded)


def test_codebook_tree_groups_leaves_colours_and_new_themes(run, tmp_path):
    project, _ = export_qdpx(run, tmp_path)
    roots = project.findall(f"{P}CodeBook/{P}Codes/{P}Code")
    assert [r.get("name") for r in roots] == ["Barriers to recovery", "Roots of barriers",
                                              "Solutions to address the roots", "New themes"]
    for code in project.iter(f"{P}Code"):
        has_children = code.find(f"{P}Code") is not None
        assert code.get("isCodable") == ("false" if has_children else "true")
        assert re.fullmatch(r"#[0-9A-F]{6}", code.get("color"))
    (new_code,) = roots[-1].findall(f"{P}Code")
    assert new_code.get("name") == "Not being heard <by doctors> & nurses"
    assert new_code.findtext(f"{P}Description") == "Talk about not being listened to."
    leaf = next(c for c in project.iter(f"{P}Code") if c.get("name") == "Lack of compassion")
    assert "listen with empathy" in leaf.findtext(f"{P}Description")


def test_memos_become_notes_and_special_characters_survive(run, tmp_path):
    project, _ = export_qdpx(run, tmp_path)
    notes = {n.get("guid"): n.findtext(f"{P}PlainTextContent") for n in project.iter(f"{P}Note")}
    assert sorted(notes.values()) == sorted([SPECIAL_MEMO, "new & <kept>", "Too mixed to be one theme."])
    code = next(c for c in project.iter(f"{P}Code") if c.get("name").startswith("Disempowerment"))
    assert [notes[r.get("targetGUID")] for r in code.findall(f"{P}NoteRef")] == [SPECIAL_MEMO]
    # The rejected cluster's memo is not about any code: the project refers to it.
    assert [notes[r.get("targetGUID")] for r in project.findall(f"{P}NoteRef")] == ["Too mixed to be one theme."]
    (user,) = project.iter(f"{P}User")
    assert user.get("name") == "Dr Ada Analyst" and project.get("creatingUserGUID") == user.get("guid")


def test_guids_are_stable_across_exports_and_runs(run, tmp_path, monkeypatch):
    first = (tmp_path / "a.qdpx")
    export(run, "qdpx", first, author="A")
    export(run, "qdpx", tmp_path / "b.qdpx", author="A")
    assert first.read_bytes() == (tmp_path / "b.qdpx").read_bytes()

    # Another run over the same transcripts, with another decision: the same codes, sources
    # and selections keep their GUIDs, so an import replaces instead of duplicating.
    other = make_run(tmp_path / "again", {0: accepted("barrier.control.disempowerment_symptoms_medication")})
    monkeypatch.setenv("THEMES_DECISIONS", str(tmp_path / "again" / "decisions.jsonl"))
    a, _ = read_qdpx(first)
    b, _ = export_qdpx(other, tmp_path, "c.qdpx")
    assert len(b.findall(f".//{P}PlainTextSelection")) == 4
    guids = lambda p, tag: {e.get("name"): e.get("guid") for e in p.iter(f"{P}{tag}")}  # noqa: E731
    assert guids(a, "Code") | guids(b, "Code") == guids(a, "Code")
    assert guids(a, "TextSource") == guids(b, "TextSource")
    selections_b = guids(b, "PlainTextSelection")
    assert selections_b and selections_b.items() <= guids(a, "PlainTextSelection").items()
    all_guids = [e.get("guid") for e in a.iter() if e.get("guid")]
    assert len(all_guids) == len(set(all_guids))


def test_qdc_codebook_is_valid(run, tmp_path):
    out = tmp_path / "codebook.qdc"
    export(run, "qdc", out)
    codebook = etree.parse(str(out))
    schema("Codebook.xsd").assertValid(codebook)
    names = [c.get("name") for c in codebook.iter(f"{C}Code")]
    assert "Authority slope" in names and "Not being heard <by doctors> & nurses" in names


def test_suggestions_are_coded_apart_and_marked(tmp_path):
    run = make_run(tmp_path, {})
    with pytest.raises(ThemesError, match="no decisions yet.*--include-suggestions"):
        export(run, "qdpx", tmp_path / "x.qdpx")
    assert not (tmp_path / "x.qdpx").exists()
    project, _ = export_qdpx(run, tmp_path, include_suggestions=True)
    schema("Project.xsd").assertValid(project)
    roots = project.findall(f"{P}CodeBook/{P}Codes/{P}Code")
    (group,) = [c for c in roots if c.get("name") == "Suggested, not reviewed"]
    assert {c.get("name") for c in group.findall(f"{P}Code")} == {
        "Disempowerment owing to symptoms and medication (suggested)", "Authority slope (suggested)",
        "Routines and rules are more important than value (suggested)"}
    suggested = {c.get("guid") for c in group.iter(f"{P}Code")}
    refs = [r.get("targetGUID") for r in project.iter(f"{P}CodeRef")]
    assert len(refs) == 11 and set(refs) <= suggested


def test_only_rejections_say_nothing_is_coded(tmp_path):
    run = make_run(tmp_path, {0: rejected(), 1: rejected()})
    with pytest.raises(ThemesError, match="none of the 2 decided cluster"):
        export(run, "csv", tmp_path / "x.csv")


def test_only_merges_into_uncoded_clusters_say_which_and_why(tmp_path):
    run = make_run(tmp_path, {2: merged(1)})
    with pytest.raises(ThemesError) as caught:
        export(run, "csv", tmp_path / "x.csv")
    assert str(caught.value) == (f"{run}: none of the 1 decided cluster(s) is coded (cluster 2 is merged into "
                                 "cluster 1, which is not coded); accept clusters in report.html, or pass "
                                 "--include-suggestions")
    store = tmp_path / "two" / "decisions.jsonl"
    run = make_run(tmp_path / "two", {0: rejected(), 2: merged(0)}, store=store)
    with pytest.raises(ThemesError, match=r"none of the 2 decided cluster\(s\) is coded \(cluster 0 is rejected; "
                                          r"cluster 2 is merged into cluster 0, which is not coded\)"):
        export(run, "csv", tmp_path / "x.csv", store=store)


def test_changed_or_missing_transcript_is_refused(run, tmp_path):
    source = tmp_path / "data" / "meeting 1.txt"
    source.write_bytes(source.read_bytes().replace(b"sleepy", b"sleepz"))
    with pytest.raises(ThemesError, match=r"meeting 1.txt: changed since run"):
        read_sources(read_run(run))
    source.unlink()
    with pytest.raises(ThemesError, match=r"meeting 1.txt: transcript of run .* not found"):
        export(run, "qdpx", tmp_path / "x.qdpx")
    # Table exports need only the run folder.
    export(run, "csv", tmp_path / "x.csv")


def test_merge_chains_and_uncoded_targets(tmp_path):
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope"), 1: merged(2), 2: merged(0),
                              3: merged(99)})
    coded = load_coded_run(run)
    assert {c.cluster_id: c.code for c in coded.codings} == {0: "barrier.control.authority_slope",
                                                             1: "barrier.control.authority_slope",
                                                             2: "barrier.control.authority_slope"}
    assert coded.notes == ["cluster 3 is merged into cluster 99, which is not coded; its segments are left uncoded"]


def test_a_merge_into_an_undecided_cluster_is_as_unreviewed_as_its_suggestion(tmp_path):
    run = make_run(tmp_path, {1: accepted("barrier.control.authority_slope"), 2: merged(0)})
    coded = load_coded_run(run, include_suggestions=True)
    status = {c.cluster_id: (c.code, c.status) for c in coded.codings}
    assert status[2] == status[0] and status[0][1] == "suggested"  # not "merged": nobody reviewed the code
    assert status[1] == ("barrier.control.authority_slope", "accepted")


def test_zip_holds_project_and_sources_only(run, tmp_path):
    out = tmp_path / "p.qdpx"
    export(run, "qdpx", out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    assert names[0] == "project.qde" and len(names) == 3
    assert all(re.fullmatch(r"Sources/[0-9a-f-]{36}\.txt", n) for n in names[1:])
    # The source text is the decoded text: no BOM, CRLF kept (positions count it).
    _, texts = read_qdpx(out)
    first = next(t for t in texts.values() if t.startswith("Focus group"))
    assert "\r\n" in first and not first.startswith("\ufeff")


def test_a_pseudonymised_runs_project_names_no_speaker_beside_the_transcripts(run, tmp_path):
    """The project holds the transcripts, real labels and all: a code (U3) beside each selection
    would make the file its own key. The export says what the file holds."""
    import yaml

    saved = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    saved["privacy"]["pseudonymise"] = True
    (run / "config.yaml").write_text(yaml.safe_dump(saved), encoding="utf-8")
    summary = export(run, "qdpx", tmp_path / "p.qdpx", author="Dr Ada Analyst")
    assert any("holds the transcripts themselves" in note for note in summary.notes)
    project, _ = read_qdpx(tmp_path / "p.qdpx")
    selections = project.findall(f".//{P}PlainTextSelection")
    assert selections
    for selection in selections:
        assert ":" not in selection.get("name").split("#")[0]
        description = selection.find(f"{P}Description").text
        assert description.split(";")[0] in ("user", "professional", "facilitator")
