"""The Word reader: the text as Word shows it, bold speaker names, and transcript tables.

Documents are built here with python-docx; what python-docx cannot write (tracked changes,
content controls) is added as WordprocessingML, the way Word writes it.
"""

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from pipeline.formats.docx import parse_docx
from pipeline.segment import normalise

CHANGE = 'w:id="{}" w:author="Reviewer" w:date="2024-03-01T00:00:00Z"'


def run(text, bold=False):
    style = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{style}<w:t xml:space="preserve">{text}</w:t></w:r>'


def inserted(*runs):
    return f"<w:ins {CHANGE.format(1)}>{''.join(runs)}</w:ins>"


def deleted(text):
    return f'<w:del {CHANGE.format(2)}><w:r><w:delText xml:space="preserve">{text}</w:delText></w:r></w:del>'


def add_block(document, xml):
    """Append ``xml`` (a ``w:p``, or a block holding paragraphs) to the body."""
    document.element.body.sectPr.addprevious(parse_xml(xml.replace(">", f" {nsdecls('w')}>", 1)))


def add_paragraph(document, *parts):
    add_block(document, f"<w:p>{''.join(parts)}</w:p>")


def add_bold_turn(document, name, speech):
    paragraph = document.add_paragraph()
    paragraph.add_run(name).bold = True
    paragraph.add_run(" " + speech)


def read(document, tmp_path):
    path = tmp_path / "transcript.docx"
    document.save(path)
    transcript = parse_docx(path.read_bytes(), path.name, path)
    for turn in transcript.turns:  # each turn's text is its stretch of the document's, blanked only
        source = transcript.text[turn.start:turn.end]
        assert len(turn.text) == len(source) and all(kept in (" ", own) for kept, own in zip(turn.text, source))
    return transcript


def turns(transcript):
    return [(turn.speaker, normalise(turn.text)) for turn in transcript.turns]


def test_tracked_changes_read_as_if_accepted(tmp_path):
    document = docx.Document()
    add_paragraph(document, run("Interviewer: How did you get on?"))
    add_paragraph(document, run("Participant: Much better."), inserted(run(" She actually listened.")))
    add_paragraph(document, run("Interviewer: And how many sessions"), deleted(" [inaudible] did"), run(" did you get?"))
    add_paragraph(document, inserted(run("Participant: Twelve, and six more.")))
    add_paragraph(document, deleted("Participant: Or was it ten?"))
    add_paragraph(document, run("Interviewer: That's"),
                  f'<w:moveFrom {CHANGE.format(3)}>{run(" really")}</w:moveFrom>', run(" good"),
                  f'<w:moveTo {CHANGE.format(4)}>{run(" really")}</w:moveTo>', run("."))
    transcript = read(document, tmp_path)
    assert turns(transcript) == [
        ("Interviewer", "How did you get on?"), ("Participant", "Much better. She actually listened."),
        ("Interviewer", "And how many sessions did you get?"), ("Participant", "Twelve, and six more."),
        ("Interviewer", "That's good really.")]
    assert "[inaudible]" not in transcript.text and "ten?" not in transcript.text


def deleted_mark(change=5):
    return f"<w:pPr><w:rPr><w:del {CHANGE.format(change)}/></w:rPr></w:pPr>"


def test_a_paragraph_whose_mark_is_deleted_runs_on_into_the_next(tmp_path):
    document = docx.Document()
    add_paragraph(document, run("Interviewer: How long did you wait?"))
    add_paragraph(document, deleted_mark(), run("Participant: Six"))  # a reviewer joined these
    add_paragraph(document, run(" months, Part 2: of the story is the referral."))
    add_paragraph(document, deleted_mark(6), deleted("Interviewer: Sorry, go on."))  # deleted whole
    add_paragraph(document, deleted_mark(7), run("Interviewer:"), run(" And then?", bold=False))
    transcript = read(document, tmp_path)
    assert transcript.text.split("\n") == [
        "Interviewer: How long did you wait?", "Participant: Six months, Part 2: of the story is the referral.",
        "Interviewer: And then?"]
    assert turns(transcript) == [("Interviewer", "How long did you wait?"),
                                 ("Participant", "Six months, Part 2: of the story is the referral."),
                                 ("Interviewer", "And then?")]


def test_a_bold_name_joined_by_a_deleted_mark_stays_a_speaker(tmp_path):
    document = docx.Document()
    for name, speech in (("Jess", "It was fine."), ("Sam", "Not for me.")):
        add_bold_turn(document, name, speech)
    add_paragraph(document, deleted_mark(), run("Jess", bold=True))
    add_paragraph(document, run(" They said no."))
    assert turns(read(document, tmp_path))[-1] == ("Jess", "They said no.")


def test_content_controls_smart_tags_and_custom_xml_are_read(tmp_path):
    document = docx.Document()
    add_paragraph(document, run("Interviewer: Where was it?"))
    add_paragraph(document, run("Participant: At "),
                  f"<w:smartTag w:uri='urn:x' w:element='place'>{run('Leeds General')}</w:smartTag>",
                  f"<w:customXml w:element='site'>{run(' Infirmary')}</w:customXml>",
                  f"<w:sdt><w:sdtPr><w:alias w:val='where'/></w:sdtPr><w:sdtContent>{run(', ward 4')}"
                  "</w:sdtContent></w:sdt>", run("."))
    # Whole paragraphs inside a block-level content control and a custom XML element.
    add_block(document, f"<w:sdt><w:sdtPr/><w:sdtContent><w:p>{run('Interviewer: How long?')}</w:p>"
                        "</w:sdtContent></w:sdt>")
    add_block(document, f"<w:customXml w:element='turn'><w:p>{run('Participant: A week.')}</w:p></w:customXml>")
    assert turns(read(document, tmp_path)) == [
        ("Interviewer", "Where was it?"), ("Participant", "At Leeds General Infirmary, ward 4."),
        ("Interviewer", "How long?"), ("Participant", "A week.")]


def test_an_empty_content_controls_placeholder_is_not_speech(tmp_path):
    document = docx.Document()
    add_paragraph(document, run("Interviewer: Your study number?"))
    add_paragraph(document, run("Participant: "), "<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent>"
                  f"{run('Click or tap here to enter text.')}</w:sdtContent></w:sdt>", run("I don't know it."))
    assert turns(read(document, tmp_path))[-1] == ("Participant", "I don't know it.")


def test_line_breaks_and_tabs_inside_an_insertion_read_as_before(tmp_path):
    document = docx.Document()
    add_paragraph(document, inserted("<w:r><w:t>Interviewer:</w:t><w:br/><w:t>First line.</w:t></w:r>"))
    add_paragraph(document, run("Participant:"), inserted("<w:r><w:tab/><w:t>Tabbed.</w:t></w:r>"))
    transcript = read(document, tmp_path)
    assert transcript.text == "Interviewer:\nFirst line.\nParticipant:\tTabbed."
    assert turns(transcript) == [("Interviewer", "First line."), ("Participant", "Tabbed.")]


def test_an_inserted_bold_name_is_a_speaker(tmp_path):
    document = docx.Document()
    add_bold_turn(document, "Jess", "They said no.")
    add_paragraph(document, inserted(run("Dev", bold=True), run(" Same with my consultant.")))
    add_bold_turn(document, "Jess", "Flat out.")
    assert turns(read(document, tmp_path)) == [
        ("Jess", "They said no."), ("Dev", "Same with my consultant."), ("Jess", "Flat out.")]


def test_tracked_changes_in_a_table_cell(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Speaker", "Text"), ("Interviewer", "Was it quick?")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    table.rows[2].cells[0].text = "Participant"
    cell = table.rows[2].cells[1]._tc
    cell.remove(cell.p_lst[0])
    cell.append(parse_xml(f"<w:p {nsdecls('w')}>{run('No,')}{deleted(' it was')}"
                          f"{inserted(run(' three weeks.'))}</w:p>"))
    assert turns(read(document, tmp_path)) == [("Interviewer", "Was it quick?"), ("Participant", "No, three weeks.")]


def test_table_rows_and_cells_inside_content_controls_are_read(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=4, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Speaker", "Text"), ("Interviewer", "Was it quick?"),
                                                  ("Participant", "No, three weeks."), ("Interviewer", "Why?")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    tbl = table._tbl
    # A repeating-section control around the middle two rows, a custom XML element around a cell,
    # and a control still showing its placeholder around the last row.
    rows = tbl.tr_lst
    section = parse_xml(f"<w:sdt {nsdecls('w')}><w:sdtPr/><w:sdtContent/></w:sdt>")
    rows[1].addprevious(section)
    for tr in rows[1:3]:
        section[1].append(tr)
    cell = rows[2].tc_lst[1]
    holder = parse_xml(f"<w:customXml {nsdecls('w')} w:element='answer'/>")
    cell.addprevious(holder)
    holder.append(cell)
    placeholder = parse_xml(f"<w:sdt {nsdecls('w')}><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent/></w:sdt>")
    rows[3].addprevious(placeholder)
    placeholder[1].append(rows[3])
    assert turns(read(document, tmp_path)) == [("Interviewer", "Was it quick?"), ("Participant", "No, three weeks.")]


def test_a_time_stacked_under_the_name_in_the_speaker_cell_is_the_rows_time(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Interviewer\n00:00:03", "How was the ward at night?"),
                                                  ("Participant\n[00:00:09]", "Loud, all night, every night."),
                                                  ("Interviewer\n00:01:15.5", "And the staff, were they kind?")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    transcript = read(document, tmp_path)
    assert [(t.speaker, t.timestamp) for t in transcript.turns] == [
        ("Interviewer", "00:00:03"), ("Participant", "00:00:09"), ("Interviewer", "00:01:15.500")]


def test_a_speaker_cell_of_two_lines_is_one_label(tmp_path):
    document = docx.Document()  # it stopped the reader with an error
    table = document.add_table(rows=3, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Dr Smith\nPsychiatrist", "How was the ward at night?"),
                                                  ("Participant", "Loud, all night.\nEvery night."),
                                                  ("Dr Smith\nPsychiatrist", "And the staff, were they kind?")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    assert turns(read(document, tmp_path)) == [
        ("Dr Smith Psychiatrist", "How was the ward at night?"), ("Participant", "Loud, all night. Every night."),
        ("Dr Smith Psychiatrist", "And the staff, were they kind?")]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\r"])
def test_other_line_separators_pasted_into_word_are_line_breaks(tmp_path, separator):
    document = docx.Document()  # a table cell with one stopped the reader with an error
    table = document.add_table(rows=2, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Interviewer", f"How was it?{separator}Honestly."),
                                                  ("Participant", "Fine, thanks.")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    for name, speech in (("Jess", "I waited."), ("Dev", "For how long?"), ("Jess", "Months.")):
        add_paragraph(document, run(name, bold=True), run(f"{separator}{speech}"))
    assert turns(read(document, tmp_path)) == [
        ("Interviewer", "How was it? Honestly."), ("Participant", "Fine, thanks."),
        ("Jess", "I waited."), ("Dev", "For how long?"), ("Jess", "Months.")]


def test_a_bold_name_with_its_own_line_break_labels_the_lines_below(tmp_path):
    document = docx.Document()  # it stopped the reader with an error
    for name, speech in (("Jess", "I was on the ward for a week."), ("Dev", "And how was it?"), ("Jess", "Fine.")):
        paragraph = document.add_paragraph()
        name_run = paragraph.add_run(name)
        name_run.bold = True
        name_run.add_break()  # Shift+Enter inside the bold run
        paragraph.add_run(speech)
    assert turns(read(document, tmp_path)) == [("Jess", "I was on the ward for a week."), ("Dev", "And how was it?"),
                                               ("Jess", "Fine.")]


def test_a_vertical_merge_with_no_cell_above_is_read_as_written(tmp_path):
    from docx.oxml import OxmlElement

    document = docx.Document()  # python-docx raised an error for it
    table = document.add_table(rows=3, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Interviewer", "How was it on the ward?"),
                                                  ("P1", "Fine, most of the time."), ("P1", "Really, it was.")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    table.rows[0].cells[0]._tc.get_or_add_tcPr().append(OxmlElement("w:vMerge"))  # "continue", in the first row
    assert turns(read(document, tmp_path)) == [("Interviewer", "How was it on the ward?"),
                                               ("P1", "Fine, most of the time. Really, it was.")]


def test_a_content_control_without_content_around_rows_holds_nothing(tmp_path):
    document = docx.Document()  # its missing w:sdtContent stopped the reader with an error
    table = document.add_table(rows=2, cols=2)
    for row, (speaker, speech) in zip(table.rows, [("Interviewer", "How was it?"), ("P1", "Fine, thanks.")]):
        row.cells[0].text, row.cells[1].text = speaker, speech
    table._tbl.append(parse_xml(f"<w:sdt {nsdecls('w')}><w:sdtPr/></w:sdt>"))
    table.rows[0]._tr.append(parse_xml(f"<w:sdt {nsdecls('w')}><w:sdtPr/></w:sdt>"))
    assert turns(read(document, tmp_path)) == [("Interviewer", "How was it?"), ("P1", "Fine, thanks.")]


def bold_focus_group(document):
    add_bold_turn(document, "Facilitator", "What happened when you asked for a second opinion?")
    add_bold_turn(document, "Jess", "They said no. Flat out.")


def test_a_bold_word_the_sentence_runs_on_from_is_emphasis_not_a_speaker(tmp_path):
    document = docx.Document()
    bold_focus_group(document)
    add_bold_turn(document, "Never", "again will I just accept what one doctor says.")
    add_bold_turn(document, "Dev", "Same experience with my consultant.")
    add_bold_turn(document, "Jess", "Being given the options in writing.")
    assert turns(read(document, tmp_path)) == [
        ("Facilitator", "What happened when you asked for a second opinion?"),
        ("Jess", "They said no. Flat out. Never again will I just accept what one doctor says."),
        ("Dev", "Same experience with my consultant."), ("Jess", "Being given the options in writing.")]


@pytest.mark.parametrize("heading", ["Q3.", "Question 3:", "Topic 2"])
def test_a_bold_numbered_heading_is_metadata_not_a_speaker(tmp_path, heading):
    document = docx.Document()
    bold_focus_group(document)
    add_bold_turn(document, heading, "What would improve shared decision-making?")
    add_bold_turn(document, "Jess", "Options in writing.")
    transcript = read(document, tmp_path)
    assert [speaker for speaker, _ in turns(transcript)] == ["Facilitator", "Jess", "Jess"]  # the heading parts them
    assert transcript.metadata == (f"{heading} What would improve shared decision-making?",)


def test_a_bold_question_in_full_is_metadata(tmp_path):
    document = docx.Document()
    bold_focus_group(document)
    document.add_paragraph().add_run("Q3. What would improve shared decision-making?").bold = True
    add_bold_turn(document, "Jess", "Options in writing.")
    transcript = read(document, tmp_path)
    assert [speaker for speaker, _ in turns(transcript)] == ["Facilitator", "Jess", "Jess"]
    assert transcript.metadata == ("Q3. What would improve shared decision-making?",)


def test_a_bold_number_among_bold_names_is_not_a_speaker(tmp_path):
    document = docx.Document()
    bold_focus_group(document)
    add_bold_turn(document, "1.", "What would improve shared decision-making?")
    add_bold_turn(document, "Facilitator", "So, what would help?")
    assert [speaker for speaker, _ in turns(read(document, tmp_path))] == ["Facilitator", "Jess", "Facilitator"]


def test_a_bold_heading_paragraph_with_a_colon_is_not_a_speaker(tmp_path):
    document = docx.Document()
    bold_focus_group(document)
    document.add_paragraph().add_run("Topic 2: Access to services").bold = True
    add_bold_turn(document, "Facilitator", "How easy was it to get seen?")
    assert [speaker for speaker, _ in turns(read(document, tmp_path))] == ["Facilitator", "Jess", "Facilitator"]


def test_bold_names_heard_once_are_speakers_where_they_look_like_the_others(tmp_path):
    document = docx.Document()
    add_bold_turn(document, "P1", "Who goes first?")
    add_bold_turn(document, "P2", "Me. It was fine.")
    add_bold_turn(document, "P1", "Not for me.")
    add_bold_turn(document, "Honestly", "I never felt listened to.")  # no number, unlike every name here
    add_bold_turn(document, "P3", "Same here.")  # heard once, numbered like P1 and P2
    add_bold_turn(document, "P2", "Why not?")
    assert turns(read(document, tmp_path)) == [
        ("P1", "Who goes first?"), ("P2", "Me. It was fine."),
        ("P1", "Not for me. Honestly I never felt listened to."), ("P3", "Same here."), ("P2", "Why not?")]


def test_a_bold_name_with_a_line_break_after_it_labels_the_lines_below(tmp_path):
    document = docx.Document()
    for name, speech in [("Jess", "They said no."), ("Dev", "Same here.")]:
        paragraph = document.add_paragraph()
        paragraph.add_run(name).bold = True
        paragraph.add_run().add_break()
        paragraph.add_run(speech)
    assert turns(read(document, tmp_path)) == [("Jess", "They said no."), ("Dev", "Same here.")]


INTERVIEW = [("Interviewer", "Can you tell me about your last admission?"),
             ("Participant", "It was under section. I didn't want to go."),
             ("Interviewer", "What was the hardest part?"),
             ("Participant", "Losing my phone.")]


def test_a_merged_title_row_is_metadata_and_the_header_is_the_row_below(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Interview 3 – Acute ward – 12/03/2024"
    table.cell(1, 0).text, table.cell(1, 1).text = "Speaker", "Text"
    for speaker, speech in INTERVIEW:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = speaker, speech
    transcript = read(document, tmp_path)
    assert turns(transcript) == INTERVIEW
    assert transcript.metadata == ("Interview 3 – Acute ward – 12/03/2024", "Speaker\tText")


def test_a_merged_title_row_above_a_table_without_a_header(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Interview 3"
    for speaker, speech in INTERVIEW:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = speaker, speech
    transcript = read(document, tmp_path)
    assert turns(transcript) == INTERVIEW
    assert transcript.metadata == ("Interview 3",)


def test_a_column_numbering_the_rows_is_not_the_speaker_column(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=0, cols=3)
    for number, (speaker, speech) in enumerate(INTERVIEW, start=1):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = str(number), speaker, speech
    assert turns(read(document, tmp_path)) == INTERVIEW


def test_numbered_speakers_are_still_a_speaker_column(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=0, cols=2)
    for speaker, speech in [("19", "Yes."), ("22", "I went twice this month."), ("19", "It was quieter.")]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = speaker, speech
    assert [speaker for speaker, _ in turns(read(document, tmp_path))] == ["19", "22", "19"]


def test_an_older_teams_transcript_saved_as_word(tmp_path):
    """Teams' older transcript layout (timing line, name line, speech), one paragraph a line
    and no blank paragraphs between the cues."""
    document = docx.Document()
    for line in ("0:0:0.0 --> 0:0:5.720", "Fischer, Anna", "OK, thanks for joining.",
                 "0:0:6.150 --> 0:0:12.300", "Mark O'Brien", "Happy to be here.", "The crisis team.",
                 "0:0:20.500 --> 0:0:26.0", "Fischer, Anna", "Great."):
        document.add_paragraph(line)
    transcript = read(document, tmp_path)
    assert [(t.speaker, normalise(t.text), t.timestamp) for t in transcript.turns] == [
        ("Fischer, Anna", "OK, thanks for joining.", "00:00:00.000"),
        ("Mark O'Brien", "Happy to be here. The crisis team.", "00:00:06.150"),
        ("Fischer, Anna", "Great.", "00:00:20.500")]


def test_the_title_and_header_rows_of_a_later_table_are_metadata(tmp_path):
    document = docx.Document()
    for title, turns_ in (("Interview 3 – Acute ward", [("Interviewer", "How was the ward?"), ("P3", "Noisy.")]),
                          ("Interview 4 – Acute ward", [("Interviewer", "And discharge?"), ("P4", "Rushed.")])):
        table = document.add_table(rows=2 + len(turns_), cols=2)
        table.cell(0, 0).merge(table.cell(0, 1)).text = title
        table.cell(1, 0).text, table.cell(1, 1).text = "Speaker", "Text"
        for row, (speaker, speech) in enumerate(turns_, start=2):
            table.cell(row, 0).text, table.cell(row, 1).text = speaker, speech
    transcript = read(document, tmp_path)
    assert turns(transcript) == [("Interviewer", "How was the ward?"), ("P3", "Noisy."),
                                 ("Interviewer", "And discharge?"), ("P4", "Rushed.")]
    assert "Interview 4 – Acute ward" in transcript.metadata


def test_a_wide_table_whose_header_names_speaker_and_text_is_a_transcript(tmp_path):
    document = docx.Document()  # a transcription template: line numbers, times and notes around the speech
    table = document.add_table(rows=1, cols=5)
    for cell, name in zip(table.rows[0].cells, ["Line", "Time", "Speaker", "Transcript", "Notes"]):
        cell.text = name
    for row in [("1", "00:00:01", "Interviewer", "How was the ward?", ""),
                ("2", "00:00:05", "P1", "It was noisy at night.", "laughs"),
                ("3", "00:00:09", "Interviewer", "Why?", "")]:
        for cell, value in zip(table.add_row().cells, row):
            cell.text = value
    transcript = read(document, tmp_path)
    assert [(turn.speaker, normalise(turn.text), turn.timestamp) for turn in transcript.turns] == [
        ("Interviewer", "How was the ward?", "00:00:01"), ("P1", "It was noisy at night.", "00:00:05"),
        ("Interviewer", "Why?", "00:00:09")]


MC = ('xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" xmlns:v="urn:schemas-microsoft-com:vml"')


def text_box(*paragraphs):
    return "<w:txbxContent>" + "".join(f"<w:p>{run(text)}</w:p>" for text in paragraphs) + "</w:txbxContent>"


def test_a_text_box_is_read_once_after_the_paragraph_it_is_anchored_in(tmp_path):
    document = docx.Document()
    document.add_paragraph("Interviewer: Hello.")
    # As Word writes a box: a drawing, and the same box again as VML for older readers.
    add_block(document, f"<w:p {MC}>{run('P1: Hi there.')}<w:r><mc:AlternateContent>"
                        f"<mc:Choice Requires=\"wps\"><w:drawing><wps:txbx>{text_box('P2: I said it in a box.')}"
                        f"</wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>"
                        f"{text_box('P2: I said it in a box.')}</v:textbox></v:shape></w:pict></mc:Fallback>"
                        "</mc:AlternateContent></w:r></w:p>")
    # VML alone, as older Word writes it
    add_block(document, f"<w:p {MC}><w:r><w:pict><v:shape><v:textbox>{text_box('P3: And in another.', 'Two lines.')}"
                        "</v:textbox></v:shape></w:pict></w:r></w:p>")
    document.add_paragraph("Interviewer: Bye.")
    assert turns(read(document, tmp_path)) == [
        ("Interviewer", "Hello."), ("P1", "Hi there."), ("P2", "I said it in a box."),
        ("P3", "And in another. Two lines."), ("Interviewer", "Bye.")]


def test_a_table_inside_a_layout_tables_cell_is_read_as_a_transcript_table(tmp_path):
    document = docx.Document()
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.paragraphs[0].text = "Interview 5"
    inner = cell.add_table(rows=0, cols=2)
    for speaker, speech in [("Interviewer", "How was the ward?"), ("P1", "It was noisy at night."),
                            ("Interviewer", "Why?"), ("P1", "Too many staff changes.")]:
        row = inner.add_row().cells
        row[0].text, row[1].text = speaker, speech
    document.add_paragraph("Interviewer: Anything else?")
    transcript = read(document, tmp_path)
    assert transcript.metadata == ("Interview 5",)
    assert turns(transcript) == [
        ("Interviewer", "How was the ward?"), ("P1", "It was noisy at night."), ("Interviewer", "Why?"),
        ("P1", "Too many staff changes."), ("Interviewer", "Anything else?")]


def test_a_transcript_table_with_a_table_pasted_into_a_speech_cell_stays_a_transcript_table(tmp_path):
    document = docx.Document()
    document.add_paragraph("Interview 3")
    table = document.add_table(rows=0, cols=2)
    for speaker, speech in [("Speaker", "Text"), ("Interviewer", "How was the clinic?"),
                            ("P1", "Slow. Here are my scores:"), ("Interviewer", "Thanks.")]:
        row = table.add_row().cells
        row[0].text, row[1].text = speaker, speech
    # Longer than the transcript: its header row still makes the outer table the transcript.
    scores = table.cell(2, 1).add_table(rows=6, cols=2)
    for row, values in zip(scores.rows, [("Week", "Score"), ("1", "5"), ("2", "6"), ("3", "4"), ("4", "7"), ("5", "6")]):
        row.cells[0].text, row.cells[1].text = values
    transcript = read(document, tmp_path)
    assert turns(transcript) == [("Interviewer", "How was the clinic?"), ("P1", "Slow. Here are my scores:"),
                                 ("Interviewer", "Thanks.")]
    assert transcript.metadata == ("Interview 3", "Speaker\tText")


@pytest.mark.parametrize("cover", [
    [("Interviewer", "Jane Smith"), ("Participant", "P04"), ("Transcript", "")],
    # Its top row reads like a transcript table's header: the table inside still has the turns.
    [("Participant", "Transcript"), ("Interviewer", "Jane Smith"), ("Site", "Leeds"), ("", "")],
])
def test_a_cover_sheet_around_the_transcript_table_is_no_transcript(tmp_path, cover):
    """Its own cells ("Interviewer | Jane Smith") read like two turns; the table inside has more."""
    document = docx.Document()
    layout = document.add_table(rows=len(cover), cols=2)
    for r, (key, value) in enumerate(cover):
        layout.cell(r, 0).text, layout.cell(r, 1).text = key, value
    inner = layout.cell(len(cover) - 1, 1).add_table(rows=0, cols=2)
    for speaker, speech in [("Interviewer", "How was the ward?"), ("P04", "It was noisy at night."),
                            ("Interviewer", "Why?"), ("P04", "Staff changes.")]:
        row = inner.add_row().cells
        row[0].text, row[1].text = speaker, speech
    assert turns(read(document, tmp_path)) == [("Interviewer", "How was the ward?"), ("P04", "It was noisy at night."),
                                               ("Interviewer", "Why?"), ("P04", "Staff changes.")]


def test_a_longer_list_pasted_into_an_answer_leaves_the_transcript_table_as_it_is(tmp_path):
    """A medication list with a name twice, longer than the interview: it sits in an answer."""
    document = docx.Document()
    table = document.add_table(rows=0, cols=2)
    for speaker, speech in [("Speaker", "Text"), ("Interviewer", "What do you take?"), ("P1", "Here is my list:")]:
        row = table.add_row().cells
        row[0].text, row[1].text = speaker, speech
    pasted = table.cell(2, 1).add_table(rows=0, cols=2)
    for drug, dose in [("Paracetamol", "1g in the morning with food"), ("Paracetamol", "1g in the evening"),
                       ("Sertraline", "50mg at night"), ("Omeprazole", "20mg before breakfast")]:
        row = pasted.add_row().cells
        row[0].text, row[1].text = drug, dose
    assert turns(read(document, tmp_path)) == [("Interviewer", "What do you take?"), ("P1", "Here is my list:")]


def test_an_answer_that_is_only_a_pasted_table_leaves_the_transcript_table_as_it_is(tmp_path):
    document = docx.Document()
    table = document.add_table(rows=0, cols=2)
    for speaker, speech in [("Speaker", "Text"), ("Interviewer", "What do you take?"), ("P1", ""),
                            ("Interviewer", "Anything else?"), ("P1", "No, that is all.")]:
        row = table.add_row().cells
        row[0].text, row[1].text = speaker, speech
    pasted = table.cell(2, 1).add_table(rows=0, cols=2)
    for drug, dose in [("Paracetamol", "1g"), ("Sertraline", "50mg"), ("Omeprazole", "20mg"), ("Zopiclone", "7.5mg"),
                       ("Vitamin D", "daily"), ("Iron", "daily")]:
        row = pasted.add_row().cells
        row[0].text, row[1].text = drug, dose
    assert turns(read(document, tmp_path)) == [("Interviewer", "What do you take?"), ("Interviewer", "Anything else?"),
                                               ("P1", "No, that is all.")]


def test_a_layout_table_whose_own_cells_look_like_one_row_of_a_transcript_stays_a_layout_table(tmp_path):
    document = docx.Document()
    layout = document.add_table(rows=2, cols=2)
    layout.cell(0, 0).text, layout.cell(0, 1).text = "Interview 5", "Recorded on the ward, 3 May 2024"
    inner = layout.cell(1, 1).add_table(rows=0, cols=2)
    for speaker, speech in [("Interviewer", "How was the ward?"), ("P1", "It was noisy at night.")]:
        row = inner.add_row().cells
        row[0].text, row[1].text = speaker, speech
    assert turns(read(document, tmp_path)) == [("Interviewer", "How was the ward?"), ("P1", "It was noisy at night.")]


def test_a_text_box_in_a_paragraph_whose_mark_is_deleted_follows_the_paragraph_it_runs_on_into(tmp_path):
    def anchored(*parts, box):
        return (f"<w:p {MC}>{''.join(parts)}<w:r><w:pict><v:shape><v:textbox>{text_box(box)}"
                "</v:textbox></v:shape></w:pict></w:r></w:p>")

    document = docx.Document()
    document.add_paragraph("Interviewer: How was it?")
    add_block(document, anchored(deleted_mark(), run("P1: It was"), box="P2: Said in a box."))
    add_block(document, '<w:bookmarkStart w:id="0" w:name="here"></w:bookmarkStart>')
    add_paragraph(document, run(" fine in the end."))
    add_block(document, anchored(deleted_mark(6), run("Interviewer: Then a table."), box="P3: Another box."))
    table = document.add_table(rows=0, cols=2)
    for speaker, speech in [("P1", "Row one."), ("Interviewer", "Row two.")]:
        row = table.add_row().cells
        row[0].text, row[1].text = speaker, speech
    # Accepted, "P1: It was" runs on into " fine in the end."; the box was joined to it instead.
    assert turns(read(document, tmp_path)) == [
        ("Interviewer", "How was it?"), ("P1", "It was fine in the end."), ("P2", "Said in a box."),
        ("Interviewer", "Then a table."), ("P1", "Row one."), ("Interviewer", "Row two."), ("P3", "Another box.")]
