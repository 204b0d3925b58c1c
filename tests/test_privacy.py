import json
import stat

import pytest

from pipeline.artifacts import Segment
from pipeline.errors import ThemesError
from pipeline.privacy import PseudonymKey, load_names, prefix_for, pseudonymise, scan


def seg(i, speaker, role, text="some words here"):
    return Segment(segment_id=f"a.txt#{i}.1", source="a.txt", turn_id=i, speaker=speaker, role=role,
                   text=text, start=0, end=len(text))


def test_pseudonyms_are_role_based_stable_and_owner_only(tmp_path):
    path = tmp_path / "keys" / "pseudonyms.json"
    key = PseudonymKey(path)
    segments = [seg(1, "User 3", "user"), seg(2, "Nurse 1", "professional"), seg(3, "User 1", "user"),
                seg(4, "User 3", "user"), seg(5, "Facilitator 2", "facilitator")]
    out = pseudonymise(segments, key)
    assert [s.speaker for s in out] == ["U1", "P1", "U2", "U1", "F1"]
    assert [s.text for s in out] == [s.text for s in segments]
    key.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = PseudonymKey(path)
    assert pseudonymise([seg(1, "User 1", "user"), seg(2, "User 9", "user")], again)[1].speaker == "U3"
    assert json.loads(path.read_text())["User 3"] == "U1"


def test_roles_without_a_documented_letter_never_get_one(tmp_path):
    assert [prefix_for(role) for role in ("user", "professional", "facilitator", "respondent")] == ["U", "P", "F", "R"]
    assert [prefix_for(role) for role in ("unknown", "carer", "staff", "peer", "usher", "", "2nd")] == [
        "X", "C", "S", "X", "X", "X", "X"]
    out = pseudonymise([seg(1, "Dr. Smith", "unknown"), seg(2, "User 1", "user"), seg(3, "Bob", "unknown"),
                        seg(4, "Peer 1", "peer")], PseudonymKey(tmp_path / "key.json"))
    assert [s.speaker for s in out] == ["X1", "U1", "X2", "X3"]


def test_a_new_code_is_never_a_label_of_the_data(tmp_path):
    out = pseudonymise([seg(1, "Tom Baker", "professional"), seg(2, "P1", "unknown"), seg(3, "u1", "unknown"),
                        seg(4, "Ann", "user")], PseudonymKey(tmp_path / "key.json"))
    assert [s.speaker for s in out] == ["P2", "X1", "X2", "U2"]  # not P1 (a label here), not U1 ("u1")


def test_codes_in_a_saved_key_are_kept(tmp_path):
    path = tmp_path / "pseudonyms.json"
    path.write_text(json.dumps({"Dr. Smith": "U4", "User 1": "U1"}))
    key = PseudonymKey(path)
    out = pseudonymise([seg(1, "Dr. Smith", "unknown"), seg(2, "Bob", "unknown"), seg(3, "User 2", "user")], key)
    assert [s.speaker for s in out] == ["U4", "X1", "U2"]
    key.save()
    assert json.loads(path.read_text()) == {"Dr. Smith": "U4", "User 1": "U1", "Bob": "X1", "User 2": "U2"}


def test_pseudonyms_leave_out_the_description_after_a_name(tmp_path):
    from dataclasses import replace

    described = replace(seg(1, "Interviewer", "facilitator"),
                        annotations=("description=Sarah", "[inaudible]", "(laughs)"))
    out = pseudonymise([described], PseudonymKey(tmp_path / "key.json"))
    assert [(s.speaker, s.annotations) for s in out] == [("F1", ("[inaudible]", "(laughs)"))]


def test_a_speakers_label_inside_a_note_becomes_the_pseudonym_and_notes_are_scanned(tmp_path):
    from dataclasses import replace

    stopped = replace(seg(1, "Anna Fischer", "facilitator"),
                      annotations=("Anna Fischer stopped transcription", "[Anna Fischers' idea]", "id=07700 900123"))
    out = pseudonymise([stopped, seg(2, "Anna", "user")], PseudonymKey(tmp_path / "key.json"))
    # whole labels, the longest first: "Anna Fischer" is F1; "Anna" alone (another speaker) is U1
    assert out[0].annotations == ("F1 stopped transcription", "[U1 Fischers' idea]", "id=07700 900123")
    assert out[1].speaker == "U1"
    found = scan([replace(seg(3, "U", "user"), annotations=("[John Smith's wife]", "id=07700 900123"))], ["John Smith"])
    assert [(f.kind, f.match) for f in found] == [("name", "John Smith")]  # a row id is not a phone number


def test_a_surname_first_label_in_a_note_is_replaced_in_either_order_and_any_case(tmp_path):
    """Teams labels "Fischer, Anna" and writes "Anna Fischer stopped transcription"; a note
    may type a name in capitals or in lower case."""
    from dataclasses import replace

    teams = replace(seg(1, "Fischer, Anna", "facilitator"),
                    annotations=("Fischer, Anna stopped transcription", "Anna Fischer stopped transcription",
                                 "[FISCHER, ANNA laughs]", "[crosstalk with anna fischer]"))
    jane = replace(seg(2, "Jane Doe", "user"), annotations=("[JANE DOE cries]",))
    out = pseudonymise([teams, jane], PseudonymKey(tmp_path / "key.json"))
    assert out[0].annotations == ("F1 stopped transcription", "F1 stopped transcription", "[F1 laughs]",
                                  "[crosstalk with F1]")
    assert out[1].annotations == ("[U1 cries]",)


def test_a_speakers_label_in_a_note_is_replaced_however_it_is_spaced(tmp_path):
    from dataclasses import replace

    noted = replace(seg(1, "Jane Doe", "user"), annotations=("[Jane\u00a0Doe laughs]", "[Jane  Doe left]"))
    out = pseudonymise([noted], PseudonymKey(tmp_path / "key.json"))
    assert out[0].annotations == ("[U1 laughs]", "[U1 left]")


def test_names_in_scripts_with_vowel_signs_are_whole_words(tmp_path):
    """A vowel sign after a name (a combining mark) makes a longer word, not the name's end."""
    from dataclasses import replace

    noted = replace(seg(1, "राम", "user"), annotations=("[रामु आया]", "[राम आया]"))
    out = pseudonymise([noted], PseudonymKey(tmp_path / "key.json"))
    assert out[0].annotations == ("[रामु आया]", "[U1 आया]")
    found = scan([seg(2, "U", "user", "रामु ने कहा"), seg(3, "U", "user", "राम ने कहा")], ["राम"])
    assert [f.segment_id for f in found] == ["a.txt#3.1"]


def test_broken_key_is_refused_and_kept(tmp_path):
    path = tmp_path / "pseudonyms.json"
    path.write_text("{not json")
    with pytest.raises(ThemesError, match="pseudonyms.json: unreadable pseudonym key"):
        PseudonymKey(path)
    assert path.read_text() == "{not json"


def test_scan_flags_identifying_details(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("# staff and participants\nJohn Smith\nPriya\n")
    segments = [
        seg(1, "U", "user", "Email me at john.smith@example.org or ring 07700 900123."),
        seg(2, "U", "user", "I live near LS1 4AP, see www.example.com/page"),
        seg(3, "U", "user", "priya said the ward was cold"),
        seg(4, "U", "user", "Nothing identifying in this one at all, we waited 3 months."),
        seg(5, "U", "user", "The leaflet said HTTPS://Example.org/help, nothing else."),  # no digit, no @
    ]
    kinds = {(f.segment_id, f.kind) for f in scan(segments, load_names(names))}
    assert kinds == {("a.txt#1.1", "email"), ("a.txt#1.1", "phone"), ("a.txt#2.1", "postcode"),
                     ("a.txt#2.1", "url"), ("a.txt#3.1", "name"), ("a.txt#5.1", "url")}


@pytest.mark.parametrize("text, kind", [
    ("call +44 7700 900123 any time", "phone"), ("call +447700900123", "phone"),
    ("ring +44 20 7946 0958", "phone"), ("ring +44 (0)20 7946 0958", "phone"), ("ring (020) 7946 0958", "phone"),
    ("I moved to sw1a 1aa last year", "postcode"), ("near m1 1ae", "postcode"), ("Ls6 2qt is home", "postcode"),
    ("at SW1A 1aa", "postcode"), ("in b15 2th", "postcode"),
])
def test_scan_finds_numbers_written_internationally_and_postcodes_in_any_case(text, kind):
    assert [f.kind for f in scan([seg(1, "U", "user", text)])] == [kind]


def test_a_japanese_name_is_found_inside_a_sentence():
    found = scan([seg(1, "U", "user", "昨日、佐藤花子さんが来ました。")], ["佐藤花子"])
    assert [(f.kind, f.match) for f in found] == [("name", "佐藤花子")]
    assert [f.match for f in scan([seg(1, "U", "user", "佐藤花子さん、佐藤 花子さん")], ["佐藤 花子"])] == ["佐藤花子", "佐藤 花子"]


def test_scan_finds_a_name_however_its_accents_and_spaces_were_typed():
    import unicodedata

    typed = [unicodedata.normalize("NFD", "José Álvarez came"), "Jos\u00e9\u00a0\u00c1lvarez came", "josé  álvarez came"]
    for names in (["José Álvarez"], [unicodedata.normalize("NFD", "José Álvarez")]):
        found = scan([seg(i, "U", "user", text) for i, text in enumerate(typed)], names)
        assert sorted(f.segment_id for f in found) == ["a.txt#0.1", "a.txt#1.1", "a.txt#2.1"]


def test_keywords_holding_a_flagged_identifier_leave_the_clusters_labels():
    from pipeline.artifacts import Cluster, Clustering
    from pipeline.privacy import without_identifiers

    segments = [seg(1, "U", "user", "Email john.smith@example.org about SW1A 1AA"), seg(2, "U", "user", "José Álvarez rang")]
    findings = scan(segments, ["José Álvarez"])
    clustering = Clustering(clusters=[
        Cluster(0, ("a.txt#1.1", "a.txt#2.1"), ("email johnsmithexampleorg", "forms", "sw1a", "josé álvarez", "ring"),
                (), "email johnsmithexampleorg / forms / sw1a"),
        Cluster(1, ("a.txt#3.1",), ("ward", "beds"), (), "ward / beds")], assignments={})
    cleaned, left_out = without_identifiers(clustering, findings)
    assert left_out == 3
    assert cleaned.clusters[0].keywords == ("forms", "ring") and cleaned.clusters[0].label == "forms / ring"
    assert cleaned.clusters[1] is clustering.clusters[1]
    assert without_identifiers(clustering, []) == (clustering, 0)
    emptied, _ = without_identifiers(clustering, scan([seg(3, "U", "user", "ward beds at SW1A 1AA")], ["ward", "beds"]))
    assert emptied.clusters[1].keywords == () and emptied.clusters[1].label == "(its keywords held identifiers, left out)"


def test_identifiers_leave_the_keywords_they_become_and_only_in_their_own_cluster():
    """Keywords made by the cluster stage's own word counter from flagged speech: a possessive,
    an address run into the word before it, a Japanese name's character pairs."""
    from pipeline.artifacts import Cluster, Clustering
    from pipeline.cluster import _vectorizer, topic_text
    from pipeline.config import ClusteringConfig
    from pipeline.privacy import without_identifiers

    flagged = seg(1, "U", "user", "Sarah's mum rang, email:john.smith@example.org, mail:jo@gp.com, and 佐藤花子さん came")
    words = _vectorizer(ClusteringConfig(), 10).build_analyzer()(topic_text([flagged.text])[0])
    assert {"sarahs", "emailjohnsmithexampleorg", "mailjogpcom", "佐藤", "花子"} <= set(words)
    clustering = Clustering(clusters=[Cluster(0, ("a.txt#1.1",), tuple(words), (), ""),
                                      Cluster(1, ("a.txt#2.1",), ("sarahs", "green space"), (), "")], assignments={})
    cleaned, _ = without_identifiers(clustering, scan([flagged, seg(2, "U", "user", "the green space")],
                                                      ["Sarah", "佐藤花子", "Mark Green"]))
    assert not {"sarahs", "sarahs mum", "emailjohnsmithexampleorg", "mailjogpcom", "佐藤", "藤花", "花子"} & set(
        cleaned.clusters[0].keywords)
    assert "rang" in cleaned.clusters[0].keywords
    assert cleaned.clusters[1].keywords == ("sarahs", "green space")  # no finding among its members
    # Longer words that start or end like a listed name are not the name.
    named = Clustering(clusters=[Cluster(0, ("a.txt#1.1",), ("willing staff", "forward planning", "market", "hopeful", "wills"),
                                         (), "")], assignments={})
    kept, _ = without_identifiers(named, scan([seg(1, "U", "user", "Will, Ward, Mark and Hope came")],
                                              ["Will", "Ward", "Mark", "Hope"]))
    assert kept.clusters[0].keywords == ("willing staff", "forward planning", "market", "hopeful")


@pytest.mark.parametrize("text", ["we did it in ks2 2nd year", "vitamin d3 5mg daily", "take b12 1mg", "at 10am 3pm",
                                  "Vitamin D3 5mg daily", "B12 1mg", "in KS2 2nd year", "Y11 2nd set"])
def test_ordinary_speech_is_no_postcode(text):
    assert scan([seg(1, "U", "user", text)]) == []


def test_scan_command(tmp_path):
    from conftest import themes

    transcript = tmp_path / "t.txt"
    transcript.write_text("User 1: Write to me at jo@example.org please.\nNurse 1: Thanks, Jo.\nUser 2: Fine.\n")
    names = tmp_path / "names.txt"
    names.write_text("Jo\n")
    result = themes("scan", transcript, "--names", names)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert ["t.txt#1.1", "email", "jo@example.org"] in [row[:3] for row in rows]
    assert ["t.txt#2.1", "name", "Jo"] in [row[:3] for row in rows]


def test_pseudonymised_run_shows_no_speaker_label(tmp_path, fake_embedder):
    import csv

    from pipeline.config import load_config
    from pipeline.runner import execute, write_run

    from conftest import FIXTURES

    key = tmp_path / "private" / "key.json"
    config = load_config(overrides={
        "input": {"paths": [str(FIXTURES / "small")]}, "taxonomy": "none",
        "privacy": {"pseudonymise": True, "key_path": str(key)},
        "cache": {"enabled": False}, "decisions": {"path": str(tmp_path / "decisions.jsonl")},
    })
    out = write_run(execute(config, embedder=fake_embedder), tmp_path / "run")
    with open(out / "segments.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["speaker"] for row in rows} == {"U1", "U2", "U3", "U4", "P1", "F1"}
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    labels = json.loads(key.read_text())
    assert labels["Facilitator 1"] == "F1" and labels["Nurse 1"] == "P1"
    report = (out / "report.html").read_text(encoding="utf-8")
    for label in labels:
        assert f"{label}:" not in report and f"{label} (" not in report


def test_report_marks_segments_that_may_identify_someone(tmp_path, monkeypatch):
    from conftest import write_review_run

    monkeypatch.setenv("THEMES_DECISIONS", str(tmp_path / "decisions.jsonl"))
    texts = [f"Segment {i} is about the day centre and the tablets." for i in range(8)]
    texts[1] = "Ring me on 07700 900123 after the group."
    run = write_review_run(tmp_path / "run", {0: range(0, 6)}, texts)
    report = (run / "report.html").read_text(encoding="utf-8")
    assert report.count("may identify: phone") >= 1
    with open(run / "segments.csv", newline="", encoding="utf-8") as handle:
        import csv

        flags = {row["segment_id"]: row["privacy_flags"] for row in csv.DictReader(handle)}
    assert flags["meeting.txt#1.1"] == "phone" and flags["meeting.txt#0.1"] == ""


def test_a_pseudonymised_run_folder_holds_no_real_label(tmp_path, fake_embedder):
    """Names in labels reach no file of the run folder: not the warning about labels without a
    role, not a skipped file's reason (which quotes the file), not the roles in config.yaml."""
    from pipeline.config import load_config
    from pipeline.runner import execute, write_run

    data = tmp_path / "data"
    data.mkdir()
    lines = [f"{speaker}: {text}" for speaker, text in [
        ("Interviewee", "Sarah Jones"), ("Interviewer (Dr Amir Khan)", "How was the ward for you, in the end?"),
        ("Sarah Jones", "The ward was loud and nobody explained the medication to me at all."),
        ("Keith Moss", "Same for me, nobody explained anything about the tablets or the side effects."),
        ("Sarah Jones", "I only found out about the side effects from another patient on the ward."),
        ("Keith Moss", "The night staff were kind though, they sat with me when I could not sleep.")] * 3]
    (data / "interview.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "broken.vtt").write_text("WEBVTT\n\n00:00:01 -> 2\nSarah Jones: hello\n", encoding="utf-8")
    # A title above a table's columns is left out with a notice that quotes it.
    (data / "survey.csv").write_text("Interview with Keith Moss\nspeaker,comment\nKeith Moss,The tablets made me "
                                     "sleep all day and nobody asked how I was.\n", encoding="utf-8")
    config = load_config(overrides={
        "input": {"paths": [str(data)], "on_error": "skip"}, "taxonomy": "none",
        "speakers": {"roles": {"user": ["Sarah*"], "facilitator": ["Interviewer*"]}},
        "privacy": {"pseudonymise": True, "key_path": str(tmp_path / "key.json")},
        "cache": {"enabled": False}, "decisions": {"path": str(tmp_path / "decisions.jsonl")},
        "clustering": {"min_cluster_size": 3, "min_samples": 1},
    })
    out = write_run(execute(config, embedder=fake_embedder), tmp_path / "run")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        for name in ("Sarah", "Keith", "Moss", "Amir", "Khan"):
            assert name not in text, (path.name, name)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("match no role" in note and "themes speakers" in note for note in manifest["notes"])
    assert manifest["skipped"] == [f"{data / 'broken.vtt'}:3: could not be read (the reason, which may quote "
                                   "the file, was shown on the console only)"]
    assert f"{data / 'survey.csv'}: read with a notice (which may quote the file, so it was shown on the console only)" \
        in manifest["notes"]


def test_a_key_inside_the_run_folder_is_refused_before_anything_runs(tmp_path, fake_embedder):
    from pipeline.config import load_config
    from pipeline.errors import ThemesError
    from pipeline.runner import execute

    from conftest import FIXTURES

    config = load_config(overrides={
        "input": {"paths": [str(FIXTURES / "small")]}, "taxonomy": "none", "output": {"dir": str(tmp_path / "run")},
        "privacy": {"pseudonymise": True, "key_path": str(tmp_path / "run" / "key.json")},
        "decisions": {"path": str(tmp_path / "decisions.jsonl")}})
    with pytest.raises(ThemesError, match="privacy.key_path: .* is inside the run folder"):
        execute(config, embedder=fake_embedder)
    assert not (tmp_path / "run").exists()


def test_rows_without_a_speaker_stay_apart_and_table_values_stay_as_they_are(tmp_path):
    from dataclasses import replace

    rows = [replace(seg(1, "", "professional"), annotations=("id=1", "role=Nurse")),
            replace(seg(2, "", "user"), annotations=("id=2", "role=Service user")),
            replace(seg(3, "Nurse", "professional"), annotations=("[Nurse Ratched]",))]
    key = PseudonymKey(tmp_path / "key.json")
    out = pseudonymise(rows, key)
    assert [(s.speaker, s.annotations) for s in out] == [
        ("", ("id=1", "role=Nurse")), ("", ("id=2", "role=Service user")), ("P1", ("[P1 Ratched]",))]
    assert "" not in key.mapping


def test_new_codes_are_the_lowest_free_numbers_whatever_the_key_already_gives(tmp_path):
    import random
    import re

    def reference(mapping, speaker, prefix, taken):  # the rule, read off the whole key each time
        used = {v for v in mapping.values() if re.fullmatch(rf"{prefix}\d+", v)}
        number = 1
        while f"{prefix}{number}" in used or f"{prefix}{number}".lower() in taken:
            number += 1
        return f"{prefix}{number}"

    rng = random.Random(3)
    for trial in range(30):
        saved = {f"old {i}": f"{rng.choice('UPX')}{rng.randint(1, 12)}" for i in range(rng.randint(0, 8))}
        path = tmp_path / f"key{trial}.json"
        path.write_text(json.dumps(saved))
        key, expected = PseudonymKey(path), dict(saved)
        for step in range(40):
            role = rng.choice(["user", "professional", "unknown"])
            taken = {f"{p}{rng.randint(1, 15)}".lower() for p in "upx" for _ in range(rng.randint(0, 3))}
            speaker = f"speaker {rng.randint(0, 30)}"
            if speaker not in expected:
                expected[speaker] = reference(expected, speaker, prefix_for(role), taken)
            assert key.code(speaker, role, taken) == expected[speaker], (trial, step)
        assert key.mapping == expected


def test_two_runs_at_once_on_one_key_lose_no_code(tmp_path):
    """The second run waits for the first's key and builds on it: no two speakers share a code,
    and the key keeps both."""
    import threading

    from pipeline.privacy import PseudonymKey

    path = tmp_path / "private" / "key.json"
    first_in, first_may_go = threading.Event(), threading.Event()
    codes = {}

    def run(label, hold):
        with PseudonymKey.held(path) as key:
            codes[label] = key.code(label, "user")
            if hold:
                first_in.set()
                first_may_go.wait(10)
            key.save()

    first = threading.Thread(target=run, args=("Alice", True))
    first.start()
    assert first_in.wait(10)
    second = threading.Thread(target=run, args=("Bob", False))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for the key
    first_may_go.set()
    first.join(10)
    second.join(10)
    assert codes == {"Alice": "U1", "Bob": "U2"}
    assert PseudonymKey(path).mapping == {"Alice": "U1", "Bob": "U2"}


def test_a_read_only_key_that_needs_no_new_code_still_works(tmp_path, monkeypatch):
    import os

    from pipeline.privacy import PseudonymKey

    path = tmp_path / "private" / "key.json"
    path.parent.mkdir()
    path.write_text('{"Alice": "U1"}')
    real_open = os.open

    def refuse_lock(name, *args, **kwargs):  # a folder that cannot be written (as for another user)
        if str(name).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse_lock)
    with PseudonymKey.held(path) as key:
        assert key.code("Alice", "user") == "U1"
        key.save()  # nothing changed: nothing written
