import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.artifacts import Segment
from pipeline.config import SegmentationConfig, SpeakersConfig, load_config
from pipeline.ingest import parse_text
from pipeline.segment import normalise, segment, sentence_spans


def roles():
    return load_config().speakers


def test_offsets_cut_exact_text():
    text = "Title line\n\nUser 1: One. Two two.  Three three three.\nFour four four four. Five.\nFacilitator 1: Thanks. Go on.\n"
    t = parse_text(text, "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(max_sentences=2), roles())
    assert [s.text for s in segs[:3]] == ["One. Two two.", "Three three three. Four four four four.", "Five."]
    for s in segs:
        assert normalise(text[s.start:s.end]) == s.text
    assert segs[0].segment_id == "m.txt#1.1"
    assert segs[0].role == "user" and segs[-1].role == "facilitator"


def test_backchannels_and_facilitators_not_clustered():
    t = parse_text("User 1: Yes.\nUser 2: I waited six months for a bed on the ward.\nFacilitator 1: And then what happened to you?\n",
                   "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(), roles())
    assert [(s.backchannel, s.clusterable) for s in segs] == [(True, False), (False, True), (False, False)]


def test_japanese_sentences():
    assert len(sentence_spans("今日は雨です。明日は晴れるかな？そうだね！", "ja")) == 3


def test_words_with_vowel_signs_count_once():
    from pipeline.segment import word_count

    # Python's re split "डॉक्टर" at its vowel signs: three words for one, so "ठीक हूँ" (fine) was no backchannel.
    assert word_count("मुझे डॉक्टर", "xx") == 2
    assert word_count("ठीक हूँ।", "xx") == 2
    assert word_count("Don't know, café.", "en") == 4


def test_roles_first_match_and_unknown():
    from pipeline.speakers import role_of

    cfg = SpeakersConfig(roles={"user": ["User *"], "professional": ["Nurse*"], "all": ["*"]})
    assert role_of("user 3", "a.txt", cfg) == "user"
    assert role_of("Nurse 1", "a.txt", cfg) == "professional"
    assert role_of("Bob", "a.txt", cfg) == "all"
    default = roles()
    assert role_of("Volunteer Worker 1", "a.txt", default) == "professional"
    assert [role_of(label, "a.txt", default) for label in ("利用者1", "看護師", "司会")] == [
        "user", "professional", "facilitator"]
    assert role_of("Moderator", "a.txt", default) == "facilitator"
    assert role_of("Bob", "a.txt", default) == "unknown"
    # transcription services' labels for the interviewer, and common role labels
    assert [role_of(label, "a.txt", default) for label in ("I", "INT", "Q", "Q3", "Co-facilitator", "Researcher 2")] == \
        ["facilitator"] * 6
    assert [role_of(label, "a.txt", default) for label in ("Service user 3", "Dr de Souza", "Dr. Smith", "Social worker")] == \
        ["user", "professional", "professional", "professional"]
    assert [role_of(label, "a.txt", default) for label in ("P1", "R", "Participant", "Drew", "Ingrid", "Quentin")] == \
        ["unknown"] * 6


def test_description_gives_the_role_where_the_name_matches_none():
    from pipeline.speakers import role_of

    cfg = SpeakersConfig(roles={"user": ["P*"], "professional": ["Nurse*"]}, overrides={"ward_*": {"user": ["nurse"]}})
    assert role_of("Jane", "a.txt", cfg, description="nurse") == "professional"
    assert role_of("Jane", "ward_2.txt", cfg, description="Nurse") == "user"  # an override matches it first
    assert role_of("P1", "a.txt", cfg, description="nurse") == "user"  # the name wins where it matches
    assert role_of("Jane", "a.txt", cfg, description="female, 45") == "unknown"
    assert role_of("", "a.txt", cfg, description="nurse") == "respondent"


def test_speaker_table_lists_a_described_speaker_once():
    from pipeline.speakers import render_speaker_table, speaker_table

    t = parse_text("P1 (female, 45): I waited.\nJane (nurse): How long?\nP1: Months.\nJane: Right.\n",
                   "m.txt", Path("m.txt"))
    rows = speaker_table([t], roles())
    assert rows == [("Jane", 2, "professional", 1), ("P1", 2, "unknown", 1)]
    assert render_speaker_table(rows).splitlines()[1:] == [
        "Jane         2        1  professional", "P1           2        1  unknown"]


def test_description_is_a_segment_annotation():
    t = parse_text("P1 (female, 45): I waited for months.\nP1: Then it got better.\n", "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(max_sentences=1), roles())
    assert [(s.speaker, s.annotations) for s in segs] == [
        ("P1", ("description=female, 45",)), ("P1", ("description=female, 45",))]


def test_segments_get_the_role_of_the_description():
    from pipeline.formats.turns import description_of

    t = parse_text("Jane (nurse): How long did you wait?\n", "m.txt", Path("m.txt"))
    assert description_of(t.turns[0]) == "nurse"
    assert [s.role for s in segment([t], SegmentationConfig(), roles())] == ["professional"]


def test_speakers_told_apart_by_descriptions_are_listed_and_segmented_apart():
    from pipeline.speakers import speaker_table

    t = parse_text("Speaker (1): It was difficult at night.\nSpeaker (2): For me the nurses were kind.\n"
                   "Jane (nurse): How long?\nJane: Go on.\n", "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(max_sentences=1), roles())
    assert [(s.speaker, s.annotations, s.role) for s in segs] == [
        ("Speaker (1)", (), "unknown"), ("Speaker (2)", (), "unknown"),
        ("Jane", ("description=nurse",), "professional"), ("Jane", ("description=nurse",), "professional")]
    assert [row[0] for row in speaker_table([t], roles())] == ["Jane", "Speaker (1)", "Speaker (2)"]


def test_source_overrides():
    from pipeline.speakers import role_of

    cfg = SpeakersConfig(roles={"user": ["P*"]}, overrides={"meeting_3*": {"professional": ["P2"]}})
    assert role_of("P2", "meeting_3.txt", cfg) == "professional"
    assert role_of("P2", "meeting_1.txt", cfg) == "user"


def test_japanese_in_an_english_run_is_no_one_word_reply():
    from pipeline.runner import language_warnings
    from pipeline.segment import word_count

    sentence = "薬の副作用で体重が増えて、外に出るのが嫌になりました。"
    assert word_count(sentence, "en") >= 10 and word_count("はい。", "en") <= 1
    segments = [Segment(f"j#{i}.1", "j.txt", i, "利用者1", "user", sentence, 0, len(sentence)) for i in range(3)]
    english = load_config()
    warned = language_warnings(segments, english)
    assert len(warned) == 2 and warned[0].startswith("3 of the 3 segments are in Chinese or Japanese, but "
                                                     "segmentation.language is 'en'")
    assert "knows English only" in warned[1]
    japanese = load_config(overrides={"segmentation": {"language": "ja"}, "embedding": {"model": "/models/multi"}})
    assert language_warnings(segments, japanese) == []
    assert language_warnings([Segment("e#1.1", "e.txt", 1, "P1", "user", "I waited.", 0, 9)], english) == []


def test_a_segment_longer_than_the_model_reads_is_noted():
    from pipeline.runner import long_segments

    words = " ".join(["we waited and waited and nobody called us back"] * 40)  # no full stop
    segments = [Segment("a#1.1", "a.txt", 1, "P1", "user", words, 0, len(words)),
                Segment("a#2.1", "a.txt", 2, "P1", "user", "Short.", 0, 6)]
    (note,) = long_segments(segments, 2000)
    assert note.startswith("1 segment longer than the embedding model reads (about 256 word pieces: some 1,150 "
                           f"characters of English, 250 of Japanese; the longest a#1.1, {len(words):,} characters): ")
    assert note.endswith("a lower segmentation.max_chars (now 2,000) cuts them shorter")
    assert long_segments(segments[1:], 2000) == []
    japanese = "待っても誰も連絡してくれませんでした" * 20  # 360 characters, no full stop
    assert long_segments([Segment("j#1.1", "j.txt", 1, "P1", "user", japanese, 0, len(japanese))], 600)
    # Near the line: 1,300 characters of English are past it, 1,000 are not.
    for length, noted in ((1300, True), (1000, False)):
        text = (words * 2)[:length]
        assert bool(long_segments([Segment("a#3.1", "a.txt", 3, "P1", "user", text, 0, length)], 2000)) is noted


def test_a_sentence_longer_than_max_chars_is_cut_at_clause_breaks():
    """A speech-recognition turn without full stops: parts of about equal length, none over
    max_chars, cut after a comma where there is one, with their exact source offsets."""
    said = ("so I rang the crisis line and they said call your GP, and the GP said it was the "
            "crisis team's job, and nobody came for three days ")
    speech = (said * 6).strip()  # 768 characters, one sentence
    source = f"User 1: {speech}\n"
    t = parse_text(source, "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(), roles())
    assert len(segs) == 2 and all(len(s.text) <= 600 for s in segs)
    assert abs(len(segs[0].text) - len(segs[1].text)) < 120
    assert segs[0].text.endswith(",") and segs[1].text[0].isalpha()
    assert " ".join(s.text for s in segs) == speech
    assert [source[s.start:s.end] for s in segs] == [s.text for s in segs]
    assert [s.segment_id for s in segs] == ["m.txt#1.1", "m.txt#1.2"]


def test_a_long_run_without_commas_is_cut_at_spaces_and_one_without_spaces_anywhere():
    from pipeline.segment import _parts

    words = " ".join(["waited"] * 200)  # 1,399 characters
    parts = _parts(words, 0, len(words), 600)
    assert len(parts) == 3 and all(b - a <= 600 for a, b in parts)
    assert " ".join(words[a:b] for a, b in parts) == words
    japanese = "待っても誰も連絡してくれませんでした" * 20  # 360 characters, no comma
    parts = _parts(japanese, 0, len(japanese), 250)
    assert [b - a for a, b in parts] == [180, 180]
    japanese = "待っても、誰も連絡してくれませんでした" * 20  # an ideographic comma in each
    parts = _parts(japanese, 0, len(japanese), 250)
    assert len(parts) == 2 and japanese[parts[0][1] - 1] == "、"
    assert _parts("short", 0, 5, 600) == [(0, 5)]


def test_the_readmes_way_to_add_labels_keeps_the_default_roles(tmp_path):
    from pipeline.speakers import role_of

    config = tmp_path / "my.yaml"
    config.write_text('speakers:\n  overrides:\n    "*": {user: ["P[0-9]*", "Participant*", "R"]}\n')
    speakers = load_config(config).speakers
    labels = ("P1", "R", "Interviewer", "Nurse 2", "Psychologist 1", "Participant 3")
    assert [role_of(label, "site_b/meeting 1.txt", speakers) for label in labels] == [
        "user", "user", "facilitator", "professional", "professional", "user"]


def test_noise_markers_become_annotations_and_offsets_span_them():
    text = "User 1: I went to the ward [1] twice. [crosstalk] It was (laughs) fine.\nNurse 1: [inaudible]\n"
    t = parse_text(text, "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(max_sentences=1), roles())
    assert [(s.text, s.annotations) for s in segs] == [
        ("I went to the ward twice.", ("[1]",)),
        ("It was fine.", ("[crosstalk]", "(laughs)")),
        ("", ("[inaudible]",)),
    ]
    assert text[segs[0].start:segs[0].end] == "I went to the ward [1] twice."
    assert text[segs[1].start:segs[1].end] == "[crosstalk] It was (laughs) fine."
    assert text[segs[2].start:segs[2].end] == "[inaudible]"
    # A turn of noise only is kept, but never clustered.
    assert (segs[2].backchannel, segs[2].clusterable) == (True, False)


def test_segment_timestamps_from_labels_and_time_markers():
    text = "Jane (00:01:02): One thing. [00:01:30] Another thing here. And more.\nBob: Yes indeed, I agree.\n"
    t = parse_text(text, "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(max_sentences=1), roles())
    assert [(s.text, s.timestamp) for s in segs] == [
        ("One thing.", "00:01:02"), ("Another thing here.", "00:01:30"), ("And more.", "00:01:30"),
        ("Yes indeed, I agree.", "")]
    assert segs[1].annotations == ("[00:01:30]",)


def test_repeated_label_is_not_in_segment_text():
    text = "User 1: I was there for weeks.\nUser 1: Then they let me go home.\nNurse 1: Right.\n"
    segs = segment([parse_text(text, "m.txt", Path("m.txt"))], SegmentationConfig(), roles())
    assert segs[0].text == "I was there for weeks. Then they let me go home."


def test_windows_of_n_sentences_and_max_chars():
    speech = " ".join(f"Sentence number {i} is here." for i in range(1, 8))
    t = parse_text(f"User 1: {speech}\n", "m.txt", Path("m.txt"))
    assert [len(sentence_spans(s.text)) for s in segment([t], SegmentationConfig(max_sentences=3), roles())] == [3, 3, 1]
    assert len(segment([t], SegmentationConfig(max_sentences=10, max_chars=60), roles())) == 4


def test_unlabelled_turns_are_respondents():
    from pipeline.speakers import role_of

    assert role_of("", "survey.csv", roles()) == "respondent"
    assert role_of("", "survey.csv", SpeakersConfig(roles={"anonymous": [""]})) == "anonymous"
    assert role_of("", "survey.csv", SpeakersConfig(roles={"all": ["*"]})) == "respondent"


def test_long_turn_segments_without_backtracking():
    speech = "word [note] (laughs) more words here. " * 1200  # 45,600 characters, one line
    t = parse_text(f"User 1: {speech}\n", "m.txt", Path("m.txt"))
    segs = segment([t], SegmentationConfig(), roles())
    assert len(segs) == 400 and segs[0].text == "word more words here. word more words here. word more words here."


def test_sentence_splitting_does_not_load_pytorch():
    import subprocess
    import sys
    from pathlib import Path

    probe = ("import sys\n"
             "from pipeline.segment import sentence_spans\n"
             "assert sentence_spans('One. Two?') == [(0, 4), (5, 9)]\n"
             "print('torch' in sys.modules, 'torch' in sys.modules and sys.modules['torch'] is None)\n"
             "import torch\n"
             "print(torch.tensor([1]).sum().item())\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    assert out == ["False", "False", "1"]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["Yes", " ", "  ", "well", ".", "!", "?", ",", "...", "…", "。", "！", "\n",
                                      "\xa0", "\u3000", "e.g.", "Dr.", "'", "\"", "(", ")", "」", "¿", "؟", "a"]),
                      max_size=40),
       max_sentences=st.integers(1, 4), max_chars=st.integers(20, 60), language=st.sampled_from(["en", "ja", "fr"]))
def test_short_turns_are_one_window_exactly_as_when_split(parts, max_sentences, max_chars, language):
    """A turn taken whole without splitting it into sentences gets the window splitting it
    would have given."""
    from pipeline.segment import _one_window, _windows, most_sentences

    text = "".join(parts)
    config = SegmentationConfig(max_sentences=max_sentences, max_chars=max_chars, language=language)
    spans = sentence_spans(text, language)
    assert len(spans) <= most_sentences(text)
    whole = _one_window(text, config)
    if whole is not None:
        assert whole == _windows(text, spans, max_sentences, max_chars)


def test_every_sentence_end_is_counted():
    import unicodedata

    from spacy.pipeline import Sentencizer

    for ch in list(Sentencizer.default_punct_chars) + list("。！？!?"):
        assert ch in ".!?" or (ord(ch) > 127 and unicodedata.category(ch) == "Po"), repr(ch)


def test_a_tables_role_column_gives_each_row_its_role(tmp_path):
    from pipeline.formats import read_bytes
    from pipeline.speakers import render_speaker_table, speaker_table, unstated_roles

    table = ("comment,role,speaker\nNobody called me back.,Service user,\nNot told anything.,Carer,\n"
             "No time on the ward.,Nurse,\nLists are too long.,,\nI run the group.,Carer,Facilitator 1\n"
             "Then I went home.,Carer,Jane\n")
    transcripts = read_bytes(table.encode(), Path("survey.csv"), "survey.csv")
    segments = segment(transcripts, SegmentationConfig(), roles())
    assert [(s.role, s.annotations) for s in segments] == [
        ("user", ("role=Service user",)), ("unknown", ("role=Carer",)), ("professional", ("role=Nurse",)),
        ("respondent", ()),  # no role stated: a respondent, as a row without a role column
        ("facilitator", ("role=Carer",)),  # a stated role that matches none: the label decides
        ("unknown", ("role=Carer",))]
    assert unstated_roles(segments, roles()) == ["Carer"]
    assert render_speaker_table(speaker_table(transcripts, roles())).splitlines()[1:] == [
        "(no speaker)                    1        1  respondent",
        "(no speaker: Carer)             1        1  unknown",
        "(no speaker: Nurse)             1        1  professional",
        "(no speaker: Service user)      1        1  user",
        "Facilitator 1                   1        1  facilitator",
        "Jane                            1        1  unknown"]
    carers = SpeakersConfig(roles={**roles().roles, "carer": ["Carer*"]})
    assert [s.role for s in segment(transcripts, SegmentationConfig(), carers)][:2] == ["user", "carer"]
    # input.columns.role: "" reads no role column
    unread = read_bytes(table.encode(), Path("survey.csv"), "survey.csv", columns={"role": ""})
    assert {s.role for s in segment(unread, SegmentationConfig(), roles())} == {"respondent", "facilitator", "unknown"}


def test_the_run_warns_of_role_values_that_leave_rows_out_and_not_of_labels_the_column_gave_a_role(
        tmp_path, fake_embedder):
    from pipeline.config import load_config
    from pipeline.runner import execute

    (tmp_path / "survey.csv").write_text(
        "comment,role,speaker\nThe ward was loud at night.,Researcher,\nNobody explained my tablets.,Nurse,Jane\n"
        "The food was cold again.,Service user,\n", encoding="utf-8")
    config = load_config(overrides={"input": {"paths": [str(tmp_path / "survey.csv")]}, "taxonomy": "none",
                                    "cache": {"enabled": False},
                                    "decisions": {"path": str(tmp_path / "decisions.jsonl")}})
    notes = execute(config, embedder=fake_embedder).notes
    assert any("role column says Researcher get a role left out of clustering" in note for note in notes)
    assert not any("match no role in speakers.roles" in note for note in notes)  # Jane is a nurse by her row


def test_an_unknown_role_that_patterns_also_give_warns_only_of_labels_matching_none():
    """unknown_role: facilitator: 'Facilitator 1' matches the facilitator patterns; 'Bob' none."""
    from pipeline.artifacts import Source
    from pipeline.speakers import unknown_speakers

    cfg = SpeakersConfig(roles={"user": ["User *"], "facilitator": ["Facilitator*"]}, unknown_role="facilitator")
    source = Source("a.txt", "a.txt", "0" * 64, 3, ("Facilitator 1", "User 1", "Bob"))
    assert unknown_speakers([source], cfg) == ["Bob"]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(["waited", "a", " ", "  ", ",", ", ", "、", "；", " — ", "\n", "待って", "x" * 30,
                                      "."]), max_size=80),
       max_sentences=st.integers(1, 4), max_chars=st.integers(20, 60), language=st.sampled_from(["en", "ja"]))
def test_windows_keep_every_character_and_stay_within_max_chars(parts, max_sentences, max_chars, language):
    from pipeline.segment import _windows

    text = "".join(parts)
    windows = _windows(text, sentence_spans(text, language), max_sentences, max_chars)
    assert all(0 < end - start <= max_chars for start, end in windows)
    assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))
    assert "".join(text[a:b] for a, b in windows).split() == [] if not text.strip() else \
        "".join("".join(text[a:b] for a, b in windows).split()) == "".join(text.split())


def test_a_cut_leaves_no_reply_too_short_to_cluster_and_never_splits_a_letter_from_its_mark():
    from pipeline.segment import _parts

    # A comma near the end used to win over every space: 594 characters and "ok yes".
    speech = (" ".join(["we waited and waited"] * 30))[:576].rstrip() + ", ok yes"
    assert 580 < len(speech) < 590 and speech.index(",") <= 580
    parts = _parts(speech, 0, len(speech), 580)
    assert len(parts) == 2 and min(b - a for a, b in parts) >= 580 // 3
    for extra in range(4):  # no spaces: cut between two letters, wherever the middle falls
        thai = "ก่" * 300 + "ก" * extra
        for a, b in _parts(thai, 0, len(thai), 250):
            assert not unicodedata.category(thai[a]).startswith("M") and b - a <= 250
