"""Files as they arrive: formats that cannot be read inside a folder, zip archives, text that
is mostly UTF-8, and a table saved as text. Each is named, read or said, never passed over."""

import os
import shutil
import zipfile

import pytest

from pipeline.errors import ThemesError
from pipeline.formats.encoding import decode
from pipeline.ingest import discover, ingest

from conftest import FIXTURES, themes

GOOD = "Interviewer: How was the waiting list?\nParticipant: Too long, I waited months.\n"
# The start of each format's file, as the program that wrote it begins it.
REFUSED = {
    "fg.doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an old Word (.doc) file; save it as .docx"),
    "fg.pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "a PDF; export it as .docx or .txt"),
    "fg.rtf": (b"{\\rtf1\\ansi Interviewer: hello\\par}", "an RTF file; save it as .docx or .txt"),
    "fg.odt": (b"PK\x03\x04\x14\x00\x00\x00mimetype", "an OpenDocument file; save it as .docx"),
    "fg.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an old Excel (.xls) workbook"),
    "fg.ods": (b"PK\x03\x04\x14\x00\x00\x00mimetype", "an OpenDocument spreadsheet"),
    "fg.pages": (b"PK\x03\x04\x14\x00\x00\x00", "a Pages document; export it as .docx"),
}


def zip_of(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name.replace("_", "."), text)
    return path


# (1) Formats that are refused when named are refused inside a folder too.

@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_folder_refuses_what_it_cannot_read_as_the_file_named_alone_is(tmp_path, name):
    content, message = REFUSED[name]
    (tmp_path / "fg1.txt").write_text(GOOD)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ThemesError) as alone:
        ingest([tmp_path / name])
    with pytest.raises(ThemesError) as in_folder:
        ingest([tmp_path])
    assert message in str(alone.value)
    assert str(in_folder.value) == str(alone.value) == f"{tmp_path / name}: {str(alone.value).split(': ', 1)[1]}"


def test_skip_leaves_the_refused_files_out_and_names_each(tmp_path):
    (tmp_path / "fg1.txt").write_text(GOOD)
    for name in ("fg3.doc", "fg4.pdf", "fg5.rtf"):
        (tmp_path / name).write_bytes(REFUSED["fg" + name[3:]][0])
    with pytest.raises(ThemesError, match=r"^3 problems: .*fg3\.doc: an old Word .*fg4\.pdf: a PDF.*fg5\.rtf: an RTF"):
        ingest([tmp_path])
    transcripts, problems = ingest([tmp_path], on_error="skip")
    assert [t.source for t in transcripts] == ["fg1.txt"]
    assert [problem.split(": ")[0] for problem in problems] == [str(tmp_path / n) for n in ("fg3.doc", "fg4.pdf", "fg5.rtf")]


def test_a_folder_of_old_word_files_names_them_rather_than_finding_no_transcripts(tmp_path):
    (tmp_path / "fg1.doc").write_bytes(REFUSED["fg.doc"][0])
    with pytest.raises(ThemesError, match=r"fg1\.doc: an old Word \(\.doc\) file; save it as \.docx$"):
        ingest([tmp_path])


def test_a_folder_still_passes_over_files_that_are_no_transcripts_hidden_files_and_lock_files(tmp_path):
    (tmp_path / "fg1.txt").write_text(GOOD)
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "codes.json").write_text("{}")
    (tmp_path / "audio.m4a").write_bytes(b"\x00" * 10)
    (tmp_path / "~$fg2.doc").write_bytes(b"lock")
    (tmp_path / ".fg3.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "._fg4.rtf").write_bytes(b"\x00\x05\x16\x07")  # a Mac's AppleDouble twin
    assert [name for _, name in discover([tmp_path])] == ["fg1.txt"]


# (2) Zip archives are named as such; Word documents and workbooks, zips too, are read.

def test_a_zip_archive_is_named_and_not_called_binary(tmp_path):
    path = zip_of(tmp_path / "transcripts.zip", fg1_txt=GOOD)
    with pytest.raises(ThemesError, match=r"transcripts\.zip: a zip archive; unzip it first"):
        ingest([path])
    renamed = tmp_path / "fg1.txt"
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(ThemesError, match=r"fg1\.txt: a zip archive; unzip it first"):
        ingest([renamed])


def test_a_zip_in_a_folder_is_named_and_the_word_documents_beside_it_are_read(tmp_path):
    zip_of(tmp_path / "batch2.zip", fg1_txt=GOOD)
    shutil.copy(FIXTURES / "formats" / "meeting.docx", tmp_path / "meeting.docx")
    with pytest.raises(ThemesError, match=r"batch2\.zip: a zip archive; unzip it first"):
        ingest([tmp_path])
    transcripts, problems = ingest([tmp_path], on_error="skip")
    assert [t.source for t in transcripts] == ["meeting.docx"]
    assert problems == [f"{tmp_path / 'batch2.zip'}: a zip archive; unzip it first"]


# (3) Mostly UTF-8 with a few Windows-1252 bytes (text pasted in): the UTF-8 read as UTF-8.

MIXED_LINES = ["Interviewer: What did you think of the “recovery star” tool?\n",
               "Participant: Honestly? It felt like a tick-box exercise – my nurse’s heart wasn’t in it.\n",
               "Interviewer: Did you find any of it useful… at all?\n"]
PASTED = "Participant: The café conversations were better – I’d go back.\n"


def mixed_bytes():
    return "".join(MIXED_LINES).encode("utf-8") + PASTED.encode("cp1252")


def test_stray_windows_1252_bytes_in_utf8_are_read_as_such_and_said(tmp_path):
    notices = []
    assert decode(mixed_bytes(), tmp_path / "mixed.txt", notices=notices) == "".join(MIXED_LINES) + PASTED
    assert len(notices) == 1
    assert notices[0].startswith(f"{tmp_path / 'mixed.txt'}: mostly UTF-8, but 3 bytes on line 4 are not ")
    assert "read as Windows-1252, 'é', '–', '’'; check that line," in notices[0]


def test_the_stray_bytes_reach_the_user_with_the_transcript(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(mixed_bytes() + "Interviewer: Thank you – that’s useful.\n".encode("utf-8")
                     + "Participant: Naïve, maybe.\n".encode("cp1252"))
    (transcript,) = ingest([path])[0]
    assert [turn.speaker for turn in transcript.turns][-3:] == ["Participant", "Interviewer", "Participant"]
    assert transcript.text.endswith("I’d go back.\nInterviewer: Thank you – that’s useful.\nParticipant: Naïve, maybe.\n")
    assert len(transcript.notices) == 1 and "4 bytes on lines 4 and 6 are not" in transcript.notices[0]


def test_a_utf8_file_with_a_byte_order_mark_and_stray_bytes_is_read_not_refused(tmp_path):
    notices = []
    text = decode(b"\xef\xbb\xbf" + "Interviewer: Hi.\n".encode() + PASTED.encode("cp1252"), tmp_path / "b.txt",
                  notices=notices)
    assert text == "Interviewer: Hi.\n" + PASTED and "on line 2 are not" in notices[0]


FRENCH = ("DÉLÉGUÉ\u00a0: Bienvenue. Parlons de l’hôpital de jour, à côté de la gare.\r\n"
          "Usager 1\u00a0: C’était très difficile au début. Je ne savais pas où aller, ni à qui parler.\r\n")
JAPANESE = "司会：今日はありがとうございます。本日は地域の支援について話しましょう。\n利用者1：よろしくお願いします。病院に行くのが大変でした。\n"
MAC = ("Interviewer: What did you think of the “recovery star” tool?\r"
       "P-F: Honestly? It felt like a tick-box exercise – my nurse’s heart wasn’t in it. The café was better.\r")


@pytest.mark.parametrize("text, encoding", [
    (FRENCH, "cp1252"),  # "É\xa0" happens to be valid UTF-8: one such pair does not make the file UTF-8
    ("".join(MIXED_LINES) + PASTED, "cp1252"),
    (MAC, "mac_roman"),
    (JAPANESE, "shift_jis"),
    (JAPANESE, "euc_jp"),
    (JAPANESE, "utf-16"),
    (FRENCH, "utf-16-le"),
], ids=["cp1252-french", "cp1252-english", "mac_roman", "shift_jis", "euc_jp", "utf-16", "utf-16-le-no-bom"])
def test_files_in_one_encoding_are_read_as_before_and_nothing_is_said(tmp_path, text, encoding):
    notices = []
    assert decode(text.encode(encoding), tmp_path / "one.txt", notices=notices) == text
    assert notices == []


GREEK = "Συνεντευκτής: Πώς ήταν στο νοσοκομείο;\nΣυμμετέχων: Δύσκολα, πολύ δύσκολα.\n"
RUSSIAN = "Интервьюер: Как прошло лечение?\nУчастник: Тяжело, но мне помогли.\n"
QUOTED = "Interviewer: “How was it?” ‘Fine’ — “really fine” … “yes”\nP1: “No.”\n"
CHINESE = "主持人：你好。我们开始吧。\n参与者：好的，谢谢。\n" * 3  # 开 is 00 5F: zeros in both lanes


@pytest.mark.parametrize("text", [JAPANESE, GREEK, RUSSIAN, QUOTED, CHINESE],
                         ids=["japanese", "greek", "russian", "quotes", "chinese"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read_in_any_script(tmp_path, text, encoding):
    # Few zero bytes, or some in the other lane: not Latin text, and still not a binary file.
    assert decode(text.encode(encoding), tmp_path / "one.txt") == text


def test_utf8_with_zero_bytes_in_it_is_not_taken_for_utf16(tmp_path):
    raw = bytearray(("User 1: hello there, this is fine\n" * 10).encode())
    raw[100] = raw[102] = 0  # two zeros in one lane, and the rest reads as UTF-8
    with pytest.raises(ThemesError, match="binary"):
        decode(bytes(raw), tmp_path / "nul.txt")
    with pytest.raises(ThemesError, match="binary"):  # decodes as UTF-16, to noise: '整瑸\nȁ＃'
        decode(b"text\n\0\x01\x02\x03\xff" * 100, tmp_path / "noise.txt")


def test_bytes_windows_1252_does_not_explain_are_not_read_as_it(tmp_path):
    # 0x81 is no character in Windows-1252: the file goes to the detector as before.
    raw = "".join(MIXED_LINES).encode("utf-8") + b"Participant: \x81\x81 fine\n"
    notices = []
    text = decode(raw, tmp_path / "odd.txt", notices=notices)
    assert notices == [] and "’" not in text.splitlines()[1]  # not read as UTF-8 with repairs


# (4) Excel's "Unicode Text" save: a table in a .txt.

EXCEL_TEXT = ("ID\tRespondent type\tComment\r\n101\tService user\tThe crisis team didn’t call back.\r\n"
              "102\tCarer\tNever told anything about the care plan.\r\n"
              "103\tStaff\t\"Not enough beds; people sent\nout of area.\"\r\n")


def test_a_tab_separated_table_saved_as_txt_is_read_as_a_table(tmp_path):
    path = tmp_path / "survey.txt"
    path.write_bytes(EXCEL_TEXT.encode("utf-16"))  # as Excel saves "Unicode Text"
    transcripts, _ = ingest([path])
    (table,) = transcripts
    assert [(turn.speaker, turn.text, turn.annotations, turn.line) for turn in table.turns] == [
        ("", "The crisis team didn’t call back.", ("id=101",), 2),
        ("", "Never told anything about the care plan.", ("id=102",), 3),
        ("", "Not enough beds; people sent\nout of area.", ("id=103",), 4)]
    assert "read as a .tsv file, one row a turn" in table.notices[0]
    assert any("column 'Comment'" in notice for notice in table.notices)


def test_a_tab_separated_table_is_read_with_the_configured_text_column(tmp_path):
    path = tmp_path / "survey.txt"
    path.write_text("id\tfeedback\n1\tSlow to answer.\n2\tKind staff.\n")
    (table,) = ingest([path], columns={"text": "feedback"})[0]
    assert [(turn.speaker, turn.text, turn.annotations) for turn in table.turns] == [
        ("", "Slow to answer.", ("id=1",)), ("", "Kind staff.", ("id=2",))]


@pytest.mark.parametrize("text", [
    "Interviewer\tSo how was it?\nParticipant\tFine, mostly.\nInterviewer\tGood.\n",
    "Question\tWhat was the response like?\nAnswer\tSlow.\nQuestion\tAnd then?\nAnswer\tNothing.\n",
    "ID\tComment\n101\tSlow.\nInterviewer: But was it?\n",  # rows of other shapes: not a table
])
def test_transcripts_laid_out_with_tabs_stay_transcripts(tmp_path, text):
    path = tmp_path / "t.txt"
    path.write_text(text)
    try:
        (transcript,) = ingest([path])[0]
    except ThemesError as err:  # read as a transcript, whatever it found there
        assert "no speaker turns found" in str(err)
        return
    assert not any("table" in notice for notice in transcript.notices)
    assert all(turn.speaker for turn in transcript.turns)


# (5) Paths: two files of one name, and paths that are no regular file or folder.

def test_two_files_of_one_source_name_are_both_named(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "t1.txt").write_text(GOOD + folder)
    with pytest.raises(ThemesError) as clash:
        discover([tmp_path / "a", tmp_path / "b"])
    assert str(clash.value) == (f"t1.txt: two input files have the same source name, {tmp_path / 'a' / 't1.txt'} "
                                f"and {tmp_path / 'b' / 't1.txt'}; rename one")


def test_what_is_no_regular_file_is_named_as_what_it_is(tmp_path):
    (tmp_path / "broken.txt").symlink_to(tmp_path / "moved.txt")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would wait for ever
    with pytest.raises(ThemesError) as broken:
        ingest([tmp_path / "broken.txt"])
    assert str(broken.value).startswith(f"{tmp_path / 'broken.txt'}: a broken link (to {tmp_path / 'moved.txt'}); ")
    with pytest.raises(ThemesError, match=r"^/dev/null: not a regular file \(a device, pipe or socket\); "):
        ingest(["/dev/null"])
    with pytest.raises(ThemesError, match=r"pipe\.txt: not a regular file "):
        ingest([tmp_path / "pipe.txt"])
    result = themes("speakers", "/dev/null")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_broken_link_in_a_folder_is_named_not_passed_over(tmp_path):
    (tmp_path / "fg1.txt").write_text(GOOD)
    (tmp_path / "fg2.txt").symlink_to(tmp_path / "elsewhere" / "fg2.txt")
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    with pytest.raises(ThemesError, match=r"^2 problems: .*fg2\.txt: a broken link .*loop\.txt: a broken link"):
        ingest([tmp_path])
    transcripts, problems = ingest([tmp_path], on_error="skip")
    assert [t.source for t in transcripts] == ["fg1.txt"] and len(problems) == 2
