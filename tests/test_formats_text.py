"""Speaker styles of plain-text transcripts, and a round-trip property over random turns."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipeline.errors import ThemesError
from pipeline.formats import read_bytes
from pipeline.formats.text import _names_someone, parse_label, parse_text
from pipeline.segment import normalise


def turns(text):
    t = parse_text(text, "t.txt", Path("t.txt"))
    for turn in t.turns:
        assert len(turn.text) == turn.end - turn.start
    return [(turn.speaker, normalise(turn.text), turn.timestamp) for turn in t.turns]


@pytest.mark.parametrize("text, expected", [
    ("Jane: Hello there.\nBOB: Hi.\n", [("Jane", "Hello there.", ""), ("BOB", "Hi.", "")]),
    ("F: Shall we start?\n19: Yes.\n", [("F", "Shall we start?", ""), ("19", "Yes.", "")]),
    ("[Interviewer] How was it?\n[Participant 2] Fine, mostly.\n",
     [("Interviewer", "How was it?", ""), ("Participant 2", "Fine, mostly.", "")]),
    ("**Jane Doe:** Hello.\n**Bob**: Hi.\n", [("Jane Doe", "Hello.", ""), ("Bob", "Hi.", "")]),
    ("Jane (00:01:02): Hello.\nBob [1:05]: Hi.\n", [("Jane", "Hello.", "00:01:02"), ("Bob", "Hi.", "00:01:05")]),
    ("00:01:02 Jane: Hello.\n[00:01:09] Bob: Hi.\n", [("Jane", "Hello.", "00:01:02"), ("Bob", "Hi.", "00:01:09")]),
    ("Speaker 1  0:03\nHello everyone.\nSecond line.\n\nSpeaker 2  0:15\nHi.\n",
     [("Speaker 1", "Hello everyone. Second line.", "00:00:03"), ("Speaker 2", "Hi.", "00:00:15")]),
    ("利用者1：今日は雨です。\n看護師：そうですね。\n", [("利用者1", "今日は雨です。", ""), ("看護師", "そうですね。", "")]),
    # Roles in brackets or bold (their words in lower case).
    ("[Interviewer] What then?\n[Service user 2] They sent me home.\n",
     [("Interviewer", "What then?", ""), ("Service user 2", "They sent me home.", "")]),
    ("**Service user 2:** I waited.\n\n**Interviewer:** Then?\n\n**Peer support worker:** Often.\n",
     [("Service user 2", "I waited.", ""), ("Interviewer", "Then?", ""), ("Peer support worker", "Often.", "")]),
    # A Markdown list's points with a bold lead-in, inside a turn, are speech, not speakers.
    ("P1: It helped. The points I'd make:\n- **Peer support:** it was the best part.\n- **Access:** hard to get there.\n"
     "1) **Nurse:** kind.\nInterviewer: Thanks.\n",
     [("P1", "It helped. The points I'd make: - **Peer support:** it was the best part. - **Access:** hard to get "
             "there. 1) **Nurse:** kind.", ""), ("Interviewer", "Thanks.", "")]),
    # A line of speech ending in a time, in a file of "Name  0:03" label lines, is speech.
    ("Speaker 1  0:03\nWhen can we meet?\n\nSpeaker 2  0:10\nLet me check.\nOkay Thursday 10:30\nDoes that work?\n\n"
     "Speaker 1  0:20\nYes.\n",
     [("Speaker 1", "When can we meet?", "00:00:03"), ("Speaker 2", "Let me check. Okay Thursday 10:30 Does that work?",
                                                       "00:00:10"), ("Speaker 1", "Yes.", "00:00:20")]),
    # So are a list's points with a colon ("- Access" was a speaker), unless a label recurs.
    ("P1: It helped.\n- Access: hard to get there.\n- Staff: kind.\n1. Wards: noisy.\n2) Food: cold.\n"
     "Interviewer: Thanks.\n",
     [("P1", "It helped. - Access: hard to get there. - Staff: kind. 1. Wards: noisy. 2) Food: cold.", ""),
      ("Interviewer", "Thanks.", "")]),
    ("- Jane: I waited.\n- Bob: Me too.\n- Jane: Awful.\n- Bob: Yes.\n",
     [("Jane", "I waited.", ""), ("Bob", "Me too.", ""), ("Jane", "Awful.", ""), ("Bob", "Yes.", "")]),
    # An invisible mark before a label (pasted text): the turns stayed merged across speakers.
    ("\u200bInterviewer: How was it?\n\u200eP1: Noisy.\n\u200bInterviewer: Hard?\nP1: Yes.\n",
     [("Interviewer", "How was it?", ""), ("P1", "Noisy.", ""), ("Interviewer", "Hard?", ""), ("P1", "Yes.", "")]),
    # One person however the label is spaced (a no-break space from Word, two spaces).
    ("Jane\u00a0Doe: One.\nBob: Two.\nJane  Doe: Three.\nBob: Four.\nJane Doe: Five.\n",
     [("Jane Doe", "One.", ""), ("Bob", "Two.", ""), ("Jane Doe", "Three.", ""), ("Bob", "Four.", ""),
      ("Jane Doe", "Five.", "")]),
    # Teams' "Surname, First" names on label lines, heard once or twice, whatever the surname.
    ("Fischer, Anna  0:03\nHow was it?\n\nPatel, Ravi  0:40\nFine.\n\nMay, Theresa  0:50\nGood.\n",
     [("Fischer, Anna", "How was it?", "00:00:03"), ("Patel, Ravi", "Fine.", "00:00:40"),
      ("May, Theresa", "Good.", "00:00:50")]),
    # Without blank lines between turns (a Word copy): a line of speech ending in a time is out
    # of step with the label lines' times; a speaker heard once after it is not.
    ("Will Thompson  0:03\nHello.\nJoe Bloggs  0:10\nHi.\nLovely 10:30\nSee you.\nAnn Lee  0:20\nBye.\n",
     [("Will Thompson", "Hello.", "00:00:03"), ("Joe Bloggs", "Hi. Lovely 10:30 See you.", "00:00:10"),
      ("Ann Lee", "Bye.", "00:00:20")]),
    ("Fischer, Anna   0:03\nHow was it?\n\nO'Brien, Mark   0:10\nFine.\n\nFischer, Anna   0:21\nGood.\n\n"
     "O'Brien, Mark   0:25\nThanks.\n",
     [("Fischer, Anna", "How was it?", "00:00:03"), ("O'Brien, Mark", "Fine.", "00:00:10"),
      ("Fischer, Anna", "Good.", "00:00:21"), ("O'Brien, Mark", "Thanks.", "00:00:25")]),
    # A line of speech ending in a time in such a file is speech, heard once ("Okay, Thursday") or
    # not: it has no blank line above, as the label lines have; it was a speaker, its words lost.
    ("Speaker 1  0:03\nWhen can we meet again?\n\nSpeaker 2  0:10\nLet me check.\nOkay, Thursday 10:30\n"
     "Does that work for you?\n",
     [("Speaker 1", "When can we meet again?", "00:00:03"),
      ("Speaker 2", "Let me check. Okay, Thursday 10:30 Does that work for you?", "00:00:10")]),
    ("Fischer, Anna   0:03\nWhen?\nTuesday, March 3 10:30\n\nO'Brien, Mark   0:10\nYes, Anna 10:30\n\n"
     "Fischer, Anna   0:21\nHi, Sam 10:00\n\nO'Brien, Mark   0:25\nOk.\n",
     [("Fischer, Anna", "When? Tuesday, March 3 10:30", "00:00:03"), ("O'Brien, Mark", "Yes, Anna 10:30", "00:00:10"),
      ("Fischer, Anna", "Hi, Sam 10:00", "00:00:21"), ("O'Brien, Mark", "Ok.", "00:00:25")]),
    # One blank line added before a new topic, in a copy with none between turns: no layout.
    ("Fischer, Anna   0:03\nHow was the ward?\nPatel, Ravi   0:10\nNoisy.\nFischer, Anna   0:20\nSay more?\n"
     "Patel, Ravi   0:31\nKind staff.\n\nFischer, Anna   0:45\nAnd food?\nPatel, Ravi   0:52\nCold.\n",
     [("Fischer, Anna", "How was the ward?", "00:00:03"), ("Patel, Ravi", "Noisy.", "00:00:10"),
      ("Fischer, Anna", "Say more?", "00:00:20"), ("Patel, Ravi", "Kind staff.", "00:00:31"),
      ("Fischer, Anna", "And food?", "00:00:45"), ("Patel, Ravi", "Cold.", "00:00:52")]),
    # Labels typed in lower case, with speech in lower case too (only brackets can hide a name).
    ("interviewer: how was the ward?\nparticipant: I found it noisy.\ninterviewer: why was that?\n"
     "participant: staff changes mostly.\n",
     [("interviewer", "how was the ward?", ""), ("participant", "I found it noisy.", ""),
      ("interviewer", "why was that?", ""), ("participant", "staff changes mostly.", "")]),
    # A numbered list in an answer is no numbered transcript: nobody in it speaks twice.
    ("P1: Here are my thoughts.\n1. Access: hard by bus.\n2. Staff: kind.\n3. Food: cold.\n4. Wards: noisy.\n"
     "5. Visits: short.\n",
     [("P1", "Here are my thoughts. 1. Access: hard by bus. 2. Staff: kind. 3. Food: cold. 4. Wards: noisy. "
             "5. Visits: short.", "")]),
    # A speaker heard twice keeps a line without the blank line above, or a time that restarts.
    ("Anna Fischer  0:03\nHow?\n\nJoe Bloggs  0:10\nNoisy.\nRavi Patel  0:15\nSame.\n\nAnna Fischer  0:20\nWhy?\n\n"
     "Joe Bloggs  0:31\nStaff.\n\nRavi Patel  0:45\nCold.\n",
     [("Anna Fischer", "How?", "00:00:03"), ("Joe Bloggs", "Noisy.", "00:00:10"), ("Ravi Patel", "Same.", "00:00:15"),
      ("Anna Fischer", "Why?", "00:00:20"), ("Joe Bloggs", "Staff.", "00:00:31"), ("Ravi Patel", "Cold.", "00:00:45")]),
    ("Speaker 1  10:00\nFirst file done.\n\nSpeaker 2  0:02\nCarrying on.\n\nSpeaker 1  0:30\nDischarge?\n\n"
     "Speaker 2  1:10\nRushed.\n",
     [("Speaker 1", "First file done.", "00:10:00"), ("Speaker 2", "Carrying on.", "00:00:02"),
      ("Speaker 1", "Discharge?", "00:00:30"), ("Speaker 2", "Rushed.", "00:01:10")]),
    # A numbered list in an answer between two of P1's turns is still no numbered transcript.
    ("P1: My thoughts.\n1. Access: by bus.\n2. Staff: kind.\n3. Food: cold.\n4. Parking: none.\n5. Noise: loud.\n"
     "P1: That is all.\n",
     [("P1", "My thoughts. 1. Access: by bus. 2. Staff: kind. 3. Food: cold. 4. Parking: none. 5. Noise: loud. "
             "That is all.", "")]),
    # A line of speech ending in a time said twice is still speech.
    ("Anna Fischer  0:03\nWhen?\n\nJoe Bloggs  0:10\nLet me check.\nThursday 10:30\nFine.\n\n"
     "Anna Fischer  0:20\nAnd after?\n\nJoe Bloggs  0:31\nSame.\nThursday 10:30\nGood.\n",
     [("Anna Fischer", "When?", "00:00:03"), ("Joe Bloggs", "Let me check. Thursday 10:30 Fine.", "00:00:10"),
      ("Anna Fischer", "And after?", "00:00:20"), ("Joe Bloggs", "Same. Thursday 10:30 Good.", "00:00:31")]),
    # Turns numbered "1.": the numbers are a margin, so a speaker heard once is one.
    ("1. Interviewer: How was it?\n2. P1: Noisy.\n3. Interviewer: Why?\n4. P1: Staff changes.\n"
     "5. Nurse Adams: We were short.\n6. Interviewer: Thanks.\n",
     [("Interviewer", "How was it?", ""), ("P1", "Noisy.", ""), ("Interviewer", "Why?", ""), ("P1", "Staff changes.", ""),
      ("Nurse Adams", "We were short.", ""), ("Interviewer", "Thanks.", "")]),
    # Names with vowel signs (combining marks): no speaker turn was found at all.
    ("डॉक्टर: आप कैसे हैं?\nमरीज़: ठीक हूँ।\n", [("डॉक्टर", "आप कैसे हैं?", ""), ("मरीज़", "ठीक हूँ।", "")]),
    ("พยาบาล: สวัสดีค่ะ\nผู้ป่วย: ดีครับ\n", [("พยาบาล", "สวัสดีค่ะ", ""), ("ผู้ป่วย", "ดีครับ", "")]),
    ("Interviewer:\nSo tell me.\n\nP1:\nWell.\n", [("Interviewer", "So tell me.", ""), ("P1", "Well.", "")]),
    ("Jane (nurse): Hello.\nP1 (female, 45): Hi.\n", [("Jane", "Hello.", ""), ("P1", "Hi.", "")]),
    ("Interviewer\tSo how was it?\nJane Doe\t\tFine.\nIt was fine.\n",
     [("Interviewer", "So how was it?", ""), ("Jane Doe", "Fine. It was fine.", "")]),
])
def test_speaker_styles(text, expected):
    assert turns(text) == expected


@pytest.mark.parametrize("line", [
    "[inaudible] and then", "[Overlapping Speech] yes", "[Long pause] so", "[1] a footnote", "[00:01:02] and then", "10:30 we met", "I said: no more",
    "http://example.org/page", "Meeting at 10:30", "the rule is: wait",
])
def test_not_labels(line):
    label = parse_label(line)
    # A label with a lower-case word is a turn only where it recurs (see the next test).
    assert label is None or (not label.certain and any(w[0].islower() for w in label.speaker.split()))


def test_a_redaction_placeholder_in_lower_case_starting_a_line_stays_speech():
    # "[support worker]" and "[doctor]" stand for names taken out; they were made speakers.
    text = ("Interviewer: How was the week?\nP1: It was hard. I rang the crisis line on Monday.\n"
            "[support worker] came round on Tuesday and we talked it through.\n"
            "[doctor] said I could go back on the old dose.\n**nurse:** was kind too.\nInterviewer: And then?\n")
    assert turns(text) == [
        ("Interviewer", "How was the week?", ""),
        ("P1", "It was hard. I rang the crisis line on Monday. [support worker] came round on Tuesday and we "
               "talked it through. [doctor] said I could go back on the old dose. **nurse:** was kind too.", ""),
        ("Interviewer", "And then?", "")]
    # A placeholder that recurs, each time running on in lower case, is still speech.
    assert turns("P1: It was hard.\n[care coordinator] came round.\nInterviewer: Then?\nP1: Yes.\n"
                 "[care coordinator] rang me.\n") == [
        ("P1", "It was hard. [care coordinator] came round.", ""), ("Interviewer", "Then?", ""),
        ("P1", "Yes. [care coordinator] rang me.", "")]
    # Such a role all in lower case labels turns where it recurs.
    assert turns("[Interviewer] How was it?\n[participant] Hard.\n[Interviewer] Why?\n[participant] Waiting.\n") == [
        ("Interviewer", "How was it?", ""), ("participant", "Hard.", ""), ("Interviewer", "Why?", ""),
        ("participant", "Waiting.", "")]
    assert turns("**interviewer:** How?\n**participant:** Hard.\n**interviewer:** Why?\n**participant:** Waiting.\n") == [
        ("interviewer", "How?", ""), ("participant", "Hard.", ""), ("interviewer", "Why?", ""),
        ("participant", "Waiting.", "")]


def test_colon_sentence_stays_in_the_turn():
    assert turns("User 1: I told them this:\nI said: no more pills.\nthe rule is: wait\nNurse 1: Right.\n") == [
        ("User 1", "I told them this: I said: no more pills. the rule is: wait", ""), ("Nurse 1", "Right.", "")]


def test_description_after_a_name_is_kept_as_an_annotation_not_a_new_speaker():
    t = parse_text("P1 (female, 45): I waited.\nInterviewer: How long?\nP1: Months.\nDr. Smith (consultant): Yes.\n"
                   "Jane (00:01:02): Hi.\n[Jane (nurse)] Hello.\nJane: Again.\n看護師（主任）：はい。\n", "t.txt", Path("t.txt"))
    assert [(turn.speaker, turn.annotations, turn.timestamp) for turn in t.turns] == [
        ("P1", ("description=female, 45",), ""), ("Interviewer", (), ""), ("P1", ("description=female, 45",), ""),
        ("Dr. Smith", ("description=consultant",), ""),
        ("Jane", ("description=nurse",), "00:01:02"), ("看護師", ("description=主任",), "")]
    # "Jane (00:01:02):" is a time, not a description; the same speaker described later
    # continues the turn. A description describes the speaker: each of their turns carries it.
    assert normalise(t.turns[4].text) == "Hi. Hello. Again."


def test_description_in_a_speaker_column_or_cue_label_is_an_annotation():
    table = read_bytes(b"id,speaker,text\n1,Jane (nurse),Hello.\n2,Jane,Hi again.\n", Path("t.csv"), "t.csv")[0]
    assert [(turn.speaker, turn.annotations) for turn in table.turns] == [
        ("Jane", ("description=nurse", "id=1")), ("Jane", ("description=nurse", "id=2"))]
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Bob (carer)>Hi.</v>\n\n00:03.000 --> 00:04.000\nAnn (nurse): Yes.\n"
    cues = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")[0]
    assert [(turn.speaker, turn.annotations) for turn in cues.turns] == [
        ("Bob", ("description=carer",)), ("Ann", ("description=nurse",))]
    # In captions mostly without labels, a label must recur: "Ann (nurse):" and "Ann:" are Ann twice.
    captions = "".join(f"{i}\n00:00:0{i},000 --> 00:00:0{i},500\n{cue}\n\n" for i, cue in enumerate(
        ["Ann (nurse): One.", "more", "more", "Ann: Two.", "more"], start=1))
    cues = read_bytes(captions.encode(), Path("c.srt"), "c.srt")[0]
    assert [(turn.speaker, turn.annotations) for turn in cues.turns] == [("Ann", ("description=nurse",))]


def test_labels_told_apart_by_their_descriptions_are_different_speakers():
    text = ("Speaker (1): It was difficult at night.\nSpeaker (2): For me the nurses were kind.\n"
            "Participant (male): I waited.\nParticipant (female): Me too.\nParticipant (male): Months.\n"
            "more\nParticipant: Who said that?\n")
    t = parse_text(text, "t.txt", Path("t.txt"))
    # A name described two ways tells two people apart: the whole label is the speaker, with no
    # description= annotation, and consecutive turns of different people are not one turn.
    assert [(turn.speaker, normalise(turn.text), turn.annotations) for turn in t.turns] == [
        ("Speaker (1)", "It was difficult at night.", ()), ("Speaker (2)", "For me the nurses were kind.", ()),
        ("Participant (male)", "I waited.", ()), ("Participant (female)", "Me too.", ()),
        ("Participant (male)", "Months. more", ()), ("Participant", "Who said that?", ())]
    assert all(normalise(text[turn.start:turn.end]).endswith(normalise(turn.text)[-4:]) for turn in t.turns)


def test_one_description_still_describes_one_speaker_among_others_told_apart():
    t = parse_text("Nurse (A): Hello.\nNurse (B): Hi.\nP1 (female, 45): I waited.\nP1: Months.\n"
                   "Nurse (A): Right.\nNurse(A): Go on.\n", "t.txt", Path("t.txt"))
    assert [(turn.speaker, normalise(turn.text), turn.annotations) for turn in t.turns] == [
        ("Nurse (A)", "Hello.", ()), ("Nurse (B)", "Hi.", ()),
        ("P1", "I waited. Months.", ("description=female, 45",)), ("Nurse (A)", "Right. Go on.", ())]


def test_lower_case_labels_with_different_descriptions_are_each_seen_once():
    # "option (a):" and "option (b):" are two labels seen once each, so prose, not a speaker.
    assert turns("Jane: We had two choices:\noption (a): wait\noption (b): go private\nBob: Right.\n") == [
        ("Jane", "We had two choices: option (a): wait option (b): go private", ""), ("Bob", "Right.", "")]


def test_speaker_column_with_different_descriptions_via_ingest(tmp_path):
    from pipeline.ingest import ingest

    path = tmp_path / "notes.csv"
    path.write_text("id,speaker,text\n1,Nurse (A),Hello.\n2,Nurse (B),Hi.\n3,Nurse (A),Again.\n"
                    "4,Jane (carer),Yes.\n5,Jane,No.\n", encoding="utf-8")
    transcripts, problems = ingest([path])
    assert not problems
    assert [(turn.speaker, turn.text, turn.annotations) for turn in transcripts[0].turns] == [
        ("Nurse (A)", "Hello.", ("id=1",)), ("Nurse (B)", "Hi.", ("id=2",)), ("Nurse (A)", "Again.", ("id=3",)),
        ("Jane", "Yes.", ("description=carer", "id=4")), ("Jane", "No.", ("description=carer", "id=5"))]


def test_cue_labels_with_different_descriptions_are_different_speakers():
    vtt = ("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Nurse (A)>Hi.</v>\n\n"
           "00:03.000 --> 00:04.000\n<v Nurse (B)>Hello.</v>\n\n00:05.000 --> 00:06.000\n<v Nurse (B)>Yes.</v>\n")
    cues = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")[0]
    assert [(turn.speaker, normalise(turn.text), turn.annotations, turn.timestamp) for turn in cues.turns] == [
        ("Nurse (A)", "Hi.", (), "00:00:01.000"), ("Nurse (B)", "Hello. Yes.", (), "00:00:03.000")]


def test_markdown_header_and_rules_are_metadata():
    t = parse_text("# Focus group 3\n\n**Date:** 1 May\n\nJane: Hi.\n\n---\n\n## Part two\n\nJane: More.\nBob: Ok.\n",
                   "t.md", Path("t.md"))
    assert [(turn.speaker, normalise(turn.text)) for turn in t.turns] == [("Jane", "Hi. More."), ("Bob", "Ok.")]
    assert t.metadata == ("# Focus group 3", "**Date:** 1 May", "---", "## Part two")


def test_repeated_label_with_time_times_the_later_part():
    t = parse_text("Jane (00:00:01): One.\nJane (00:00:09): Two.\nBob: Three.\n", "t.txt", Path("t.txt"))
    first = t.turns[0]
    assert first.timestamp == "00:00:01"
    assert first.times == ((first.text.index("Two"), "00:00:09"),)


def test_long_line_is_refused_quickly():
    with pytest.raises(ThemesError, match=r"t\.txt:2: line is 100,000 characters long"):
        parse_text("Jane: hi\n" + "x(" * 50_000 + "\n", "t.txt", Path("t.txt"))
    # Under the limit, a long line with many brackets and colons is read without backtracking.
    text = "Jane: " + "[a (laughs) b: c] " * 2700 + "\n"
    assert len(turns(text)) == 1


LABELS = st.sampled_from(["User 1", "User 2", "Nurse 1", "F", "19", "Facilitator", "利用者1", "DR SMITH", "P3"])
WORDS = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs"), blacklist_characters=":：[]［］()（）*#【】"),
                min_size=1, max_size=12)
SPEECH = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)


@st.composite
def conversations(draw):
    labels = draw(st.lists(LABELS, min_size=1, max_size=12))
    out = []
    for label in labels:
        if out and out[-1][0] == label:
            continue  # the same speaker twice in a row is one turn
        out.append((label, draw(SPEECH)))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
       st.sampled_from([": ", "：", " : "]))
def test_round_trip_no_turn_lost_or_merged(conversation, newline, encoding, colon):
    # Before the first turn, "Facilitator: A B" names who took part (metadata, docs/input.md).
    assume(not (conversation[0][0] == "Facilitator" and _names_someone(conversation[0][1])))
    text = newline.join(f"{label}{colon}{speech}" for label, speech in conversation) + newline
    transcripts = read_bytes(text.encode(encoding), Path("r.txt"), "r.txt")
    got = [(turn.speaker, normalise(turn.text)) for turn in transcripts[0].turns]
    assert got == [(label, normalise(speech)) for label, speech in conversation]


def test_notes_heading_ends_speech_until_the_next_label():
    t = parse_text("Jane: Hello.\n\nNotes\nThe ward was closed.\nBob: Hi.\n", "t.txt", Path("t.txt"))
    assert [(turn.speaker, normalise(turn.text)) for turn in t.turns] == [("Jane", "Hello."), ("Bob", "Hi.")]
    assert t.metadata == ("Notes", "The ward was closed.")


def test_utf16_without_bom_and_other_line_breaks():
    text = "Jane: Hello there.\u2028More from Jane.\x0bBob: Hi.\n"
    transcripts = read_bytes(text.encode("utf-16-le"), Path("t.txt"), "t.txt")
    assert [(turn.speaker, normalise(turn.text)) for turn in transcripts[0].turns] == [
        ("Jane", "Hello there. More from Jane."), ("Bob", "Hi.")]


def test_subtitle_speakers_tags_entities_and_unlabelled_cues():
    vtt = ("WEBVTT\n\nNOTE exported\n\n00:01.000 --> 00:02.000\n>> Jane: <i>Fish</i> &amp; chips.\n\n"
           "00:02.500 --> 00:03.000\nNo label, still Jane.\n\n00:04.000 --> 00:05.000\n<v.loud Bob Lee>Hi.</v>\n")
    t = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")[0]
    assert [(turn.speaker, normalise(turn.text), turn.timestamp) for turn in t.turns] == [
        ("Jane", "Fish & chips. No label, still Jane.", "00:00:01.000"), ("Bob Lee", "Hi.", "00:00:04.000")]
    assert t.metadata == ("WEBVTT", "NOTE exported")
    captions = "1\n00:00:01,000 --> 00:00:02,000\nJust captions.\n\n2\n00:00:03,000 --> 00:00:04,000\nNo speakers.\n"
    t = read_bytes(captions.encode(), Path("c.txt"), "c.txt")[0]  # content says SubRip
    assert [(turn.speaker, normalise(turn.text)) for turn in t.turns] == [("", "Just captions. No speakers.")]


def test_title_with_a_colon_is_metadata():
    t = parse_text("Focus Group 3: Recovery and hope\nDate: 1 May\n\nInterviewer: Welcome.\nP1: Thanks.\n",
                   "t.txt", Path("t.txt"))
    assert [turn.speaker for turn in t.turns] == ["Interviewer", "P1"]
    assert t.metadata == ("Focus Group 3: Recovery and hope", "Date: 1 May")


def test_notes_label_after_the_turns_is_not_a_speaker():
    t = parse_text("Jane: Hello.\nBob: Hi.\nNotes: recorded in the day room.\nThe heating was off.\n", "t.txt", Path("t.txt"))
    assert [(turn.speaker, normalise(turn.text)) for turn in t.turns] == [("Jane", "Hello."), ("Bob", "Hi.")]
    assert t.metadata == ("Notes: recorded in the day room.", "The heating was off.")


def test_cues_without_speech_are_an_error_not_an_empty_transcript():
    with pytest.raises(ThemesError, match="no subtitle cues with text"):
        read_bytes(b"WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann></v>\n", Path("s.vtt"), "s.vtt")
    turns = read_bytes(b"0:00,0-->0:00\n-:", Path("s.vtt"), "s.vtt")[0].turns
    assert [(t.speaker, t.text) for t in turns] == [("", "-:")]
    assert parse_label("-: x") is None and parse_label("--- : x") is None


@pytest.mark.parametrize("text, expected", [
    # heard once, with lower-case words: a role, one of a numbered family, a name with a particle
    ("Facilitator: And the staff?\nService user 1: Better.\nService user 2: Worse.\n"
     "Peer support worker: We hear a lot.\nDr de Souza: From the clinic's side, yes.\nService user 1: Ok.\n",
     [("Facilitator", "And the staff?", ""), ("Service user 1", "Better.", ""), ("Service user 2", "Worse.", ""),
      ("Peer support worker", "We hear a lot.", ""), ("Dr de Souza", "From the clinic's side, yes.", ""),
      ("Service user 1", "Ok.", "")]),
    # ... but a sentence with a colon stays speech, even one ending in a role word
    ("Jane: I told my support worker: no more.\nThe worker said: fine.\nBob: Right.\n",
     [("Jane", "I told my support worker: no more. The worker said: fine.", ""), ("Bob", "Right.", "")]),
    # the time first, the name alone on its line
    ("00:00:03 Speaker 1\nHello.\n00:00:10 Speaker 2\nHi.\n",
     [("Speaker 1", "Hello.", "00:00:03"), ("Speaker 2", "Hi.", "00:00:10")]),
    ("[00:00:03.15] - Speaker 1\n\nHello.\n\n[00:00:10.02] - Speaker 2\n\nHi.\n",
     [("Speaker 1", "Hello.", "00:00:03.150"), ("Speaker 2", "Hi.", "00:00:10.020")]),
])
def test_labels_heard_once_and_time_first_labels(text, expected):
    assert turns(text) == expected


def test_line_numbers_down_the_margin_are_left_out():
    text = ("1   Interviewer: Can you describe what happened when you were discharged\n"
            "2   from the inpatient unit?\n3   Participant: A leaflet. That was it.\n"
            "4   Interviewer: Any follow-up?\n5   Participant: Nobody rang.\n6   I rang them after a week.\n")
    assert turns(text) == [
        ("Interviewer", "Can you describe what happened when you were discharged from the inpatient unit?", ""),
        ("Participant", "A leaflet. That was it.", ""), ("Interviewer", "Any follow-up?", ""),
        ("Participant", "Nobody rang. I rang them after a week.", "")]
    # speaker numbers are not line numbers: they do not count up line by line
    numbered = "1\tHello there.\n2\tHi.\n1\tHow are you?\n2\tFine.\n1\tGood.\n2\tYes.\n"
    assert [speaker for speaker, _, _ in turns(numbered)] == ["1", "2", "1", "2", "1", "2"]


def test_numbered_headings_between_turns_are_metadata_and_part_the_turns():
    t = parse_text("Focus group 4\nTopic 1: Information sharing\nFacilitator: How much are you told?\n"
                   "Carer 1: Nothing.\nFacilitator: That's hard.\n\nTopic 2: Crisis care\n\n"
                   "Facilitator: Who did you call?\nCarer 1: 999.\n", "t.txt", Path("t.txt"))
    assert t.metadata == ("Focus group 4", "Topic 1: Information sharing", "Topic 2: Crisis care")
    assert [(turn.speaker, normalise(turn.text)) for turn in t.turns] == [
        ("Facilitator", "How much are you told?"), ("Carer 1", "Nothing."), ("Facilitator", "That's hard."),
        ("Facilitator", "Who did you call?"), ("Carer 1", "999.")]


def test_subtitles_labelled_cues_and_older_teams_layout():
    zoom = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:05.500\nAnna Fischer: Hardest part?\n\n"
            "2\n00:00:06.000 --> 00:00:12.300\nMark O'Brien: The letter.\n\n"
            "3\n00:00:12.300 --> 00:00:18.000\nIt just said: discharged, nothing else.\n\n"
            "4\n00:00:18.500 --> 00:00:20.000\nPriya Shah: Same.\n")
    [transcript] = read_bytes(zoom.encode(), Path("z.vtt"), "z.vtt")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [
        ("Anna Fischer", "Hardest part?"), ("Mark O'Brien", "The letter. It just said: discharged, nothing else."),
        ("Priya Shah", "Same.")]
    teams = ("0:0:0.0 --> 0:0:5.720\nFischer, Anna\nOK, thanks for joining.\n\n"
             "0:0:6.150 --> 0:0:12.300\nMark O'Brien\nHappy to be here.\nThe crisis team.\n\n"
             "0:0:12.800 --> 0:0:20.0\nFischer, Anna\nGood.\n")
    [transcript] = read_bytes(teams.encode(), Path("teams.txt"), "teams.txt")
    assert [(t.speaker, normalise(t.text), t.timestamp) for t in transcript.turns] == [
        ("Fischer, Anna", "OK, thanks for joining.", "00:00:00.000"),
        ("Mark O'Brien", "Happy to be here. The crisis team.", "00:00:06.150"),
        ("Fischer, Anna", "Good.", "00:00:12.800")]


def test_a_page_header_printed_again_between_turns_is_metadata():
    page = "CONFIDENTIAL – Study ref 22/LO/1234\nParticipant 04 interview transcript\n\n"
    t = parse_text(page + "Interviewer: So, the waiting times?\nParticipant: A year.\nInterviewer: Anyone check in?\n\n"
                   + page + "Participant: Once.\n", "t.txt", Path("t.txt"))
    assert [(turn.speaker, normalise(turn.text)) for turn in t.turns] == [
        ("Interviewer", "So, the waiting times?"), ("Participant", "A year."),
        ("Interviewer", "Anyone check in?"), ("Participant", "Once.")]
    assert t.metadata.count("Participant 04 interview transcript") == 2


@pytest.mark.parametrize("text, expected", [
    # speaker numbers in a round are not line numbers down the margin
    ("".join(f"{n}\tI would say answer {n}.\n" for n in range(1, 8)),
     [(str(n), f"I would say answer {n}.") for n in range(1, 8)]),
    # "Q1:" of a numbered question and answer is the interviewer's label, not a heading
    ("Q1: How did you find the ward?\nA: Fine.\nQ2: And the food?\nA: Awful.\n",
     [("Q1", "How did you find the ward?"), ("A", "Fine."), ("Q2", "And the food?"), ("A", "Awful.")]),
    # a sentence with a colon after a role word, a transcriber's note in brackets: speech
    ("P1: Fine.\nWe asked the nurse: can we go home yet?\n[Sobbing] I could not go back.\nP2: Same.\n",
     [("P1", "Fine. We asked the nurse: can we go home yet? [Sobbing] I could not go back."), ("P2", "Same.")]),
    # a numbered heading's word inside a turn, where it is no heading, is speech
    ("Interviewer: What did it say?\nParticipant: It had two parts.\nPart 2: you must attend within a week.\n"
     "Interviewer: And?\n", [("Interviewer", "What did it say?"),
                              ("Participant", "It had two parts. Part 2: you must attend within a week."),
                              ("Interviewer", "And?")]),
    # a word before the first turn that a speaker says again is still speech
    ("Focus group 2\nYes\nFacilitator: Shall we start?\nP1:\nYes\nP2: Good.\n",
     [("Facilitator", "Shall we start?"), ("P1", "Yes"), ("P2", "Good.")]),
])
def test_what_stays_speech(text, expected):
    assert [(speaker, words) for speaker, words, _ in turns(text)] == expected


def test_page_headers_notes_and_footnotes_in_a_numbered_transcript_are_metadata():
    t = parse_text("Interview 12: Ward staff\nInterviewer: How long?\nNurse: Nine years.\n\n"
                   "Interview 12: Ward staff\nInterviewer: And before?\nNurse: Agency work.\n", "t.txt", Path("t.txt"))
    assert t.metadata == ("Interview 12: Ward staff",) * 2 and [turn.speaker for turn in t.turns] == [
        "Interviewer", "Nurse", "Interviewer", "Nurse"]
    numbered = parse_text("1   Interviewer: How was it?\n2   P1: Fine.\n3   Interviewer: Thanks.\n4   P1: OK.\n"
                          "5   # Notes\n6   [1] The day hospital closed in 2019.\n", "t.txt", Path("t.txt"))
    assert numbered.metadata == ("# Notes", "[1] The day hospital closed in 2019.")
    assert normalise(numbered.turns[-1].text) == "OK."


def test_captions_wrapped_over_two_lines_have_no_speakers():
    captions = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nWe saw the doctor\nand she said it was fine.\n\n"
                "00:00:03.000 --> 00:00:05.000\nThen Ask Your Nurse\nabout the dressing.\n\n"
                "00:00:05.000 --> 00:00:07.000\nWe saw the doctor\nagain the next week.\n")
    [transcript] = read_bytes(captions.encode(), Path("c.vtt"), "c.vtt")
    assert [t.speaker for t in transcript.turns] == [""]


def test_who_took_part_by_name_before_the_first_turn_is_metadata():
    t = parse_text("Interviewee: Sarah Jones\nInterviewer: Dr Amir Khan\nRespondent: Maria Lopez, 45, Leeds\n\n"
                   "Interviewer: So, welcome. Tell me.\nInterviewee: Well.\n", "t.txt", Path("t.txt"))
    assert t.metadata == ("Interviewee: Sarah Jones", "Interviewer: Dr Amir Khan", "Respondent: Maria Lopez, 45, Leeds")
    assert [turn.speaker for turn in t.turns] == ["Interviewer", "Interviewee"]
    for name in ("Will Thompson", "May Green", "Don Best"):  # a first name may be a common word
        assert parse_text(f"Interviewee: {name}\nInterviewer: So.\n", "t.txt", Path("t.txt")).metadata == (
            f"Interviewee: {name}",)
    # speech in title case is not a name
    assert turns("Interviewer: Welcome Everyone\nParticipant: Thank You\nInterviewer: Good.\n")[:2] == [
        ("Interviewer", "Welcome Everyone", ""), ("Participant", "Thank You", "")]


def test_a_point_of_a_list_in_speech_is_not_a_speaker():
    assert turns("Interviewer: What would help?\nParticipant: Three things.\nNumber One: fund the café.\n"
                 "Number Two: answer the phone.\nInterviewer: Thanks.\n") == [
        ("Interviewer", "What would help?", ""),
        ("Participant", "Three things. Number One: fund the café. Number Two: answer the phone.", ""),
        ("Interviewer", "Thanks.", "")]


def test_a_label_heard_once_counts_where_most_cues_are_labelled_each_wrapped_over_two_lines():
    cues = [("Tom Jones: I went to the ward", "and they said no."), ("Anna Lee: What did you", "do after that?"),
            ("Priya Shah: I think the same", "thing happened to me."), ("Tom Jones: Yes, I left", "the ward that day.")]
    srt = "".join(f"{i}\n00:00:0{i},000 --> 00:00:0{i},900\n{first}\n{second}\n\n"
                  for i, (first, second) in enumerate(cues, start=1))
    [transcript] = read_bytes(srt.encode(), Path("s.srt"), "s.srt")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [
        ("Tom Jones", "I went to the ward and they said no."), ("Anna Lee", "What did you do after that?"),
        ("Priya Shah", "I think the same thing happened to me."), ("Tom Jones", "Yes, I left the ward that day.")]


def test_a_voice_inside_other_tags_or_second_on_a_line_is_that_speakers():
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Jane>How are you?</v>\n\n"
           "00:00:04.000 --> 00:00:06.000\n<i><v Bob>I am fine thanks.</v></i>\n\n"
           "00:00:07.000 --> 00:00:09.000\n<c.yellow><v Jane>Good.</v></c> <v Ann>And me?</v>\n\n"
           "00:00:10.000 --> 00:00:12.000\nStill Ann. <v Bob>Bob again.</v>\n")
    [transcript] = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")
    assert [(t.speaker, normalise(t.text), t.timestamp) for t in transcript.turns] == [
        ("Jane", "How are you?", "00:00:01.000"), ("Bob", "I am fine thanks.", "00:00:04.000"),
        ("Jane", "Good.", "00:00:07.000"), ("Ann", "And me? Still Ann.", "00:00:07.000"),
        ("Bob", "Bob again.", "00:00:10.000")]
    for turn in transcript.turns:  # the speech is where it was in the file
        source = transcript.text[turn.start:turn.end]
        assert all(kept in (" ", original) for kept, original in zip(turn.text, source))


@pytest.mark.parametrize("header, metadata", [
    ("WEBVTT\n", ("WEBVTT",)),
    ("WEBVTT\nKind: captions\nLanguage: en\n1\n", ("WEBVTT", "Kind: captions", "Language: en")),
])
def test_a_first_cue_right_under_the_header_is_a_cue(header, metadata):
    vtt = (header + "00:00:01.000 --> 00:00:04.000\n<v Jane>I waited six months.</v>\n\n"
           "2\n00:00:05.000 --> 00:00:06.000\n<v Bob>Same for me.</v>\n")
    [transcript] = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")
    assert transcript.metadata == metadata
    assert [(t.speaker, normalise(t.text), t.timestamp) for t in transcript.turns] == [
        ("Jane", "I waited six months.", "00:00:01.000"), ("Bob", "Same for me.", "00:00:05.000")]


def test_a_turn_begun_on_a_later_line_of_a_cue_has_the_cues_time():
    srt = "1\n00:00:01,000 --> 00:00:02,000\n- Jane: How are you?\n- Bob: Fine.\n"
    [transcript] = read_bytes(srt.encode(), Path("s.srt"), "s.srt")
    assert [(t.speaker, normalise(t.text), t.timestamp) for t in transcript.turns] == [
        ("Jane", "How are you?", "00:00:01.000"), ("Bob", "Fine.", "00:00:01.000")]


def test_html_tags_of_subrip_writers_are_taken_out_of_speech_and_markers_are_not():
    srt = ('1\n00:00:01,000 --> 00:00:04,000\nJane: <span style="x">ok</span> <s>no</s> <em>yes</em> '
           "<STRONG>sure</STRONG> <sighs> <sob> <5 and <span of time>\n")
    [transcript] = read_bytes(srt.encode(), Path("s.srt"), "s.srt")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [
        ("Jane", "ok no yes sure <sighs> <sob> <5 and <span of time>")]


def test_a_cue_whose_identifier_starts_like_a_note_is_a_cue():
    vtt = ("WEBVTT\n\nNOTE\nexported by hand\n\nintro\n00:00:01.000 --> 00:00:02.000\n<v Jane>Hello.</v>\n\n"
           "NOTE-1\n00:00:03.000 --> 00:00:04.000\n<v Bob>I was never told.</v>\n\n"
           "STYLE 2\n00:00:05.000 --> 00:00:06.000\n<v Jane>Nor was I.</v>\n")
    [transcript] = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")
    assert transcript.metadata == ("WEBVTT", "NOTE", "exported by hand")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [
        ("Jane", "Hello."), ("Bob", "I was never told."), ("Jane", "Nor was I.")]


def test_a_note_holding_an_arrow_is_still_a_note():
    # c194a73 read any block with "-->" as a cue, so these notes broke the whole file.
    vtt = ("WEBVTT\n\nNOTE\nThis is a note --> not a cue\nand so --> is this\n\nNOTE checked by AB\n"
           "against the audio:\n00:00:01 --> 00:00:02 was cut\n\n"
           "00:00:01.000 --> 00:00:02.000\n<v Jane>Hello.</v>\n\nNOTE 2\n00:00:03.000 --> 00:00:04.000\n<v Bob>Hi.</v>\n")
    [transcript] = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")
    assert transcript.metadata == ("WEBVTT", "NOTE", "This is a note --> not a cue", "and so --> is this",
                                   "NOTE checked by AB",
                                   "against the audio:", "00:00:01 --> 00:00:02 was cut")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [("Jane", "Hello."), ("Bob", "Hi.")]
    with pytest.raises(ThemesError, match=r"s.vtt:7: broken cue"):  # a timing line second, broken: a cue
        read_bytes(b"WEBVTT\n\n00:01.000 --> 00:02.000\nHi.\n\nNOTE 2\n00:00:03 --> 4\nBob: Hi.\n", Path("s.vtt"), "s.vtt")


def test_only_real_tags_are_taken_out_of_subtitle_speech():
    srt = ("1\n00:00:01,000 --> 00:00:04,000\nJane: My score was <5 and then >3 <i>after</i> the course.\n\n"
           '2\n00:00:05,000 --> 00:00:06,000\nBob: <FONT COLOR="red">OK,</FONT><br/> <laughs> good.\n')
    [transcript] = read_bytes(srt.encode(), Path("s.srt"), "s.srt")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [
        ("Jane", "My score was <5 and then >3 after the course."), ("Bob", "OK, <laughs> good.")]
    vtt = "WEBVTT\n\n00:01.000 --> 00:03.000\n<v.loud Ann><c.yellow>One</c> <00:00:02.000><b>two</b></v>\n"
    [transcript] = read_bytes(vtt.encode(), Path("s.vtt"), "s.vtt")
    assert [(t.speaker, normalise(t.text)) for t in transcript.turns] == [("Ann", "One two")]
