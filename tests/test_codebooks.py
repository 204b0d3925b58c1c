"""Codebooks kept elsewhere — an Excel workbook, a spreadsheet saved as CSV/TSV, a REFI-QDA .qdc —
read as taxonomies."""

import pytest

from pipeline.errors import ThemesError
from pipeline.taxonomy import load_taxonomy

from conftest import themes

TABLE = """code,definition,category,examples
Access,Getting to the service at all,,
Waiting time,"Long waits for a first appointment, or between appointments",Access,I waited six months; The gap was too long
Location,Where the service is,Access,
Staff attitude,"Whether staff were kind, respectful
and listened",Care,
Communication,Being told what is happening,Care > Information,
Nothing to add,,,
"""

QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="test">
  <Codes>
    <Code guid="1" name="Access" isCodable="true">
      <Description>Getting to the service at all</Description>
      <Code guid="2" name="Waiting time" isCodable="true"><Description>Long waits</Description></Code>
      <Code guid="3" name="Location" isCodable="true"/>
    </Code>
    <Code guid="4" name="Staff attitude" isCodable="true"/>
  </Codes>
</CodeBook>
"""


def test_a_codebook_table_becomes_a_tree(tmp_path):
    path = tmp_path / "nhs book.csv"
    path.write_text(TABLE, encoding="utf-8")
    tax = load_taxonomy(path)
    assert (tax.id, tax.label) == ("nhs_book", "nhs book")
    assert [c.id for c in tax.walk()] == ["access", "access.waiting_time", "access.location", "care",
                                         "care.staff_attitude", "care.information",
                                         "care.information.communication", "nothing_to_add"]
    assert tax.codes["access"].description == "Getting to the service at all"  # a row describing a group
    assert not tax.codes["access"].is_leaf and tax.codes["nothing_to_add"].is_leaf
    waiting = tax.codes["access.waiting_time"]
    assert waiting.examples == ("I waited six months", "The gap was too long")
    assert [a.id for a in tax.ancestors("care.information.communication")] == ["care", "care.information"]
    assert tax.codes["care.staff_attitude"].description == "Whether staff were kind, respectful and listened"


def test_table_delimiters_ids_and_tsv(tmp_path):
    semicolons = tmp_path / "book.csv"
    semicolons.write_text("ID;Name;Group\nA1;Kindness;Care\nA2;Waiting;\n", encoding="cp1252")
    tax = load_taxonomy(semicolons)
    assert [c.id for c in tax.walk()] == ["care", "A1", "A2"]
    tabs = tmp_path / "book.tsv"
    tabs.write_text("label\tdescription\nKindness\tStaff were kind\n", encoding="utf-16")
    assert load_taxonomy(tabs).codes["kindness"].description == "Staff were kind"


@pytest.mark.parametrize("body, message", [
    ("", "file is empty"),
    ("title,text\nKindness,x\n", "book.csv:1 (label): no column for the code's label"),
    ("label,group\nKindness,Care\n,Care\n", "book.csv:3 (label): a code has no label"),
    ("label,group\nKindness,Care\nKindness,Care\n", "book.csv:3 (Kindness): the same code as line 2"),
    ("label,id\nKindness,k\nWaiting,k\n", "book.csv:3 (k): duplicate code id"),
    ("label,id\nKindness,A1\nWaiting,a1\n", "book.csv:3 (a1): same id as line 2 apart from case or accents"),
    ("label,group\nKindness,Care,extra\n", "book.csv:2: row has 3 cells but the header has 2"),
    ("Code,Definition,code\nanxiety,Ends.,\nWorkload,Ends.,Work-load\n",
     "book.csv:1 (label): 2 columns are named 'Code'; rename all but"),
    ("code,group\nx," + ">".join(["a"] * 1000) + "\n",  # a RecursionError once
     "book.csv:2 (x): codes nested too deeply (1000 levels of groups above a code; at most 20)"),
])
def test_bad_codebook_tables_name_the_file_and_line(tmp_path, body, message):
    path = tmp_path / "book.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ThemesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_taxonomy(path)


def test_a_codebook_in_the_usual_codebook_layout_reads_its_definitions_and_says_which_columns(tmp_path):
    path = tmp_path / "team.csv"
    path.write_text(
        "Theme,Code,Brief definition,Full_Definition,When to use,When not to use,Example quotes,Notes\n"
        "Access,Waiting,Waits,Time spent waiting for a first appointment,Delays or waiting lists are named,"
        "Not for waits inside a visit,I waited six months,added in round 2\n"
        "Staff,Attitude,Kindness,How kind and respectful staff were!,,,They were lovely,\n", encoding="utf-8")
    tax = load_taxonomy(path)
    assert tax.codes["access.waiting"].description == (
        "Time spent waiting for a first appointment. When to use: Delays or waiting lists are named")
    assert tax.codes["staff.attitude"].description == "How kind and respectful staff were!"
    assert tax.codes["access.waiting"].examples == ("I waited six months",)
    assert "waits inside a visit" not in str(tax)  # "when not to use" describes other codes
    assert tax.notes == (
        "columns read: label from 'Code', description from 'Full_Definition', when to use (added to the "
        "description) from 'When to use', group from 'Theme', examples from 'Example quotes'",
        "columns not read: 'Brief definition', 'When not to use', 'Notes'")
    result = themes("taxonomy", "check", str(path))
    assert result.stdout.splitlines()[:3] == [*tax.notes, "team [team]"]


def test_a_code_and_subcode_table_nests_the_subcodes_under_their_code(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("Code,Subcode,Definition\n"
                    "Access,,Getting to the service at all\n"
                    "Access,Waiting time,Long waits\n"
                    "Access,Location,Where the service is\n"
                    "Care,Kindness,Staff were kind\n", encoding="utf-8")
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["access", "access.waiting_time", "access.location", "care",
                                         "care.kindness"]
    assert tax.codes["access"].description == "Getting to the service at all"  # the row with no subcode
    assert tax.codes["access.location"].description == "Where the service is"
    assert tax.notes[0] == ("columns read: label from 'Subcode', description from 'Definition', group from 'Code' "
                            "(a row with no 'Subcode' describes that group)")
    result = themes("taxonomy", "check", str(path))
    assert result.returncode == 0 and result.stdout.splitlines()[0] == tax.notes[0]
    # Under a group column, the code is the innermost group: group path + the code cell.
    path.write_text("Theme,Code,Sub-theme,Description\n"
                    "Services,Access,,Getting there\n"
                    "Services,Access,Waiting time,Long waits\n"
                    "People > Staff,Care,Kindness,\n", encoding="utf-8")
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["services", "services.access", "services.access.waiting_time",
                                         "people", "people.staff", "people.staff.care",
                                         "people.staff.care.kindness"]
    assert tax.codes["services.access"].description == "Getting there"
    assert tax.notes[0] == ("columns read: label from 'Sub-theme', description from 'Description', group from "
                            "'Theme', innermost group from 'Code' (a row with no 'Sub-theme' describes that group)")
    path.write_text("Code,Subcode\nAccess,Waiting\nAccess,Waiting\n", encoding="utf-8")
    with pytest.raises(ThemesError, match=r"book\.csv:3 \(Waiting\): the same code as line 2"):
        load_taxonomy(path)


MERGED = """Code,Subcode,Definition
Access,,Getting to the service at all
Access,Waiting time,Long waits
,Distance,Travel to the clinic
,Opening hours,
Care,Staff attitude,
"""


def test_an_empty_code_cell_under_a_code_is_read_as_that_code_as_a_merged_cell_is(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text(MERGED, encoding="utf-8")
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["access", "access.waiting_time", "access.distance",
                                         "access.opening_hours", "care", "care.staff_attitude"]
    assert tax.codes["access.distance"].description == "Travel to the clinic"
    assert tax.notes[1:] == ("lines 4-5: empty 'Code' cell read as 'Access' from line 3 above (as a merged cell)",)
    result = themes("taxonomy", "check", str(path))
    assert result.returncode == 0 and result.stdout.splitlines()[:2] == list(tax.notes)
    # A subcode before any code stays at the top, as before.
    path.write_text("Code,Subcode\n,Other\nAccess,Waiting\n", encoding="utf-8")
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["other", "access", "access.waiting"] and len(tax.notes) == 1


def test_an_empty_group_cell_is_carried_down_only_in_the_code_and_subcode_layout(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("Theme,Code,Subtheme\n"
                    ",Other,Misc\n"  # no theme above yet: at the top
                    "Services,Access,Waiting time\n"
                    ",,Distance\n"
                    ",Transport,Bus\n"
                    "People,,Kindness\n", encoding="utf-8")  # a new theme ends the block of 'Access'
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["other", "other.misc", "services", "services.access",
                                         "services.access.waiting_time", "services.access.distance",
                                         "services.transport", "services.transport.bus", "people", "people.kindness"]
    assert tax.notes[1:] == (
        "lines 4-5: empty 'Theme' cell read as 'Services' from line 3 above (as a merged cell)",
        "line 4: empty 'Code' cell read as 'Access' from line 3 above (as a merged cell)")
    # Without a sub-level column, an empty group cell is a code at the top level.
    path.write_text("Label,Group\nWaiting time,Access\nNothing to add,\n", encoding="utf-8")
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["access", "access.waiting_time", "nothing_to_add"]
    assert tax.notes == ("columns read: label from 'Label', group from 'Group'",)


def test_merged_cells_in_an_excel_codebook_are_read_as_their_first_cell(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    rows = [["Theme", "Code", "Subcode"], ["Services", "Access", ""], ["", "", "Waiting time"],
            ["", "", "Distance"], ["", "Transport", "Bus"], ["People", "Care", "Kindness"]]
    for row in rows:
        book.active.append(row)
    book.active.merge_cells("A2:A5")  # Excel keeps the value in A2 only, as openpyxl does
    book.active.merge_cells("B2:B4")
    book.save(tmp_path / "book.xlsx")
    tax = load_taxonomy(tmp_path / "book.xlsx")
    assert [c.id for c in tax.walk()] == ["services", "services.access", "services.access.waiting_time",
                                         "services.access.distance", "services.transport",
                                         "services.transport.bus", "people", "people.care", "people.care.kindness"]
    assert tax.notes[1:] == (
        "rows 3-5: empty 'Theme' cell read as 'Services' from row 2 above (as a merged cell)",
        "rows 3-4: empty 'Code' cell read as 'Access' from row 2 above (as a merged cell)")


def test_an_excel_codebook_gives_the_same_tree_as_its_csv(tmp_path):
    import csv
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Codebook"
    for row in csv.reader(io.StringIO(TABLE)):
        book.active.append(row)
    book.create_sheet("Changes").append(["2025-01-02", "added Location"])
    book.save(tmp_path / "nhs book.xlsx")
    (tmp_path / "nhs book.csv").write_text(TABLE, encoding="utf-8")
    sheet, table = load_taxonomy(tmp_path / "nhs book.xlsx"), load_taxonomy(tmp_path / "nhs book.csv")
    assert [(c.id, c.label, c.description, c.examples) for c in sheet.walk()] == \
        [(c.id, c.label, c.description, c.examples) for c in table.walk()]
    assert sheet.codes["care.staff_attitude"].description == "Whether staff were kind, respectful and listened"
    result = themes("taxonomy", "check", str(tmp_path / "nhs book.xlsx"))
    assert result.returncode == 0 and "* access.waiting_time — Waiting time" in result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_title_above_a_codebooks_header_is_left_out_and_said(tmp_path, suffix):
    import csv
    import io

    from openpyxl import Workbook

    rows = [["Staff study codebook, version 3"], [], *csv.reader(io.StringIO(TABLE))]
    path = tmp_path / f"book{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(f'"{c}"' if "," in c or "\n" in c else c for c in row) for row in rows),
                        encoding="utf-8")
    else:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    (tmp_path / "plain.csv").write_text(TABLE, encoding="utf-8")
    titled, plain = load_taxonomy(path), load_taxonomy(tmp_path / "plain.csv")
    assert [(c.id, c.description) for c in titled.walk()] == [(c.id, c.description) for c in plain.walk()]
    assert titled.notes[0] == ("a title above the column names (line 1: 'Staff study codebook, version 3') "
                               "is left out; the header is line 3")
    # With no label column under it, the first row stays the header, and the error names it.
    path = tmp_path / "notes.csv"
    path.write_text("Staff study codebook\nfirst,second\nx,y\n", encoding="utf-8")
    with pytest.raises(ThemesError, match=r"notes.csv:1 \(label\): no column for the code's label"):
        load_taxonomy(path)


def test_a_spreadsheet_not_saved_as_csv_is_refused(tmp_path):
    path = tmp_path / "book.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))  # an .xlsx renamed
    with pytest.raises(ThemesError, match="book.csv: looks like a binary file, not a codebook table"):
        load_taxonomy(path)


def test_a_refi_qda_codebook_becomes_a_tree(tmp_path):
    path = tmp_path / "exported.qdc"
    path.write_text(QDC, encoding="utf-8")
    tax = load_taxonomy(path)
    assert [c.id for c in tax.walk()] == ["access", "access.waiting_time", "access.location", "staff_attitude"]
    assert tax.codes["access.waiting_time"].description == "Long waits"
    assert [c.id for c in tax.leaves] == ["access.waiting_time", "access.location", "staff_attitude"]
    plain = tmp_path / "plain.qdc"  # no namespace, as some programs write it
    plain.write_text(QDC.replace(' xmlns="urn:QDA-XML:codebook:1.0"', ""), encoding="utf-8")
    assert [c.id for c in load_taxonomy(plain).walk()] == [c.id for c in tax.walk()]


@pytest.mark.parametrize("body, message", [
    ("<CodeBook><Codes>", "exported.qdc:1: not a REFI-QDA codebook"),
    ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>', "the codebook has no codes"),
    ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>\n<Code guid="1"/></Codes></CodeBook>',
     r"exported.qdc:2 \(name\): a <Code> has no name"),
])
def test_bad_refi_qda_codebooks_name_the_file_and_line(tmp_path, body, message):
    path = tmp_path / "exported.qdc"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ThemesError, match=message):
        load_taxonomy(path)


def test_check_command_reads_tables_and_refuses_bad_ones(tmp_path):
    good = tmp_path / "book.csv"
    good.write_text(TABLE, encoding="utf-8")
    result = themes("taxonomy", "check", good)
    assert result.returncode == 0 and "care.information.communication" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("title\nx\n", encoding="utf-8")
    result = themes("taxonomy", "check", bad)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "bad.csv:1 (label)" in result.stderr
    assert themes("taxonomy", "check", tmp_path / "missing.csv").returncode == 2


@pytest.mark.parametrize("body", [
    # a group described by a row of its own, in the Code column or in the Subcode column
    "Group,Code,Subcode,Definition\n,Barriers,,Things that block care\nBarriers,Access,,Getting there\n"
    "Barriers,Access,Cost,Money\n,Solutions,,Things that help\nSolutions,Outreach,Visits,Home visits\n",
    "Group,Code,Subcode,Definition\nBarriers,Access,,Getting there\nBarriers,Access,Cost,Money\n"
    ",,Solutions,Things that help\nSolutions,Outreach,Visits,Home visits\n",
])
def test_a_row_describing_a_group_takes_nothing_from_the_rows_above(tmp_path, body):
    path = tmp_path / "book.csv"
    path.write_text(body, encoding="utf-8")
    tax = load_taxonomy(path)
    assert [leaf.id for leaf in tax.leaves] == ["barriers.access.cost", "solutions.outreach.visits"]
    assert tax.codes["solutions"].description == "Things that help"


def test_labels_that_make_the_same_id_are_refused_naming_both_and_saying_what_to_do(tmp_path):
    qdc = tmp_path / "exported.qdc"
    qdc.write_text(QDC.replace('name="Location"', 'name="Waiting-time"'), encoding="utf-8")
    with pytest.raises(ThemesError) as err:
        load_taxonomy(qdc)
    assert str(err.value) == (f"{qdc}:7: 'Waiting-time' and 'Waiting time' (line 6) make the same id, "
                              "access.waiting_time; rename one in the QDA program and export the codebook again")
    table = tmp_path / "book.csv"
    table.write_text("code,category\nWaiting time,Access\nWaiting-time,Access\n", encoding="utf-8")
    with pytest.raises(ThemesError) as err:
        load_taxonomy(table)
    assert str(err.value) == (f"{table}:3: 'Waiting-time' and 'Waiting time' (line 2) make the same id, "
                              "access.waiting_time; rename one, or add an 'id' column and give one an id there")
    table.write_text("Code ID,code\n,Kindness\n,kindness\n", encoding="utf-8")
    with pytest.raises(ThemesError, match=r"book.csv:3: 'kindness' and 'Kindness' \(line 2\) make the same id, "
                                          r"kindness; rename one, or give one an id in the 'Code ID' column"):
        load_taxonomy(table)
    table.write_text("id,code\nkindness,Warmth\n,Kindness\n", encoding="utf-8")
    with pytest.raises(ThemesError, match=r"book.csv:3: 'Kindness' makes the id kindness, which line 2 gives as "
                                          "its id; rename one"):
        load_taxonomy(table)
    table.write_text("id,code\n,Kindness\nkindness,Warmth\n", encoding="utf-8")
    with pytest.raises(ThemesError, match=r"book.csv:3: its id kindness is the one 'Kindness' \(line 2\) makes "
                                          "from its label; rename one"):
        load_taxonomy(table)
    table.write_text("id,code\nw1,Waiting time\nw2,Waiting-time\n", encoding="utf-8")  # ids given: both fine
    assert [c.id for c in load_taxonomy(table).walk()] == ["w1", "w2"]


@pytest.mark.parametrize("body", ["id,label,group\n,Waiting,Access\nG1,Access,\n",
                                  "id,label,group\nG1,Access,\n,Waiting,Access\n"])
def test_a_groups_id_is_kept_whether_its_row_comes_before_or_after_its_codes(tmp_path, body):
    path = tmp_path / "book.csv"
    path.write_text(body, encoding="utf-8")
    assert [c.id for c in load_taxonomy(path).walk()] == ["G1", "G1.waiting"]


@pytest.mark.parametrize("name, advice", [
    ("book.xls", "save it as .xlsx or CSV"), ("book.ODS", "save it as .xlsx or CSV"),
    ("book.docx", "put its codes in a table saved as .xlsx or CSV (one row a code), or in a YAML file"),
    ("project.qdpx", "export its codebook from the QDA program as REFI-QDA (.qdc)"),
])
def test_a_codebook_in_a_format_not_read_says_what_to_save_it_as(tmp_path, name, advice):
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)))  # binary, as these files are
    result = themes("taxonomy", "check", path)
    suffix = path.suffix.lower()
    assert result.returncode == 2 and result.stderr.strip() == (f"error: {path}: {suffix} files are not read as "
                                                                f"codebooks; {advice}")


def test_a_folder_given_as_a_codebook_is_said_to_be_a_folder(tmp_path):
    with pytest.raises(ThemesError) as err:
        load_taxonomy(tmp_path)
    assert str(err.value) == f"{tmp_path}: is a folder, not a codebook; name the file"


def test_ids_made_from_labels_are_compared_as_the_taxonomy_compares_ids(tmp_path):
    """A made id against a given one apart from case names the label it came from; labels
    with vowel signs keep them ("दवा" and "दवी" made the same id, "दव")."""
    clash = tmp_path / "a.csv"
    clash.write_text("label,id\nAccess,\nOther,ACCESS\n", encoding="utf-8")
    with pytest.raises(ThemesError) as err:
        load_taxonomy(clash)
    assert str(err.value).startswith(f"{clash}:3: its id ACCESS is the one 'Access' (line 2) makes from its label (access)")
    hindi = tmp_path / "h.csv"
    hindi.write_text("label\nदवा\nदवी\n", encoding="utf-8")
    assert [c.id for c in load_taxonomy(hindi).leaves] == ["दवा", "दवी"]


def test_a_folder_named_on_the_command_line_is_said_to_be_a_folder(tmp_path):
    from conftest import themes

    for command in (("taxonomy", "check", tmp_path), ("run", "--taxonomy", tmp_path, "--out", tmp_path / "run")):
        result = themes(*command)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"'{tmp_path}' is a folder, not a codebook; name the file" in result.stderr
