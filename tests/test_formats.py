"""Every format and encoding fixture gives exactly its turns, speakers and texts.

The fixtures are written by tests/fixtures/formats/make_fixtures.py from the turns listed
there; each file is read back here and compared with that list.
"""

import importlib.util
from pathlib import Path

import pytest

from pipeline.config import SegmentationConfig, load_config
from pipeline.errors import ThemesError
from pipeline.ingest import ingest
from pipeline.segment import normalise, segment

from conftest import FIXTURES

FORMATS = FIXTURES / "formats"
_spec = importlib.util.spec_from_file_location("make_fixtures", FORMATS / "make_fixtures.py")
made = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(made)

SAME_CONTENT = ["meeting.utf8.txt", "meeting.utf8-bom-crlf.txt", "meeting.utf16.txt", "meeting.cp1252-cr.txt",
                "meeting.docx", "meeting_table.docx", "meeting_bold.docx", "meeting.vtt", "meeting_zoom.vtt",
                "meeting.srt", "turns.tsv"]


def read_one(name, **kwargs):
    transcripts, problems = ingest([FORMATS / name], **kwargs)
    assert not problems and len(transcripts) == 1
    return transcripts[0]


def turn_pairs(transcript):
    return [(turn.speaker, normalise(turn.text)) for turn in transcript.turns]


def segments_of(transcript, language="en"):
    return segment([transcript], SegmentationConfig(language=language), load_config().speakers)


@pytest.mark.parametrize("name", SAME_CONTENT)
def test_each_format_gives_exactly_the_turns(name):
    transcript = read_one(name)
    assert turn_pairs(transcript) == [(speaker, normalise(speech)) for speaker, speech in made.TURNS]
    for turn in transcript.turns:
        assert len(turn.text) == turn.end - turn.start
        # The speech view only blanks: every character it keeps is the source's own.
        source = transcript.text[turn.start:turn.end]
        assert all(kept in (" ", original) for kept, original in zip(turn.text, source)) or name.endswith(".vtt")


def test_same_content_gives_identical_segments_in_every_encoding_and_docx():
    baseline = None
    for name in ["meeting.utf8.txt", "meeting.utf8-bom-crlf.txt", "meeting.utf16.txt", "meeting.cp1252-cr.txt",
                 "meeting.docx", "meeting_table.docx", "meeting_bold.docx"]:
        segs = [(s.speaker, s.role, s.text, s.annotations, s.backchannel) for s in segments_of(read_one(name))]
        baseline = baseline or segs
        assert segs == baseline, name
    assert [s[2] for s in baseline[:3]] == [
        "Thanks for coming in. Is everyone happy to be recorded today?", "Yes.",
        "I waited six months for a bed on the ward – it felt like nobody cared."]


def test_text_header_is_metadata_not_speech():
    for name in ["meeting.utf8.txt", "meeting.cp1252-cr.txt", "meeting.utf16.txt", "meeting.docx"]:
        assert read_one(name).metadata == ("Focus group 2 — transcript", "Date: 12 March 2025")


def test_offsets_find_every_segment_again():
    for name in ["meeting.utf8.txt", "meeting.cp1252-cr.txt", "meeting.docx", "meeting_table.docx"]:
        transcript = read_one(name)
        for s in segments_of(transcript):
            assert normalise(transcript.text[s.start:s.end]) == s.text, (name, s)


def test_vtt_voice_tags_cues_merge_into_turns_with_times():
    transcript = read_one("meeting.vtt")
    assert [t.timestamp for t in transcript.turns] == made.TIMES
    first = transcript.turns[0]
    assert first.times == ((0, "00:00:01.000"), (first.text.index("Is everyone"), "00:00:03.000"))
    assert transcript.metadata == ("WEBVTT", "Kind: captions", "Language: en")
    segs = segment([transcript], SegmentationConfig(max_sentences=1), load_config().speakers)
    assert [(s.text, s.timestamp) for s in segs[:3]] == [
        ("Thanks for coming in.", "00:00:01.000"), ("Is everyone happy to be recorded today?", "00:00:03.000"),
        ("Yes.", "00:00:06.500")]
    for s in segs:  # offsets index the .vtt file as decoded
        assert s.text.split()[0] in transcript.text[s.start:s.end]
        assert transcript.text[s.start:s.end].rstrip(" .?</v>").endswith(s.text.rstrip(".?").split()[-1])


def test_vtt_voice_tags_get_configured_roles():
    roles = [s.role for s in segments_of(read_one("meeting.vtt"))]
    assert roles[:4] == ["facilitator", "user", "user", "professional"]


def test_srt_and_zoom_vtt_times():
    assert [t.timestamp for t in read_one("meeting.srt").turns] == made.TIMES
    assert [t.timestamp for t in read_one("meeting_zoom.vtt").turns] == made.TIMES


def test_docx_table_times_and_continuation_rows():
    transcript = read_one("meeting_table.docx")
    assert [t.timestamp for t in transcript.turns] == [time[:8] for time in made.TIMES]
    assert transcript.turns[4].text.split("\n")[-1].strip() == "And a nurse who listened."
    assert transcript.metadata == ("Focus group 2 — transcript", "Time\tSpeaker\tText")


@pytest.mark.parametrize("name", ["ja.utf8-bom-cr.txt", "ja.sjis.txt", "ja.utf16.txt"])
def test_japanese_encodings_keep_speakers_and_sentences(name):
    transcript = read_one(name)
    assert turn_pairs(transcript) == made.TURNS_JA
    assert transcript.metadata == ("第3回 対話グループ 逐語録", "日時：2019年5月10日", "[1] 市立病院の外来のこと。")
    segs = segments_of(transcript, "ja")
    third = [s for s in segs if s.turn_id == 3]
    assert [s.text for s in third] == ["病院に行くのが大変でした。待ち時間が長くて、疲れました。"]
    assert third[0].annotations == ("[1]", "（笑）")
    assert [s.speaker for s in segs] == ["F", "19", "22", "F", "19"]


def test_coded_transcript_as_a_team_shares_it():
    """BOM, bare-CR line endings, a header, F:/19: labels, [1] markers and footnotes."""
    raw = (FORMATS / "coded.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r" in raw and b"\n" not in raw
    transcript = read_one("coded.txt")
    assert [t.speaker for t in transcript.turns] == ["F", "19", "22", "F", "19"]
    assert turn_pairs(transcript) == [(s, normalise(t)) for s, t in made.TURNS_CODED]
    assert transcript.metadata == ("Dialogue group, meeting 7", "Transcribed by A. Transcriber",
                                   "Present: F (facilitator), 19, 22",
                                   "[1] The day hospital at the community mental health centre.")
    segs = segments_of(transcript)
    assert segs[0].text == "Welcome back. Last time we talked about the day hospital. Shall we go on?"
    assert segs[0].annotations == ("[1]",)
    assert [s.annotations for s in segs if s.turn_id == 3] == [("[inaudible]",)]
    assert [s.text for s in segs if s.turn_id == 5] == ["A lift, honestly. Or a bus that comes."]
    for s in segs:
        assert transcript.text[s.start:s.end].replace("\r", " ").split()[0] == s.text.split()[0]


def test_csv_with_named_columns_source_and_ids():
    columns = {"text": "feedback", "source": "site", "id": "id"}
    transcripts, _ = ingest([FORMATS / "feedback.csv"], columns=columns)
    assert [t.source for t in transcripts] == ["feedback.csv/Ward A", "feedback.csv/Ward B"]
    ward_a, ward_b = transcripts
    assert [t.text for t in ward_a.turns] == [
        "The staff were kind and explained everything.",
        'Waiting time was far too long, "over three hours", with no updates.',
        "Nothing to improve, thank you."]
    assert [t.annotations for t in ward_a.turns] == [("id=101",), ("id=102",), ("id=105",)]
    assert [t.line for t in ward_a.turns] == [2, 3, 7]  # row 5 holds a line break
    assert [t.text for t in ward_b.turns] == ["Parking, again.\nPlease sort out the car park."]
    assert ward_b.metadata == ("1 row(s) without text left out",)
    assert {t.speaker for t in ward_a.turns} == {""}
    segs = segment(transcripts, SegmentationConfig(), load_config().speakers)
    assert {s.role for s in segs} == {"respondent"}
    assert segs[0].annotations == ("id=101",)
    for transcript in transcripts:
        for s in segment([transcript], SegmentationConfig(), load_config().speakers):
            assert normalise(transcript.text[s.start:s.end]) == s.text


def test_rows_without_a_source_are_a_transcript_named_so(tmp_path):
    path = tmp_path / "src.csv"
    path.write_text("source,speaker,text\nfg1,Jane,Hello there.\n,Bob,No source here.\n")
    transcripts, _ = ingest([path])
    assert [(t.source, [turn.speaker for turn in t.turns]) for t in transcripts] == [
        ("src.csv/fg1", ["Jane"]), ("src.csv/(no source)", ["Bob"])]


def test_csv_without_the_text_column_names_file_and_columns():
    from pipeline.errors import ThemesError

    with pytest.raises(ThemesError, match=r"feedback\.csv:1 \(input\.columns\.text\): no column named 'text'.*'feedback'"):
        ingest([FORMATS / "feedback.csv"])


def test_a_table_without_a_text_column_reads_the_one_usual_name_for_text_and_says_so(tmp_path):
    path = tmp_path / "quotes.csv"
    path.write_text("id,Quote,subtheme\n1,I waited months for a bed.,access\n2,The nurse listened.,care\n")
    (transcript,), _ = ingest([path])
    assert [t.text for t in transcript.turns] == ["I waited months for a bed.", "The nurse listened."]
    assert transcript.notices == (f"{path}: the text is read from column 'Quote' (there is no column named "
                                  "'text'); set input.columns.text (or --text-column) to read another",)
    (named,), _ = ingest([path], columns={"text": "subtheme"})  # chosen by the user: nothing to say
    assert [t.text for t in named.turns] == ["access", "care"] and named.notices == ()
    path.write_text("text,free_text\nfirst,second\n")  # a column named "text" always wins
    (plain,), _ = ingest([path])
    assert [t.text for t in plain.turns] == ["first"] and plain.notices == ()
    path.write_text('{"id": 1, "free_text": "I waited."}\n')
    jsonl = path.rename(tmp_path / "quotes.jsonl")
    (rows,), _ = ingest([jsonl])
    assert [t.text for t in rows.turns] == ["I waited."] and "column 'free_text'" in rows.notices[0]


def test_the_guessed_text_column_is_never_one_chosen_for_another_key(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("Speaker,Comment\nR1,Too slow.\n")
    with pytest.raises(ThemesError, match=r"survey\.csv:1 \(input\.columns\.text\): no column named 'text'; "
                                          r"the columns are 'Speaker', 'Comment'"):
        ingest([path], columns={"speaker": "Comment"})  # the answer is not also its own speaker
    path.write_text("Comment,Response\nR1,Too slow.\nR2,Kind staff.\n")
    (transcript,), _ = ingest([path], columns={"speaker": "Comment"})
    assert [(t.speaker, t.text) for t in transcript.turns] == [("R1", "Too slow."), ("R2", "Kind staff.")]
    assert "column 'Response'" in transcript.notices[0]
    path.write_text("message,answer\nsite A,Too slow.\n")  # and the same for source
    (transcript,), _ = ingest([path], columns={"source": "message"})
    assert transcript.source == "survey.csv/site A" and [t.text for t in transcript.turns] == ["Too slow."]


def test_an_excel_sheet_reads_like_its_csv(tmp_path):
    import datetime

    from openpyxl import Workbook

    rows = [["id", "Respondent", "When", "Score", "Comment"],
            [101, "R1", datetime.datetime(2025, 3, 4, 9, 30), 2.0, "The wait for a bed was far too long."],
            [None, None, None, None, None],  # an empty row: skipped, as in a CSV file
            [102, "R2", datetime.date(2025, 3, 5), 4.5, "Staff listened.\nThey explained my medication."],
            [103, "R3", None, None, None]]  # no text: left out and counted
    book = Workbook()
    book.active.title = "Responses"
    for row in rows:
        book.active.append(row)
    book.active["G2"] = "a note beside the data"  # under no column name: not read
    book.create_sheet("Notes").append(["who ran the survey"])
    book.save(tmp_path / "survey.xlsx")
    columns = {"speaker": "respondent", "timestamp": "when"}
    (sheet,), problems = ingest([tmp_path / "survey.xlsx"], columns=columns)
    assert not problems
    assert [(t.speaker, t.text, t.line, t.timestamp, t.annotations) for t in sheet.turns] == [
        ("R1", "The wait for a bed was far too long.", 2, "2025-03-04 09:30:00", ("id=101",)),
        ("R2", "Staff listened.\nThey explained my medication.", 4, "2025-03-05", ("id=102",))]
    assert sheet.metadata == ("1 row(s) without text left out",)
    assert sheet.notices == (
        f"{tmp_path / 'survey.xlsx'}: only the first sheet, 'Responses', is read; left out: 'Notes'",
        f"{tmp_path / 'survey.xlsx'}: the text is read from column 'Comment' (there is no column named 'text'); "
        "set input.columns.text (or --text-column) to read another")
    for s in segment([sheet], SegmentationConfig(), load_config().speakers):
        assert normalise(sheet.text[s.start:s.end]) == s.text
    # The same workbook under another name is still read as one (by its content).
    (tmp_path / "survey.xlsx").rename(tmp_path / "survey.csv")
    (renamed,), _ = ingest([tmp_path / "survey.csv"], columns=columns)
    assert renamed.turns == sheet.turns


def write_sheet(path, rows, dimension):
    """An .xlsx whose first sheet is written by hand: ``rows`` maps a row number to
    {column letters: text}, and ``dimension`` is the size tag the sheet declares (as scripts
    write it, right or wrong)."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    body = "".join(
        f'<row r="{number}">' + "".join(f'<c r="{col}{number}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
                                        for col, text in cells.items()) + "</row>"
        for number, cells in sorted(rows.items()))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet '
             'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>')
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            target.writestr(item, data)
    return path


def test_an_excel_sheet_declaring_the_whole_grid_reads_only_its_cells(tmp_path):
    # A1:XFD1048576 is 17 billion cells; read-only openpyxl pads each row to the declared width.
    rows = {1: {"A": "Respondent", "B": "Comment"}, 2: {"A": "R1", "B": "Too slow."}, 4: {"B": "Kind staff."}}
    path = write_sheet(tmp_path / "grid.xlsx", rows, "A1:XFD1048576")
    (sheet,), _ = ingest([path], columns={"speaker": "Respondent"})
    assert [(t.speaker, t.text, t.line) for t in sheet.turns] == [("R1", "Too slow.", 2), ("", "Kind staff.", 4)]
    # Empty far cells past column 1,000 are no content: the row is read.
    rows[3] = {"A": "R2", "B": "Clean wards.", "XFD": ""}
    (sheet,), _ = ingest([write_sheet(tmp_path / "far.xlsx", rows, "A1:XFD1048576")])
    assert [t.text for t in sheet.turns] == ["Too slow.", "Clean wards.", "Kind staff."]


def test_a_row_with_an_empty_cell_far_right_costs_only_its_cells(tmp_path):
    """A row is as wide as its last cell with text, not as its last cell: one styled empty
    cell in column XFD made openpyxl's rows 16,384 cells wide."""
    from openpyxl import load_workbook

    from pipeline.formats.sheet import _records

    rows = {1: {"A": "text", "XFD": ""}, **{n: {"A": f"answer {n}", "XFD": " "} for n in range(2, 6)}}
    path = write_sheet(tmp_path / "far.xlsx", rows, "A1:XFD5")
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        assert list(_records(book.worksheets[0], path)) == [(1, ["text"])] + [(n, [f"answer {n}"]) for n in range(2, 6)]
    finally:
        book.close()


def test_a_sheet_damaged_inside_is_refused_in_one_line(tmp_path):
    path = write_sheet(tmp_path / "bad.xlsx", {1: {"A": "text"}, 2: {"A": "fine"}}, "A1:A2")
    import zipfile

    with zipfile.ZipFile(path) as source:
        items = [(item, source.read(item)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for item, data in items:
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<row r="2">', b'<row r="2"><c r="B2" t="s"><v>99</v></c>')  # no string 99
            target.writestr(item, data)
    with pytest.raises(ThemesError, match=r"bad.xlsx: not a readable Excel workbook \(.xlsx\): its first sheet is "
                                          "damaged"):
        ingest([path])


def test_an_excel_sheet_declaring_too_small_a_size_is_read_whole(tmp_path):
    rows = {1: {"A": "id", "B": "speaker", "C": "text"}}
    rows.update({n: {"A": str(n), "B": f"R{n}", "C": f"answer {n}"} for n in range(2, 11)})
    (sheet,), _ = ingest([write_sheet(tmp_path / "small.xlsx", rows, "A1:B4")])
    assert [(t.speaker, t.text, t.line, t.annotations) for t in sheet.turns] == [
        (f"R{n}", f"answer {n}", n, (f"id={n}",)) for n in range(2, 11)]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_qualtrics_exports_two_more_header_rows_are_not_answers(tmp_path, kind):
    import csv as csv_module

    rows = [["ResponseId", "Q1", "Q2_comment"],
            ["Response ID", "How old are you?", "What could we do better?"],
            ['{"ImportId":"_recordId"}', '{"ImportId":"QID1"}', '{"ImportId":"QID2_TEXT"}'],
            ["R_1", "34", "Shorter waits for a first appointment."],
            ["R_2", "51", "Staff who explain the medication."]]
    path = tmp_path / f"export.{kind}"
    if kind == "csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv_module.writer(handle).writerows(rows)
    else:
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    (transcript,), _ = ingest([path], columns={"text": "Q2_comment"})
    assert [t.text for t in transcript.turns] == ["Shorter waits for a first appointment.",
                                                  "Staff who explain the medication."]
    assert [t.line for t in transcript.turns] == [4, 5]
    assert transcript.notices == (f"{path}: a Qualtrics export: its question-text and ImportId rows (lines 2 and 3) "
                                  "are header rows, not answers",)


def write_table(path, rows):
    """A table of ``rows`` (lists of cells, None for an empty one) as CSV (empty cells kept as
    empty fields) or as an .xlsx sheet, by the path's suffix."""
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    else:
        path.write_text("".join(",".join(cell or "" for cell in row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_title_above_the_header_is_left_out_and_said(tmp_path, kind):
    rows = [["Staff survey 2025 - free text answers", None, None],  # "Staff survey ...,," in CSV
            ["id", "role", "comment"],
            ["1", "nurse", "The rota changes too often"],
            ["2", "porter", "Nobody tells us about the new lifts"]]
    path = write_table(tmp_path / f"staff.{kind}", rows)
    (transcript,), _ = ingest([path], columns={"speaker": "role"})
    assert [(t.line, t.speaker, t.text) for t in transcript.turns] == [
        (3, "nurse", "The rota changes too often"), (4, "porter", "Nobody tells us about the new lifts")]
    assert transcript.notices == (
        f"{path}: a title above the column names (line 1: 'Staff survey 2025 - free text answers') is left "
        "out; the header is line 2",
        f"{path}: the text is read from column 'comment' (there is no column named 'text'); set "
        "input.columns.text (or --text-column) to read another")


def test_a_title_subtitle_and_blank_line_above_the_header_are_left_out(tmp_path):
    rows = [["Staff survey 2025", None], ["Ward 3, March", None], [None, None],
            ["Respondent", "text"], ["R1", "The rota changes too often"], ["R2", "Kind staff"]]
    (sheet,), _ = ingest([write_table(tmp_path / "staff.xlsx", rows)])
    assert [(t.line, t.text) for t in sheet.turns] == [(5, "The rota changes too often"), (6, "Kind staff")]
    assert sheet.notices == (f"{tmp_path / 'staff.xlsx'}: a title above the column names (lines 1 and 2: "
                             "'Staff survey 2025', 'Ward 3, March') is left out; the header is line 4",)
    # Bare title lines over a ";" table: the delimiter is the header's, not the title's.
    path = tmp_path / "staff.csv"
    path.write_text("Staff survey 2025\r\nWard 3\r\n\r\nRespondent;text\r\nR1;The rota changes too often\r\n")
    (table,), _ = ingest([path], columns={"speaker": "respondent"})
    assert [(t.line, t.speaker, t.text) for t in table.turns] == [(5, "R1", "The rota changes too often")]
    assert table.notices == (f"{path}: a title above the column names (lines 1 and 2: 'Staff survey 2025', "
                             "'Ward 3') is left out; the header is line 4",)


def test_errors_after_a_title_name_the_files_own_lines(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("Staff survey 2025,,\nid,role,comment\n1,nurse,The rota\n2,porter,Lifts,again\n")
    with pytest.raises(ThemesError, match=r"staff\.csv:4: row has 4 cells but the header has 3"):
        ingest([path])
    sheet = write_table(tmp_path / "staff.xlsx", [["Staff survey 2025"], [], ["id", "comment"], ["1", "The rota"]])
    with pytest.raises(ThemesError, match=r"staff\.xlsx:3 \(input\.columns\.speaker\): no column named 'who'"):
        ingest([sheet], columns={"speaker": "who"})


def test_empty_cells_right_of_the_header_are_ignored_and_filled_ones_refused(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text("id,text\n1,I liked it,\n2,Not much,, \n")  # a delimiter after the last cell
    (table,), _ = ingest([path])
    assert [(t.line, t.text) for t in table.turns] == [(2, "I liked it"), (3, "Not much")]
    path.write_text("id,text\n1,I liked it,a lot\n")
    with pytest.raises(ThemesError, match=r"trailing\.csv:2: row has 3 cells but the header has 2"):
        ingest([path])


def test_a_header_of_one_cell_is_never_taken_for_a_title(tmp_path):
    # A table of one column: the row under its header has one cell too.
    path = tmp_path / "quotes.csv"
    path.write_text("text\nThe rota changes too often\nKind staff; they listened\n")
    (table,), _ = ingest([path])
    assert [(t.line, t.text) for t in table.turns] == [(2, "The rota changes too often"),
                                                       (3, "Kind staff; they listened")]
    assert table.notices == ()
    # A header of one name, and a note beside a row under it: the name is a column's, not a title.
    sheet = write_table(tmp_path / "quotes.xlsx", [["Remarks"], ["The rota changes too often", "ask Sam"],
                                                   ["Kind staff"]])
    (rows,), _ = ingest([sheet], columns={"text": "remarks"})
    assert [(t.line, t.text) for t in rows.turns] == [(2, "The rota changes too often"), (3, "Kind staff")]
    assert rows.notices == ()
    # A first row of one cell over rows of one cell: it is the header, as always.
    path.write_text("Remarks,\nThe rota changes too often,\nKind staff,\n")
    (rows,), _ = ingest([path], columns={"text": "Remarks"})
    assert [t.text for t in rows.turns] == ["The rota changes too often", "Kind staff"] and rows.notices == ()
    # No column the text could be read from under it, or too many rows of one cell: no title.
    path.write_text("Staff survey 2025,,\nq1,q2,q3\n1,2,3\n")
    with pytest.raises(ThemesError, match=r"quotes\.csv:1 \(input\.columns\.text\): .* 'Staff survey 2025'"):
        ingest([path])
    path.write_text("Staff survey\nWard 3\nMarch\nDraft\nid,text\n1,The rota\n")
    with pytest.raises(ThemesError, match=r"quotes\.csv:1 \(input\.columns\.text\): .* 'Staff survey'"):
        ingest([path])


def test_jsonl_rows_in_file_order():
    transcript = read_one("comments.jsonl")
    assert [t.text for t in transcript.turns] == [
        "The staff were kind and explained everything.",
        'Waiting time was far too long, "over three hours", with no updates.',
        "Parking, again.\nPlease sort out the car park.", "Nothing to improve, thank you."]
    assert [t.line for t in transcript.turns] == [1, 3, 4, 5]
    speakers = read_one("comments.jsonl", columns={"speaker": "respondent"}).turns
    assert [t.speaker for t in speakers] == ["R0", "R1", "R3", "R4"]


def test_a_jsonl_key_given_twice_is_refused_where_it_is_read(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "fine", "note": "a"}\n{"text": "first", "text": "second"}\n')
    with pytest.raises(ThemesError, match=r"^.*rows\.jsonl:2 \(input\.columns\.text\): the key 'text' is given "
                                          r"twice in one object; remove all but the one to read$"):
        ingest([path])
    path.write_text('{"text": "fine", "note": "a", "note": "b"}\n')  # a key not read: the first counts
    (table,), _ = ingest([path])
    assert [t.text for t in table.turns] == ["fine"]


def test_jsonl_keeps_raw_line_separators_inside_strings(tmp_path):
    """JSON.stringify and json.dumps(ensure_ascii=False) leave U+2028 and U+2029 raw in a
    string: still one line of JSON Lines."""
    import json

    rows = [{"text": "First part\u2028second part."}, {"text": "Another\u2029one\u0085here."}]
    path = tmp_path / "rows.jsonl"
    path.write_text("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\r\n", encoding="utf-8")
    (transcript,), problems = ingest([path])
    assert not problems and [t.line for t in transcript.turns] == [1, 2]
    assert transcript.turns[0].text.startswith("First part") and transcript.turns[1].text.endswith("here.")


def test_tsv_rows_are_never_merged():
    transcript = read_one("turns.tsv")
    assert len(transcript.turns) == len(made.TURNS)


def test_docx_teams_layout_name_and_time_over_the_speech(tmp_path):
    import docx

    document = docx.Document()
    for line in ["Transcript", "3 November 2025, 14:00", "Jane Doe   0:03", "Hello everyone.", "Second thought.",
                 "Bob Lee   0:10", "Hi Jane.", "Jane Doe   1:02:03", "Shall we start?"]:
        document.add_paragraph(line)
    document.save(tmp_path / "teams.docx")
    transcript = read_one_path(tmp_path / "teams.docx")
    assert [(t.speaker, normalise(t.text), t.timestamp) for t in transcript.turns] == [
        ("Jane Doe", "Hello everyone. Second thought.", "00:00:03"), ("Bob Lee", "Hi Jane.", "00:00:10"),
        ("Jane Doe", "Shall we start?", "01:02:03")]
    assert transcript.metadata == ("Transcript", "3 November 2025, 14:00")


def read_one_path(path):
    transcripts, _ = ingest([path])
    return transcripts[0]


SHARED_CSV = FIXTURES.parent.parent.parent / "shared" / "data" / "nhs_feedback_phase1.csv"


@pytest.mark.skipif(not SHARED_CSV.is_file(), reason="shared benchmark data not present")
def test_real_feedback_csv_every_row_with_text_is_one_turn():
    import csv

    with open(SHARED_CSV, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    expected = [row["feedback"].strip() for row in rows if row["feedback"].strip()]
    transcripts, _ = ingest([SHARED_CSV], columns={"text": "feedback", "id": "row_index"})
    turns = [turn for t in transcripts for turn in t.turns]
    assert [turn.text for turn in turns] == expected
    assert {turn.speaker for turn in turns} == {""}


def test_run_writes_timestamps_and_annotations_to_segments_csv(fake_embedder):
    import csv
    import io
    import json

    from pipeline.runner import execute, segments_csv

    config = load_config(overrides={"input": {"paths": [str(FORMATS / "meeting.vtt"), str(FORMATS / "coded.txt")]},
                                    "taxonomy": "none"})
    outputs = execute(config, embedder=fake_embedder)
    rows = list(csv.DictReader(io.StringIO(segments_csv(outputs))))
    vtt = [row for row in rows if row["source"] == "meeting.vtt"]
    assert [(row["speaker"], row["role"], row["timestamp"]) for row in vtt[:3]] == [
        ("Facilitator 1", "facilitator", "00:00:01.000"), ("User 1", "user", "00:00:06.500"),
        ("User 2", "user", "00:00:08.000")]
    coded = [row for row in rows if row["source"] == "coded.txt"]
    assert json.loads(coded[0]["annotations"]) == ["[1]"]
    assert coded[0]["text"] == "Welcome back. Last time we talked about the day hospital. Shall we go on?"


def test_docs_cover_every_input_key_and_format():
    from pipeline.config import ColumnsConfig, InputConfig
    from pipeline.formats import SUPPORTED_SUFFIXES

    config_doc = (FIXTURES.parent.parent / "docs" / "config.md").read_text(encoding="utf-8")
    input_doc = (FIXTURES.parent.parent / "docs" / "input.md").read_text(encoding="utf-8")
    for key in InputConfig.model_fields:
        assert f"`input.{key}`" in config_doc, key
    for key in ColumnsConfig.model_fields:
        assert f"    {key}:" in input_doc, key
    for suffix in SUPPORTED_SUFFIXES:
        assert f"`{suffix}`" in input_doc, suffix


@pytest.mark.parametrize("text, delimiter", [
    ("Staff survey, March 2025;;\nid;comment;site\n1;hi;A\n", ";"),  # Excel in a ';' locale
    ("Staff survey; March 2025\nid,comment\n1,hi\n", ","),
    ('"' * 300 + 'a|b|"c"|d\nid|comment\n1|hi\n', "|"),  # a line of quotes (the Sniffer took 20 s)
])
def test_the_delimiter_is_the_headers_whatever_the_title_holds(text, delimiter):
    from pipeline.formats.table import _delimiter, parse_table

    assert _delimiter(text, ("comment",)) == delimiter
    if text.startswith("Staff"):
        (table,) = parse_table(text, "survey.csv", Path("survey.csv"))
        assert [t.text for t in table.turns] == ["hi"] and "the header is line 2" in table.notices[0]


def test_rows_under_a_one_column_header_do_not_choose_the_delimiter():
    from pipeline.formats.table import _delimiter, parse_table

    text = "text\nI was told to wait; nobody came\nComment | none\nThe nurse was kind\n"
    assert _delimiter(text, ("text", "comment")) == ","
    (table,) = parse_table(text, "single.csv", Path("single.csv"))
    assert [t.text for t in table.turns] == ["I was told to wait; nobody came", "Comment | none", "The nurse was kind"]


def test_jsonl_with_old_mac_line_ends(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "One."}\r{"text": "Two."}\r', encoding="utf-8", newline="")
    (transcript,), _ = ingest([path])
    assert [t.text for t in transcript.turns] == ["One.", "Two."]


def test_a_tables_speakers_are_one_person_however_spaced(tmp_path):
    path = tmp_path / "quotes.csv"
    path.write_text("speaker,text\nJane  Doe,One thing.\nBob,Two.\nJane\u00a0Doe,Three.\n", encoding="utf-8")
    assert [t.speaker for t in read_one_path(path).turns] == ["Jane Doe", "Bob", "Jane Doe"]


@pytest.mark.parametrize("name, text", [
    ("doubled.txt", "Jane Doe: Jane Doe: I said it twice because the transcriber did.\nBob: Yes, we heard.\n"),
    ("doubled.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Jane Doe>Jane Doe: I said it twice because the "
                    "transcriber did.</v>\n\n00:00:05.000 --> 00:00:06.000\n<v Bob>Yes, we heard.</v>\n"),
])
def test_a_label_typed_again_before_the_speech_is_not_speech(tmp_path, name, text):
    """With pseudonyms on, the label left in the speech was the real name in every output."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    (transcript,), _ = ingest([tmp_path / name])
    said = [normalise(s.text) for s in segment([transcript], SegmentationConfig(), load_config().speakers)]
    assert said == ["I said it twice because the transcriber did.", "Yes, we heard."]
