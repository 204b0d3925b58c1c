"""The Results-section draft: hierarchy, definitions, counts by role, attributed quotes."""

import re

import pytest
from docx import Document

from pipeline.export import export
from pipeline.export.draft import pick_quotes
from pipeline.export.model import load_coded_run

from fixtures.export.runfolder import accepted, decision_store, make_run, merged, new, rejected  # noqa: F401 (autouse)

QUOTE = re.compile(r"^> “(?P<text>.+)” \((?P<speaker>[^()]+)\)$")


def unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture
def run(tmp_path):
    return make_run(tmp_path, {
        0: accepted("barrier.control.disempowerment_symptoms_medication", memo="Sleep & <sedation> 😴"),
        1: new("Not being heard (聞いてもらえない)", "Talk about not being listened to."),
        2: rejected(),
        3: merged(1),
    })


def draft(run, tmp_path, **kwargs) -> str:
    export(run, "md", tmp_path / "draft.md", **kwargs)
    return (tmp_path / "draft.md").read_text(encoding="utf-8")


def test_draft_follows_theme_group_code_with_definitions_counts_and_quotes(run, tmp_path):
    text = draft(run, tmp_path)
    headings = re.findall(r"^(#+) (.+)$", text, flags=re.M)
    assert headings == [
        ("#", "Results (draft)"), ("##", "Barriers to recovery"), ("###", "Locus of control within oneself"),
        ("####", "Disempowerment owing to symptoms and medication"), ("##", "New themes"),
        ("###", "Not being heard (聞いてもらえない)"),
    ]
    medication = text.split("#### Disempowerment")[1].split("## New themes")[0]
    assert "side-effects of antipsychotics" in medication  # the taxonomy's definition
    assert "4 segments in 2 transcripts (user 4)." in medication
    assert "*Analyst's memo (cluster 0): Sleep & \\<sedation\\> 😴*" in medication  # shown, not HTML
    heard = text.split("### Not being heard (聞いてもらえない)")[1]
    assert "Talk about not being listened to." in heard  # the analyst's definition
    # Cluster 1 (5 segments) and cluster 3 merged into it (3 segments).
    assert "8 segments in 2 transcripts (user 6, professional 2)." in heard
    assert "Routines and rules" not in text and "rules / ward" not in text  # rejected cluster 2


def test_quotes_are_verbatim_and_attributed_like_papers(run, tmp_path):
    text = draft(run, tmp_path)
    coded = load_coded_run(run)
    segments = {c.segment.text: c.segment.speaker for c in coded.codings}
    quotes = [QUOTE.match(line) for line in text.splitlines() if line.startswith(">")]
    assert all(quotes) and 4 <= len(quotes) <= 6
    for quote in quotes:
        assert segments[unescape(quote["text"])] == quote["speaker"]
    by_code = text.split("## New themes")
    for part in by_code:
        speakers = [q["speaker"] for q in map(QUOTE.match, part.splitlines()) if q]
        assert 2 <= len(speakers) <= 3 and len(set(speakers)) == len(speakers)
    assert '> “Sometimes I feel the "system" & the doctors don\'t hear a word I say.” (User 5)' in text


def test_a_quote_without_a_speaker_label_is_attributed_to_its_role(run):
    import dataclasses

    from pipeline.export.draft import draft_blocks

    coded = load_coded_run(run)  # as a survey row or a listed quote reads: no label, role respondent
    unnamed = dataclasses.replace(coded, codings=[
        dataclasses.replace(c, segment=dataclasses.replace(c.segment, speaker="", role="respondent"))
        for c in coded.codings])
    quotes = [b for b in draft_blocks(unnamed) if b.kind == "quote"]
    assert quotes and {b.speaker for b in quotes} == {"respondent"}


def test_rows_without_a_speaker_label_are_respondents_of_their_own_when_quotes_are_picked(run):
    import dataclasses

    coded = load_coded_run(run)  # every segment as a survey row reads: no label, a respondent of its own
    rows = [dataclasses.replace(c, segment=dataclasses.replace(c.segment, speaker="", role="respondent"))
            for c in coded.codings if c.code == "new:not being heard (聞いてもらえない)"]
    quotes = pick_quotes(coded, rows)
    assert len(quotes) == 3 and len({(q.segment.source, q.segment.turn_id) for q in quotes}) == 3
    assert quotes[0].segment.segment_id == "会議 2.txt#4.1"  # the best representative still leads


def test_quote_picking_prefers_readable_quotes_from_different_speakers(run):
    coded = load_coded_run(run)
    heard = [c for c in coded.codings if c.code == "new:not being heard (聞いてもらえない)"]
    quotes = pick_quotes(coded, heard)
    assert len(quotes) == 3 and len({q.segment.speaker for q in quotes}) == 3
    # Five words or more; a Japanese sentence (no spaces) is one of about as many characters' words.
    assert all(len(q.segment.text.split()) >= 5 or len(re.findall(r"[\u3040-\u9fff]", q.segment.text)) >= 10
               for q in quotes)
    # Representatives best first, largest cluster first: cluster 1's best is its last member.
    assert quotes[0].segment.segment_id == "会議 2.txt#4.1"
    assert pick_quotes(coded, heard[:1]) == heard[:1]


def test_no_decisions_and_suggestions_marked_as_not_reviewed(tmp_path):
    run = make_run(tmp_path, {})
    with pytest.raises(Exception, match="no decisions yet"):
        draft(run, tmp_path)
    text = draft(run, tmp_path, include_suggestions=True)
    assert "## Suggested, not reviewed" in text
    assert "### Authority slope (suggested)" in text
    assert ("*Suggested, not reviewed; in the taxonomy under Barriers to recovery › "
            "Locus of control within oneself.*") in text
    assert text.index("## Suggested, not reviewed") < text.index("### Authority slope (suggested)")
    assert "crisis / group" not in text  # cluster 3 has no suggestion


def test_accepted_first_then_suggestions(tmp_path):
    run = make_run(tmp_path, {0: accepted("barrier.control.disempowerment_symptoms_medication")})
    text = draft(run, tmp_path, include_suggestions=True)
    assert text.index("## Barriers to recovery") < text.index("## Suggested, not reviewed")
    reviewed = text.split("## Suggested, not reviewed")[0]
    assert "Authority slope" not in reviewed and "(suggested)" not in reviewed
    assert "4 segments in 1 cluster the analyst accepted" in text
    assert "segments coded only by suggestion" in text


def test_docx_round_trip(run, tmp_path):
    export(run, "docx", tmp_path / "draft.docx", author="Dr Ada Analyst")
    export(run, "md", tmp_path / "draft.md")
    document = Document(tmp_path / "draft.docx")
    assert document.core_properties.author == "Dr Ada Analyst"
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    assert paragraphs[0] == ("Title", "Results (draft)")
    assert ("Heading 3", "Disempowerment owing to symptoms and medication") in paragraphs
    md_quotes = [unescape(QUOTE.match(line).group(0)[2:]) for line in
                 (tmp_path / "draft.md").read_text(encoding="utf-8").splitlines() if line.startswith(">")]
    assert [text for style, text in paragraphs if style == "Quote"] == md_quotes
    assert any("Sleep & <sedation> 😴" in text for _, text in paragraphs)
    assert ("Heading 2", "Not being heard (聞いてもらえない)") in paragraphs


def test_markdown_keeps_the_line_breaks_of_memos_and_definitions(tmp_path):
    from markdown_it import MarkdownIt

    memo = "line1\nline2 <script>x</script>\n\n- not a list\n1. nor this"
    run = make_run(tmp_path, {0: accepted("barrier.control.authority_slope", memo=memo),
                              1: new("Not being heard", "First line.\nSecond line.")})
    text = draft(run, tmp_path)
    note = ("*Analyst's memo (cluster 0): line1\\\nline2 \\<script\\>x\\</script\\>\\\n\\\n"
            "\\- not a list\\\n1\\. nor this*")
    assert note in text and "First line.\\\nSecond line." in text
    html = MarkdownIt("commonmark").render(note)
    assert html.count("<br />") == 4 and html.startswith("<p><em>") and "<ul>" not in html and "<ol>" not in html
    assert re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").strip() == \
        "Analyst's memo (cluster 0): " + memo


@pytest.mark.parametrize("text", [
    "# asked, never heard; 1. first - second _really_ mattered", "1. first", "12) twelfth", "- a list?",
    "+ plus", "=== underline", "~~struck~~ &copy; <b>bold</b> *sigh* [link](x) `code` a|b back\\slash",
    "snake_case_id & a __dunder__ _word_",
])
def test_markdown_shows_text_as_written(text):
    from markdown_it import MarkdownIt

    from pipeline.export.tables import md_escape

    html = MarkdownIt().render(md_escape(text))
    assert html.startswith("<p>") and html.count("<p>") == 1 and "<em>" not in html and "<s>" not in html
    plain = re.sub(r"<[^>]+>", "", html).strip()
    assert plain == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
