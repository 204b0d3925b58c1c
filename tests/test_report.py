"""The report: one self-contained page, transcript text always shown as text, decisions visible."""

import json
import re

import pytest

from pipeline.report import SERVED_CSP, STATIC_CSP, script_json, served_html
from pipeline.review import decide

from conftest import write_review_run

GROUPS = {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)}
HOSTILE = [
    "<script>alert('x')</script> is what the form said",
    "</script><img src=x onerror=alert(1)> was in my notes",
    "Tom & Jerry's \"day centre\" <b>bold</b> claims",
    "Line with \u2028 separator and {{ braces }} and {% tags %}",
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "decisions.jsonl"
    monkeypatch.setenv("THEMES_DECISIONS", str(path))
    return path


def texts(n=15):
    return HOSTILE + [f"Segment {i} is about the day centre and the tablets." for i in range(len(HOSTILE), n)]


def data_block(html):
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_report_is_one_self_contained_file(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    assert f'<meta http-equiv="Content-Security-Policy" content="{STATIC_CSP}">' in html
    assert "default-src 'none'" in STATIC_CSP
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"]  # the SVG namespace
    assert not re.search(r"<(link|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"<(script|img)\b[^>]*\bsrc=", html, re.I)


def test_transcript_markup_is_shown_as_text(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "{{ braces }}" in html  # transcript text is data, never template source
    # Exactly two scripts: the JSON data block and the page's own script.
    assert len(re.findall(r"<script\b", html)) == 2
    block = html.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block
    data = data_block(html)
    assert any(HOSTILE[1][:40] in point[3] for point in data["points"])


def test_script_json_cannot_close_its_script():
    text = script_json({"a": "</script><!-- & \u2028"})
    assert "</" not in text and "<!--" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(str(text)) == {"a": "</script><!-- & \u2028"}


def test_report_has_filters_search_map_and_decision_controls(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    for marker in ('id="filter-role"', 'id="filter-source"', 'id="filter-code"', 'id="filter-status"',
                   'id="filter-text"', 'id="map"', 'id="download"', 'data-action="reject"',
                   'data-action="accept-other"', 'data-action="new"', 'data-action="merge"', 'data-action="memo"'):
        assert marker in html, marker
    data = data_block(html)
    assert [c["id"] for c in data["clusters"]] == [0, 1, 2]
    assert data["clusters"][0]["members"] == [f"meeting.txt#{i}.1" for i in range(6)]
    assert len(data["points"]) == 15 and len(data["codes"]) == 20
    assert html.count('<article class="card"') == 3
    assert 'Unclustered segments (1)' in html


def test_decisions_and_coverage_show_in_a_rerun(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts())
    decide(run, store, 0, "accepted")
    decide(run, store, 1, "new", name="Opening <hours>")
    rerun = write_review_run(tmp_path / "run", {0: range(0, 5), 1: range(6, 10), 2: range(10, 14)}, texts(),
                             overrides={"clustering": {"min_cluster_size": 5}})
    html = (rerun / "report.html").read_text()
    data = data_block(html)
    first, second = data["clusters"][0]["decision"], data["clusters"][1]["decision"]
    assert first["status"] == "accepted" and first["carried"] and first["overlap"] == pytest.approx(5 / 6, abs=1e-3)
    assert second["name"] == "Opening <hours>" and "Opening &lt;hours&gt;" in html
    code = first["code_id"]
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="accepted-cell"><a href="#cluster-0">cluster 0</a><', row)
    assert html.count('<span class="none">none</span>') == 19  # the 19 codes nobody accepted


def test_a_long_codebooks_coverage_table_is_folded_and_the_code_filter_shows_labels(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    assert '<details class="coverage-codes" open><summary>Every code, one a row (20)</summary>' in html
    assert re.search(r'<option value="barrier\.[\w.]+">barrier\.[\w.]+ — \w', html)  # the code filter names each code
    book = tmp_path / "big.yaml"
    book.write_text("id: big\nlabel: Big\ncodes:\n" + "".join(
        f"  - id: g{g}\n    label: Group {g}\n    codes:\n" + "".join(
            f"      - id: c{g}_{c}\n        label: Code {c} of group {g}\n" for c in range(7)) for g in range(6)))
    html = (write_review_run(tmp_path / "big", GROUPS, texts(), taxonomy=str(book)) / "report.html").read_text()
    assert '<details class="coverage-codes"><summary>Every code, one a row (42)</summary>' in html
    assert html.count("<tr data-code=") == 42 and 'id="coverage-summary"' in html


def test_a_cluster_nothing_fits_shows_the_codes_that_came_closest(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts(), abstain=(1,))
    html = (run / "report.html").read_text()
    card = re.search(r'<article class="card" id="cluster-1".*?</article>', html, re.S).group(0)
    assert "Nothing in the taxonomy fits (no code scores ≥ 0.35): a candidate new theme." in card
    assert re.search(r"Closest codes, all below 0.35: <b>[\w.]+</b> — .+ \(0.15: matched its examples\)", card)
    assert 'data-action="accept" ' not in card  # nothing to accept with one click
    other = re.search(r'<article class="card" id="cluster-0".*?</article>', html, re.S).group(0)
    assert "Closest codes" not in other
    clusters = {c["cluster_id"]: c for c in json.loads((run / "clusters.json").read_text())["clusters"]}
    assert clusters[1]["suggestions"] == [] and [s["score"] for s in clusters[1]["closest"]] == [0.15, 0.125]
    assert clusters[0]["closest"] == []


def test_orphaned_decisions_are_listed(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts())
    decide(run, store, 2, "rejected", memo="noise")
    rerun = write_review_run(tmp_path / "run", {0: range(0, 7), 1: range(7, 13), 2: [13]}, texts(),
                             overrides={"clustering": {"min_cluster_size": 4}})
    html = (rerun / "report.html").read_text()
    section = html.split('<section id="orphaned"', 1)[1].split("</section>", 1)[0]
    assert not section.startswith(" hidden") and ":2</code> — rejected" in section and "memo: noise" in section


def test_no_taxonomy_report_asks_for_names(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts(), taxonomy="none") / "report.html").read_text()
    assert "No taxonomy" in html and "Name each cluster" in html
    assert 'data-action="accept"' not in html and 'data-action="new"' in html


def test_served_page_may_talk_to_its_server_only():
    html = f'<meta http-equiv="Content-Security-Policy" content="{STATIC_CSP}">'
    assert served_html(html) == f'<meta http-equiv="Content-Security-Policy" content="{SERVED_CSP}">'
    assert SERVED_CSP.endswith("connect-src 'self'")
    with pytest.raises(ValueError):
        served_html("<html>no policy</html>")


def test_merge_targets_are_listed_once_not_once_per_card(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    assert html.count('<datalist id="cluster-list">') == 1
    assert html.count('list="cluster-list"') == 3  # one merge field per card
    listed = re.search(r'<datalist id="cluster-list">(.*?)</datalist>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d+)"', listed) == ["0", "1", "2"]
