from pathlib import Path

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


def test_roles_first_match_and_unknown():
    from pipeline.speakers import role_of

    cfg = SpeakersConfig(roles={"user": ["User *"], "professional": ["Nurse*"], "all": ["*"]})
    assert role_of("user 3", "a.txt", cfg) == "user"
    assert role_of("Nurse 1", "a.txt", cfg) == "professional"
    assert role_of("Bob", "a.txt", cfg) == "all"
    default = roles()
    assert role_of("Volunteer Worker 1", "a.txt", default) == "professional"
    assert role_of("Moderator", "a.txt", default) == "facilitator"
    assert role_of("Bob", "a.txt", default) == "unknown"


def test_source_overrides():
    from pipeline.speakers import role_of

    cfg = SpeakersConfig(roles={"user": ["P*"]}, overrides={"meeting_3*": {"professional": ["P2"]}})
    assert role_of("P2", "meeting_3.txt", cfg) == "professional"
    assert role_of("P2", "meeting_1.txt", cfg) == "user"
