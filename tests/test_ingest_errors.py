"""Bad input: every problem is named with its file (and line), all at once."""

import json
import shutil

import pytest

from pipeline.config import load_config
from pipeline.errors import ThemesError
from pipeline.ingest import discover, ingest

from conftest import FIXTURES, themes

FORMATS = FIXTURES / "formats"
GOOD = "User 1: I waited months for a bed.\nNurse 1: That is too long.\n"


def problem(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(ThemesError) as err:
        ingest([path])
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    return message


def test_binary_file(tmp_path):
    assert "looks like a binary file" in problem(tmp_path, "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)


def test_undecodable_file(tmp_path):
    assert "cannot decode as utf-16" in problem(tmp_path, "broken.txt", b"\xff\xfe" + "User 1: hi\n".encode("utf-16-le") + b"\x00")


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(50_000_000)  # sparse: nothing is written
    with pytest.raises(ThemesError, match=r"huge\.txt: file is 50\.0 MB; files of input\.max_file_mb \(50 MB\) or more"):
        ingest([path])
    with pytest.raises(ThemesError, match=r"huge\.txt: file is 50\.0 MB; files of input\.max_file_mb \(1 MB\)"):
        ingest([path], max_file_mb=1)


def test_single_100000_character_line(tmp_path):
    message = problem(tmp_path, "oneline.txt", "User 1: " + "word " * 20_000)
    assert "oneline.txt:1: line is 100,008 characters long" in message


def test_broken_vtt_cue_names_the_line(tmp_path):
    body = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Ann>Hello.\n\n2\n00:00:03,000 -> 00:00:04\n<v Bob>Hi.\n"
    assert "broken.vtt:8: broken cue" in problem(tmp_path, "broken.vtt", body)


def test_csv_without_text_column(tmp_path):
    assert "(input.columns.text): no column named 'text'; the columns are 'remark', 'score'" in problem(
        tmp_path, "survey.csv", "remark,score\nToo slow,2\n")


def test_csv_with_two_usual_names_for_the_text_asks_which(tmp_path):
    message = problem(tmp_path, "survey.csv", "id,Comment,Response\n1,Too slow,We are sorry\n")
    assert "(input.columns.text): no column named 'text', and 'Comment' and 'Response' could each be the text" in message
    assert "set input.columns.text (or --text-column)" in message


def test_a_column_read_with_a_twin_of_the_same_name_is_refused(tmp_path):
    message = problem(tmp_path, "survey.csv", "text,speaker,Text\nToo slow,S,We are sorry\n")
    assert message.endswith("survey.csv:1 (input.columns.text): 2 columns are named 'Text'; rename all but the one "
                            "to read")
    message = problem(tmp_path, "answers.csv", "id,comment,Comment\n1,a,b\n")  # twins of a usual name for text
    assert message.endswith("answers.csv:1 (input.columns.text): 2 columns are named 'comment'; rename all but the "
                            "one to read")
    # Twins among the columns not read are no trouble; of two, the first is the one a row has.
    path = tmp_path / "notes.csv"
    path.write_text("text,note,note\nToo slow,first,second\n", encoding="utf-8")
    (table,), _ = ingest([path])
    assert [t.text for t in table.turns] == ["Too slow"]
    from pipeline.formats.table import record
    assert record(["text", "note", "note"], ["a", "first", "second"]) == {"text": "a", "note": "first"}


def test_invalid_jsonl_line(tmp_path):
    assert "bad.jsonl:2: not valid JSON" in problem(tmp_path, "bad.jsonl", '{"text": "ok"}\n{"text": \n')


def test_unsupported_formats_say_what_to_do(tmp_path):
    assert "save it as .docx" in problem(tmp_path, "old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "PDF" in problem(tmp_path, "notes.txt", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    assert "not a readable Word document" in problem(tmp_path, "fake.docx", b"PK\x03\x04 not really a zip")


def test_duplicate_files(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "b.txt").write_text(GOOD)
    with pytest.raises(ThemesError, match=r"b\.txt: same content as .*a\.txt \(a duplicate file\)"):
        ingest([tmp_path])
    transcripts, problems = ingest([tmp_path], on_error="skip")
    assert [t.source for t in transcripts] == ["a.txt"] and len(problems) == 1


def test_same_path_twice_is_read_once(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    assert len(discover([tmp_path / "a.txt", tmp_path, tmp_path / "a.txt"])) == 1


def test_fail_lists_all_problems_at_once_and_skip_goes_on(tmp_path):
    (tmp_path / "good.txt").write_text(GOOD)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "prose.md").write_text("Just an essay.\nNo speakers here.\n")
    (tmp_path / "survey.csv").write_text("remark\nslow\n")
    with pytest.raises(ThemesError) as err:
        ingest([tmp_path])
    message = str(err.value)
    assert message.startswith("3 problems: ")
    for fragment in ("empty.txt: file is empty", "prose.md: no speaker turns", "survey.csv:1 (input.columns.text)"):
        assert fragment in message
    transcripts, problems = ingest([tmp_path], on_error="skip")
    assert [t.source for t in transcripts] == ["good.txt"] and len(problems) == 3


def test_many_problems_name_the_first_ten_and_how_to_see_all(tmp_path):
    for i in range(25):
        (tmp_path / f"e{i:02}.txt").write_text("")
    with pytest.raises(ThemesError) as err:
        ingest([tmp_path])
    message = str(err.value)
    assert message.startswith("25 problems: ") and "\n" not in message
    assert "e09.txt: file is empty" in message and "e10.txt" not in message
    assert message.endswith("and 15 more (with input.on_error: skip the run goes on without those files "
                            "and names each in a warning)")


def test_folder_reads_every_format_and_skips_readme_and_lock_files(tmp_path):
    for name in ("meeting.vtt", "meeting.srt", "meeting.docx", "turns.tsv", "meeting.utf8.txt"):
        shutil.copy(FORMATS / name, tmp_path / name)
    (tmp_path / "README.md").write_text("# about\n")
    (tmp_path / "~$meeting.docx").write_bytes(b"lock")
    (tmp_path / "audio.m4a").write_bytes(b"\x00" * 10)
    assert [name for _, name in discover([tmp_path])] == [
        "meeting.docx", "meeting.srt", "meeting.utf8.txt", "meeting.vtt", "turns.tsv"]


def test_skipped_files_reach_the_manifest_and_notes(tmp_path, fake_embedder, monkeypatch):
    import pipeline.cluster
    from pipeline.artifacts import Clustering
    from pipeline.runner import execute, manifest

    # Clustering is not what this test is about, and UMAP's first call is slow.
    monkeypatch.setattr(pipeline.cluster, "cluster", lambda segments, embeddings, config: Clustering([], {}))

    (tmp_path / "in").mkdir()
    shutil.copy(FIXTURES / "small" / "short_meeting.txt", tmp_path / "in" / "short_meeting.txt")
    (tmp_path / "in" / "broken.vtt").write_text("WEBVTT\n\n1\nnot a timing\n<v A>hi\n")
    config = load_config(overrides={"input": {"paths": [str(tmp_path / "in")], "on_error": "skip"},
                                    "taxonomy": "none"})
    outputs = execute(config, embedder=fake_embedder)
    document = manifest(outputs)
    assert [i["source"] for i in document["inputs"]] == ["short_meeting.txt"]
    assert len(document["skipped"]) == 1 and "broken.vtt:4: broken cue" in document["skipped"][0]
    assert any(note.startswith("skipped: ") and "broken.vtt" in note for note in document["notes"])
    json.dumps(document)


def test_cli_speakers_reads_every_format():
    result = themes("speakers", FORMATS / "meeting.vtt", FORMATS / "meeting_table.docx", FORMATS / "coded.txt")
    assert result.returncode == 0, result.stderr
    rows = {line[:14].strip(): line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["Facilitator 1"][-3:] == ["4", "2", "facilitator"]
    assert rows["User 2"][-3:] == ["4", "2", "user"]
    assert rows["F"][-3:] == ["2", "1", "unknown"]


def test_cli_speakers_with_columns_and_unlabelled_rows(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("input:\n  columns:\n    text: feedback\n")
    result = themes("speakers", FORMATS / "feedback.csv", "--config", config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split() == ["(no", "speaker)", "4", "1", "respondent"]


def test_cli_lists_all_problems_on_one_line(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "x.vtt").write_text("WEBVTT\n\n1\n00:01 -> 00:02\nhi\n")
    result = themes("speakers", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "2 problems: " in result.stderr and "x.vtt:4: broken cue" in result.stderr


def test_nul_bytes_are_binary_even_when_valid_utf8(tmp_path):
    assert "looks like a binary file" in problem(tmp_path, "nul.txt", b"User 1: hello\n" + b"\x00" * 200)


def test_excel_sheets_too_wide_or_too_long_are_refused_in_one_line(tmp_path):
    from test_formats import write_sheet

    head = {1: {"A": "text"}, 2: {"A": "Too slow."}}
    for name, far, message in [
            ("wide.xlsx", {3: {"A": "Kind.", "ALM": "far"}}, "wide.xlsx:3: the first sheet, 'Sheet', has content "
                                                            "past column 1,000"),
            ("tall.xlsx", {2_000_000: {"A": "far"}}, "tall.xlsx: the first sheet, 'Sheet', has rows past row "
                                                    "1,048,576, Excel's limit")]:
        path = write_sheet(tmp_path / name, {**head, **far}, "A1:XFD1048576")
        with pytest.raises(ThemesError) as err:
            ingest([path])
        assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)
    # Column 1,000 (ALL) itself is within the limit.
    (sheet,), _ = ingest([write_sheet(tmp_path / "edge.xlsx", {**head, 3: {"ALL": "note"}}, "A1:B2")])
    assert [t.text for t in sheet.turns] == ["Too slow."]


def test_an_empty_first_sheet_names_the_sheets_not_read(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Info"
    book.create_sheet("Responses").append(["text"])
    book.save(tmp_path / "survey.xlsx")
    with pytest.raises(ThemesError) as err:
        ingest([tmp_path / "survey.xlsx"])
    assert str(err.value).endswith("the first sheet, 'Info', is empty; only the first sheet is read, not 'Responses'")


def test_a_readers_own_fault_is_one_line_naming_the_file_and_the_others_are_read(tmp_path, monkeypatch):
    import pipeline.ingest as ingest_module

    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "b.txt").write_text(GOOD.replace("months", "weeks"))
    real = ingest_module.read_bytes

    def faulty(raw, path, *args, **kwargs):
        if path.name == "b.txt":
            raise IndexError("list index out of range")
        return real(raw, path, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_bytes", faulty)
    transcripts, problems = ingest([tmp_path], on_error="skip")
    assert [t.source for t in transcripts] == ["a.txt"]
    assert len(problems) == 1 and str(tmp_path / "b.txt") in problems[0] and "IndexError" in problems[0]
    with pytest.raises(ThemesError, match="b.txt: could not be read"):
        ingest([tmp_path])
    monkeypatch.setattr(ingest_module, "read_bytes", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "no")))
    with pytest.raises(PermissionError):  # the machine's problem: the command names it
        ingest([tmp_path])


def test_run_folders_and_hidden_folders_in_an_input_folder_are_passed_over(tmp_path):
    """A run written into the transcripts' folder (--out interviews/run1) must not come back as
    transcripts on the next run: its segments.csv holds a text column."""
    (tmp_path / "a.txt").write_text(GOOD)
    run = tmp_path / "run1"
    run.mkdir()
    (run / "segments.csv").write_text("segment_id,text\na#1.1,Hello there\n")
    (run / "clusters.json").write_text("{}")
    (run / "manifest.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "b.txt").write_text(GOOD.replace("months", "weeks"))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text(GOOD)
    assert [name for _, name in discover([tmp_path])] == ["a.txt", "notes/b.txt"]
    # A folder that merely holds a segments.csv is read as usual.
    (run / "manifest.json").unlink()
    assert [name for _, name in discover([tmp_path])] == ["a.txt", "notes/b.txt", "run1/segments.csv"]
