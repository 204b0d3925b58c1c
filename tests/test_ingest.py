from pathlib import Path

import pytest

from pipeline.errors import ThemesError
from pipeline.ingest import decode, discover, ingest, parse_text, read_transcript

from conftest import FIXTURES, SAMPLE


def parse(text):
    return parse_text(text, "t.txt", Path("t.txt"))


def test_turns_continuation_and_header():
    text = ("Focus group 3\nDate: 2024-05-01\n\nUser 1: I felt unheard.\nIt went on for months.\n\n"
            "Nurse 1: That sounds hard.\nUser 1: It was.\n")
    t = parse(text)
    assert [turn.speaker for turn in t.turns] == ["User 1", "Nurse 1", "User 1"]
    assert t.turns[0].text == "I felt unheard.\nIt went on for months."
    assert t.metadata == ("Focus group 3", "Date: 2024-05-01")
    for turn in t.turns:
        assert text[turn.start:turn.end] == turn.text


def test_same_speaker_twice_is_one_turn():
    t = parse("User 1: one.\nUser 1: two.\nNurse 1: three.\n")
    # The repeated label is blanked in the speech view; offsets stay those of the source.
    assert [turn.text for turn in t.turns] == ["one.\n        two.", "three."]
    assert t.text[t.turns[0].start:t.turns[0].end] == "one.\nUser 1: two."


def test_sentence_with_colon_is_not_a_speaker():
    t = parse("User 1: I told them this:\nI said: no more pills.\nNurse 1: Right.\n")
    assert [turn.speaker for turn in t.turns] == ["User 1", "Nurse 1"]


def test_crlf_and_bare_cr_give_same_turns():
    lf = "User 1: a b c.\nmore words.\nNurse 1: yes.\n"
    results = [parse(lf.replace("\n", ending)) for ending in ("\n", "\r\n", "\r")]
    assert len({tuple((t.speaker, " ".join(t.text.split())) for t in r.turns) for r in results}) == 1


def test_no_speaker_labels_is_an_error():
    with pytest.raises(ThemesError, match="no speaker turns"):
        parse("just some prose without any labels\nand another line\n")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    with pytest.raises(ThemesError, match="empty.txt: file is empty"):
        read_transcript(path, "empty.txt")


def test_decode_cp1252_and_utf16(tmp_path):
    text = "User 1: café – naïve\n"
    assert decode(text.encode("utf-16"), tmp_path) == text
    assert decode(text.encode("utf-8-sig"), tmp_path) == text
    assert decode(("User 1: " + "the café was closed again, and the naïve plan failed " * 3 + "\n").encode("cp1252"),
                  tmp_path).startswith("User 1: the café")


def test_binary_file_is_refused(tmp_path):
    with pytest.raises(ThemesError, match="binary"):
        decode(b"\x00\x01\x02garbage\x00\xff\xfe\xfd" * 10, tmp_path / "x.bin")


def test_discover_folder_skips_readme(tmp_path):
    (tmp_path / "README.md").write_text("# about\n")
    (tmp_path / "a.txt").write_text("User 1: hi there.\n")
    assert [name for _, name in discover([tmp_path])] == ["a.txt"]


def test_discover_orders_files_by_source_name_whatever_order_they_are_given_in(tmp_path):
    for name in ("b.txt", "a.txt", "sub/c.txt", "sub.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("User 1: hi there.\n")
    given = [tmp_path / "sub.txt", tmp_path / "b.txt", tmp_path / "a.txt"]
    assert [name for _, name in discover(given)] == [name for _, name in discover(given[::-1])] == \
        ["a.txt", "b.txt", "sub.txt"]
    # folder by folder, as a folder lists them: the sub-folder's sub/c.txt comes before sub.txt
    assert [name for _, name in discover([tmp_path])] == ["a.txt", "b.txt", "sub/c.txt", "sub.txt"]


def test_missing_input_path():
    with pytest.raises(ThemesError, match="input path not found"):
        discover(["/nonexistent/folder"])


def test_sample_has_design():
    transcripts, problems = ingest([SAMPLE])
    assert not problems
    assert len(transcripts) == 5
    assert sum(len(t.turns) for t in transcripts) == 631
    for t in transcripts:
        assert all(t.text[turn.start:turn.end] == turn.text for turn in t.turns)
    speakers = {turn.speaker for t in transcripts for turn in t.turns}
    assert len([s for s in speakers if s.startswith("User")]) == 7
    assert len([s for s in speakers if s.startswith("Facilitator")]) == 2
    assert {"Psychologist 1", "Nurse 1", "Volunteer Worker 1"} <= speakers


def test_small_fixture_has_30_turns():
    transcripts, _ = ingest([FIXTURES / "small" / "short_meeting.txt"])
    assert len(transcripts[0].turns) == 30


def test_a_source_keeps_what_a_rerun_needs_of_its_transcript():
    from pipeline.artifacts import Source, Transcript, Turn
    from pipeline.config import load_config
    from pipeline.speakers import unknown_speakers

    turns = tuple(Turn(i, speaker, "Hello.", 0, 6, i) for i, speaker in enumerate(["Bob", "User 1", "Bob", "Zed"], 1))
    source = Source.of(Transcript("a.txt", "/in/a.txt", "...", turns, sha256="f" * 64))
    assert (source.source, source.path, source.sha256, source.turns) == ("a.txt", "/in/a.txt", "f" * 64, 4)
    assert source.speakers == ("Bob", "User 1", "Zed")  # in order of their first turn
    assert unknown_speakers([source], load_config().speakers) == ["Bob", "Zed"]
    described = Transcript("b.txt", "/in/b.txt", "...", (Turn(1, "Jane", "Hello.", 0, 6, 1, annotations=("description=nurse",)),))
    assert Source.of(described).descriptions == ("nurse",)
    assert unknown_speakers([Source.of(described)], load_config().speakers) == []  # a nurse by her description


def test_file_names_written_decomposed_give_the_same_sources_and_order_as_composed(tmp_path):
    """macOS and its zip archives store `école.txt` as e + a combining accent: the same
    transcripts must get the same source names (segment ids) and order as anywhere else."""
    import unicodedata

    from pipeline.ingest import discover

    for form in ("NFC", "NFD"):
        folder = tmp_path / form
        folder.mkdir()
        for name in ("école.txt", "focus.txt"):
            (folder / unicodedata.normalize(form, name)).write_text("User 1: Hello there.\n")
    composed = [name for _, name in discover([tmp_path / "NFC"])]
    decomposed = [name for _, name in discover([tmp_path / "NFD"])]
    assert decomposed == composed == ["focus.txt", "école.txt"]
    assert [name for _, name in discover([tmp_path / "NFD" / unicodedata.normalize("NFD", "école.txt")])] == [
        "école.txt"]


def test_a_speaker_override_typed_decomposed_matches_the_composed_source_name():
    import unicodedata

    from pipeline.config import SpeakersConfig
    from pipeline.speakers import role_of

    config = SpeakersConfig(overrides={unicodedata.normalize("NFD", "école*.txt"): {"user": ["marie"]}})
    assert role_of("Marie", "école_1.txt", config) == "user"
