"""Transcript noise: which notes, placeholders and service lines are kept out of the speech,
and which look like them but are a participant's words and must stay."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import SegmentationConfig, load_config
from pipeline.formats.noise import find_markers
from pipeline.formats.text import parse_text
from pipeline.segment import normalise, segment


def markers(text):
    return [m.text for m in find_markers(text)]


def segments(text, max_sentences=3):
    t = parse_text(text, "t.txt", Path("t.txt"))
    return segment([t], SegmentationConfig(max_sentences=max_sentences), load_config().speakers)


@pytest.mark.parametrize("text, expected", [
    # sounds and events
    ("It was okay (indecipherable) and then", ["(indecipherable)"]),
    ("I got a bit upset (emotional) to be honest.", ["(emotional)"]),
    ("(whispering) I didn't want him to hear. (becomes emotional)", ["(whispering)", "(becomes emotional)"]),
    ("Dass andere das erlebt haben. (lacht) Man fühlt sich (unv.) allein. (räuspert sich)",
     ["(lacht)", "(unv.)", "(räuspert sich)"]),
    ("They said <laughs> whatever. <inaudible 00:01:02> and", ["<laughs>", "<inaudible 00:01:02>"]),
    ("It's hard to explain... *sighs* and *laughs nervously*", ["*sighs*", "*laughs nervously*"]),
    # pauses
    ("We waited (.) and waited (2.0) and (0.5) then (...) nothing (4 Sek.) (3 sec)",
     ["(.)", "(2.0)", "(0.5)", "(...)", "(4 Sek.)", "(3 sec)"]),
    ("and (3s) then (2.5s)", ["(3s)", "(2.5s)"]),
    # overlap
    ("I went because // I wanted to meet people//", ["//", "//"]),
    ("// yeah same", ["//"]),
    ("//yeah same", ["//"]),
    ("see https://nhs.uk/help and http://example.org // later", ["//"]),  # not in a link
    # anonymisation placeholders
    ("My psychiatrist (name removed) was fine.", ["(name removed)"]),
    ("I went to (LOCATION) hospital and (HOSPITAL NAME) and (PERSON_2) and (NAME OF WARD)",
     ["(LOCATION)", "(HOSPITAL NAME)", "(PERSON_2)", "(NAME OF WARD)"]),
    ("I take (medication name) with (son's name) at (name of the ward)",
     ["(medication name)", "(son's name)", "(name of the ward)"]),
    ("(name) (place) (Location) (redacted) (details removed for anonymity) (identifying details redacted)",
     ["(name)", "(place)", "(Location)", "(redacted)", "(details removed for anonymity)",
      "(identifying details redacted)"]),
    ("(staff member's name removed) (hospital name withheld) (personal information anonymised)",
     ["(staff member's name removed)", "(hospital name withheld)", "(personal information anonymised)"]),
    ("<NAME> said <name removed>", ["<NAME>", "<name removed>"]),
])
def test_notes_pauses_overlaps_and_placeholders_are_markers(text, expected):
    assert markers(text) == expected


@pytest.mark.parametrize("text", [
    "(I think) it was (the ward) (and my mum) that helped",
    "(name of the ward was changed)",  # too long to be sure it is a note
    "you know (what's her name) and (his name) and (the same name) and (a name)",
    "(which I deleted) (I removed it) (it was removed) (some details removed) (gallbladder removed)",
    "the crisis team (CRHT) and (PTSD) (CBT) (CAMHS) (WRAP) (NHS) (NHS TRUST)",
    "(emotional abuse) (upset stomach) (whispering campaign)",
    "I was *really* scared, I was *crying*, **laughs**",
    "it had (1) the wait and (2) the staff, scored (2.50), (unvollständig), (Tagesklinik?), the (90s)",
    "I scored <5 on one and >3 on the other",
    "and/or https://nhs.uk/help",
])
def test_asides_acronyms_emphasis_and_numbers_stay_speech(text):
    assert markers(text) == []


def test_f4_time_marks_are_times():
    found = find_markers("Wie haben Sie die Tagesklinik erlebt? #00:00:05-2# Gut. #00:01:02#")
    assert [(m.text, m.time) for m in found] == [("#00:00:05-2#", "00:00:05.200"), ("#00:01:02#", "00:01:02")]
    segs = segments("B: Am Anfang war es schwierig. #00:00:21-7# Aber es hat geholfen. #00:00:39-5#\n",
                    max_sentences=1)
    assert [(s.text, s.annotations, s.timestamp) for s in segs] == [
        ("Am Anfang war es schwierig.", (), ""),
        ("Aber es hat geholfen.", ("#00:00:21-7#", "#00:00:39-5#"), "00:00:21.700")]


def test_an_f4_turn_starts_at_the_time_mark_that_ended_the_turn_before():
    text = ("I: Wie haben Sie die Tagesklinik erlebt? #00:00:05-2#\n"
            "B: Am Anfang war es schwierig. #00:00:21-7#\n"
            "I: Und dann? (.) #00:00:24-0# Erzählen Sie.\n"
            "B: Es hat geholfen.\n")
    # The last turn follows one that did not end with a mark: its time is not known.
    assert [s.timestamp for s in segments(text)] == ["", "00:00:05.200", "00:00:21.700", ""]


def test_a_pause_does_not_end_a_sentence():
    segs = segments("Jane: We waited (.) and waited (2.0) and then nothing.\n", max_sentences=1)
    assert [(s.text, s.annotations) for s in segs] == [
        ("We waited and waited and then nothing.", ("(.)", "(2.0)"))]


def test_a_placeholder_leaves_the_embedded_text_and_stays_in_the_source_span():
    text = "Jane: My psychiatrist (name removed) was fine. I went to (LOCATION) hospital.\n"
    segs = segments(text)
    assert [(s.text, s.annotations) for s in segs] == [
        ("My psychiatrist was fine. I went to hospital.", ("(name removed)", "(LOCATION)"))]
    assert text[segs[0].start:segs[0].end] == "My psychiatrist (name removed) was fine. I went to (LOCATION) hospital."


@pytest.mark.parametrize("line", [
    "Transcribed by https://otter.ai",
    "Anna Fischer stopped transcription",
    "Fischer, Anna stopped transcription",  # Teams' surname-first layout
    "Mark O'Brien started transcription",
    "Özlem Yılmaz started transcription",
    "Page 2 of 2",
    "  PAGE 3  ",
    "CONFIDENTIAL – Study ref 22/LO/1234                         Page 2 of 2",
    "Page 1 of 3\tInterview 4",
    "BREAK IN RECORDING",
    "*** END OF TRANSCRIPT ***",
    "--- END OF RECORDING ---",
    "RECORDING PAUSED.",
])
def test_service_lines_are_markers_when_a_whole_line(line):
    assert markers(f"Just knowing where I was in the queue.\n\n{line}\n") == [line.strip()]
    segs = segments(f"Jane: Just knowing where I was in the queue.\n\n{line}\nBob: Yes.\n")
    assert [s.text for s in segs] == ["Just knowing where I was in the queue.", "Yes."]


@pytest.mark.parametrize("line", [
    "I stopped transcription work years ago",
    "I stopped transcription",
    "So, I stopped transcription",
    "Well, Anna stopped transcription",
    "She started transcription",
    "Anna went and stopped transcription",
    "Page two of the leaflet said",
    "Page 2 of the leaflet said to ring",
    "On page 2 of 3 it said",
    "I was on page 2   Page 2 of 3 too",
    "Transcribed by my friend",
    "Break in recording",
    "End of recording",
    "the END OF RECORDING came",
    "END OF RECORDING, she said",
])
def test_sentences_like_service_lines_stay_speech(line):
    assert markers(f"Just knowing where I was.\n{line}\n") == []


def test_a_service_line_is_a_marker_only_after_a_line_break():
    # The first line of a turn follows its speaker's label: the speaker said it.
    assert markers("Page 2 of 2") == []
    assert markers("END OF RECORDING") == ["END OF RECORDING"]  # nobody says that in capitals


PIECES = st.sampled_from([
    "I waited", " ", ".", "\n", "(.)", "(2.0)", "//", "/", "(name removed)", "(LOCATION)", "(I think)", "*sighs*",
    "*", "<laughs>", "<", ">", "(", ")", "#00:00:05-2#", "#", "Page 2 of 2", "Page", "2", "   ", "\t",
    "END OF RECORDING", "Anna Fischer stopped transcription", "Transcribed by https://otter.ai", "(laughs)",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(PIECES, max_size=30).map("".join))
def test_markers_cut_the_source_in_order_and_segments_keep_their_speech(speech):
    found = find_markers(speech)
    assert all(m.text and m.text == m.text.strip() == speech[m.start:m.end] for m in found)
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    text = f"Jane: {speech}\nBob: Yes.\n"
    for s in segments(text, max_sentences=1):
        cut = iter(text[s.start:s.end])
        assert all(char in cut for char in "".join(s.text.split()))  # what an export checks
        assert s.text == normalise(s.text)


def test_a_name_of_something_that_identifies_no_one_stays_speech():
    from pipeline.formats.noise import find_markers

    assert [m.text for m in find_markers("is the (name of the game) on that ward, at (name of hospital)")] == [
        "(name of hospital)"]
