"""The report: one self-contained page, transcript text always shown as text, decisions visible."""

import json
import re

import pytest

from pipeline.report import CSP_META, page_csp, script_json, served_html
from pipeline.review import decide

from conftest import write_review_run

GROUPS = {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)}
HOSTILE = [
    "<script>alert('x')</script> is what the form said",
    "</script><img src=x onerror=alert(1)> was in my notes",
    "Tom & Jerry's \"day centre\" <b>bold</b> claims",
    "Line with \u2028 separator and {{ braces }} and {% tags %}",
]


def texts(n=15):
    return HOSTILE + [f"Segment {i} is about the day centre and the tablets." for i in range(len(HOSTILE), n)]


def data_block(html):
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_report_is_one_self_contained_file(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    policy = CSP_META.search(html).group(1)
    assert policy.startswith("default-src 'none';") and "connect-src" not in policy
    # No script runs but the page's own: the policy names it by its hash, not 'unsafe-inline'.
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert policy == page_csp(script) and "'unsafe-inline'; img-src" not in policy
    assert "base-uri 'none'" in policy and "form-action 'none'" in policy
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
    assert ("Nothing in the taxonomy fits: no code is the first suggestion for at least 35 % of its members. "
            "Name it if it is a new theme, or reject it if it is not a theme (small talk, logistics).") in card
    assert re.search(r"Closest codes, each the first suggestion for fewer than 35 % of its members: "
                     r"[^<]+ <span class=\"code-id\">[\w.]+</span> \(first for 1 of 4 members, 0.15: matched its examples\)", card)
    assert 'data-action="accept" ' not in card  # nothing to accept with one click
    other = re.search(r'<article class="card" id="cluster-0".*?</article>', html, re.S).group(0)
    assert "Closest codes" not in other
    clusters = {c["cluster_id"]: c for c in json.loads((run / "clusters.json").read_text())["clusters"]}
    assert clusters[1]["suggestions"] == [] and [s["score"] for s in clusters[1]["closest"]] == [0.15, 0.125]
    assert clusters[0]["closest"] == []


def test_a_code_first_for_one_member_only_is_said_to_be_so(store):
    """The closest code reaches the share (one of ten members at a threshold of 0.1) but one
    member cannot speak for the cluster (mapping.MIN_SUPPORTERS): that is the reason given."""
    leaves = shipped_taxonomy().leaves
    card = card_of(small_report([(4, 0.1), (1, 0.1)], threshold=0.1, closest=True), 0)
    assert ("Nothing in the taxonomy fits: the closest code is the first suggestion of only one member, "
            "and one member cannot speak for the cluster (a cluster's code must be the first suggestion of "
            "at least 2 of its members).") in card
    assert "fewer than 10 %" not in card
    assert (f"Closest codes, each the first suggestion of only one member: {leaves[4].label} "
            f'<span class="code-id">{leaves[4].id}</span> (first for 1 of 10 members, 0.10') in card
    # Below the share, the share is the reason, whatever the count.
    card = card_of(small_report([(4, 0.1)], threshold=0.2, closest=True), 0)
    assert "no code is the first suggestion for at least 20 % of its members" in card
    assert "Closest codes, each the first suggestion for fewer than 20 % of its members" in card
    assert "cannot speak" not in card


def test_orphaned_decisions_are_listed(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts())
    decide(run, store, 2, "rejected", memo="noise")
    rerun = write_review_run(tmp_path / "run", {0: range(0, 7), 1: range(7, 13), 2: [13]}, texts(),
                             overrides={"clustering": {"min_cluster_size": 4}})
    html = (rerun / "report.html").read_text()
    section = html.split('<section id="orphaned"', 1)[1].split("</section>", 1)[0]
    assert not section.startswith(" hidden") and "<li><b>rejected</b> · 4 segments" in section and "memo: <bdi>noise</bdi>" in section
    assert ":2</code>)" in section  # the run it was decided on, kept small
    assert re.search(r", \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", section)  # no raw ISO timestamp
    assert not re.search(r"\d{4}-\d\d-\d\dT", section)
    # Where its segments (10-13) are now: 10-12 in cluster 1, 13 in cluster 2.
    assert re.search(r'Its segments are now mostly in <a href="#cluster-1">cluster 1</a> \(3 of 4\), '
                     r'<a href="#cluster-2">cluster 2</a> \(1\)\.', section), section


def test_no_taxonomy_report_asks_for_names(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts(), taxonomy="none") / "report.html").read_text()
    assert "No taxonomy" in html and "Name each cluster" in html
    assert 'data-action="accept"' not in html and 'data-action="new"' in html


def test_served_page_may_talk_to_its_server_only():
    policy = page_csp("\nlet x = 1;\n")
    html = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    assert served_html(html) == (f'<meta http-equiv="Content-Security-Policy" content="{policy}; connect-src \'self\'">',
                                 f"{policy}; connect-src 'self'")
    # A report made by an earlier version keeps its own policy, with the same addition.
    old = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    page, served = served_html(f'<meta http-equiv="Content-Security-Policy" content="{old}">')
    assert served == old + "; connect-src 'self'" and served in page
    with pytest.raises(ValueError):
        served_html("<html>no policy</html>")


def test_merge_targets_are_listed_once_not_once_per_card(tmp_path, store):
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    assert html.count('<datalist id="cluster-list">') == 1
    assert html.count('list="cluster-list"') == 3  # one merge field per card
    listed = re.search(r'<datalist id="cluster-list">(.*?)</datalist>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d+)"', listed) == ["0", "1", "2"]


def card_of(html, cid):
    return re.search(rf'<article class="card" id="cluster-{cid}".*?</article>', html, re.S).group(0)


def shipped_taxonomy():
    from pipeline.config import resolve_taxonomy_path
    from pipeline.taxonomy import load_taxonomy

    return load_taxonomy(resolve_taxonomy_path("nakanishi2021"))


def small_report(suggestions, threshold=0.2, texts_=None, orphaned=(), decisions=None, closest=False):
    """A report rendered straight from artifacts: cluster 0 holds segments 0-9 of ``texts_``,
    with ``suggestions`` [(leaf index, score)]; segment 10 is unclustered, 11 a facilitator's.
    ``closest``: the suggestions are the codes that came closest, and the cluster has none."""
    from pipeline.artifacts import Cluster, Clustering, Mapping, Segment, Suggestion
    from pipeline.report import ReportData, render_report

    tax = shipped_taxonomy()
    texts_ = texts_ or [f"Segment {i} is about the day centre." for i in range(12)]
    segments = [Segment(f"m.txt#{i}.1", "m.txt", i, "User 1", "user", texts_[i], 0, len(texts_[i]),
                        clusterable=i != 11) for i in range(12)]
    ids = tuple(s.segment_id for s in segments[:10])
    clustering = Clustering([Cluster(0, ids, ("day", "centre"), ids[:3], "label 0")],
                            {**{sid: 0 for sid in ids}, "m.txt#10.1": -1})
    listed = [Suggestion(tax.leaves[k].id, score, tax.leaves[k].label,
                         rationale=f"first suggestion for {round(score * 10)} of 10 members; why") for k, score in suggestions]
    return render_report(ReportData(title="t", segments=segments, clustering=clustering,
                                    mapping=Mapping(tax.id, {0: [] if closest else listed}, {}, threshold,
                                                    closest={0: listed} if closest else {}), taxonomy=tax,
                                    run="t-0", orphaned=list(orphaned), decisions=decisions or {}))


def test_suggestions_say_for_how_many_members_each_code_is_first(store):
    leaves = shipped_taxonomy().leaves
    card = card_of(small_report([(4, 0.3), (1, 0.1)]), 0)
    assert "<caption" in card and "<thead><tr><th" in card
    assert "first suggestion" in card.split("<caption", 1)[1].split("</caption>", 1)[0]
    assert "first for 3 of 10 members (0.30)</td>" in card  # the first: no runner-up mark
    assert 'first for 1 of 10 members (0.10) <span class="runner-up">runner-up</span>' in card
    # The label first, the code id after it, muted; each Accept button named by its code.
    assert f'{leaves[4].label} <span class="muted code-id">{leaves[4].id}</span>' in card
    assert f'aria-label="Accept {leaves[4].label} ({leaves[4].id})"' in card
    assert f"<b>{leaves[4].id}</b>" not in card
    # The count is beside the score, not again in the rationale.
    assert '<span class="muted">why</span>' in card and "first suggestion for 3 of 10 members;" not in card


def test_overview_and_coverage_speak_plainly(tmp_path, store):
    html = small_report([(4, 0.3)])
    assert "UMAP" not in html and "segments that say similar things sit close together" in html
    note = re.search(r'<p class="muted small" id="clustered-note">(.*?)</p>', html, re.S).group(1)
    assert "1 of the 12 segments are left out of clustering: facilitators' turns and short replies" in note
    assert "Of the 11 segments considered for clustering, 1 (9 %) fit no cluster" in note
    assert "to cluster<" not in html and "in no cluster (9 % of those considered)" in html
    coverage = html.split('<section id="coverage">', 1)[1].split("</p>", 1)[0]
    assert "score ≥" not in coverage and "first suggestion for at least 20 % of the cluster's members" in coverage


def test_cluster_sizes_draw_every_bar_on_one_scale(store):
    """The unclustered bar is drawn to the same scale as the clusters' bars: 8 unclustered
    segments beside clusters of 4 and 2 are the longest bar, not 8/14 of the full width."""
    from pipeline.artifacts import Cluster, Clustering, Mapping, Segment
    from pipeline.report import ReportData, render_report

    segments = [Segment(f"m.txt#{i}.1", "m.txt", i, "User 1", "user", f"Segment {i}.", 0, 11) for i in range(14)]
    ids = [s.segment_id for s in segments]
    clustering = Clustering([Cluster(0, tuple(ids[:4]), ("a",), tuple(ids[:3]), "a"),
                             Cluster(1, tuple(ids[4:6]), ("b",), tuple(ids[4:6]), "b")],
                            {sid: 0 if i < 4 else 1 if i < 6 else -1 for i, sid in enumerate(ids)})
    html = render_report(ReportData(title="t", segments=segments, clustering=clustering,
                                    mapping=Mapping("", {0: [], 1: []}, {}, 1.0), taxonomy=None, run="t-0"))
    sizes = html.split('<div class="sizes">', 1)[1].split("</div>", 1)[0]
    bars = re.findall(r'<span class="bar"><span style="width: ([\d.]+)%"></span></span>\s*<span class="size-n">(\d+)</span>',
                      sizes)
    assert bars == [("50.0", "4"), ("25.0", "2"), ("100.0", "8")]


def test_a_carried_decision_says_so_in_words(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts())
    decide(run, store, 0, "accepted")
    rerun = write_review_run(tmp_path / "run", {0: range(0, 5), 1: range(6, 10), 2: range(10, 14)}, texts(),
                             overrides={"clustering": {"min_cluster_size": 5}})
    line = re.search(r'<div class="decision" data-decision="0">(.*?)</div>', (rerun / "report.html").read_text()).group(1)
    # 5 segments in both of the 6 in either: 83 %, not the 100 % of the new cluster's own.
    assert re.search(r'<span class="from" title="from run-\w+:0">carried from an earlier run \(83 % of the segments '
                     r"in this cluster or the one decided then are in both\)</span>", line), line
    assert "overlap" not in line


def test_orphans_name_their_code_and_need_no_now_in(store):
    leaf = shipped_taxonomy().leaves[2]
    orphan = {"from": "old-1:4", "run": "old-1", "cluster_id": 4, "status": "accepted", "code_id": leaf.id,
              "name": None, "definition": None, "memo": None, "size": 42, "author": "Ana",
              "timestamp": "2026-11-29T05:03:05.497Z"}
    section = small_report([(4, 0.3)], orphaned=[orphan]).split('<section id="orphaned"', 1)[1].split("</section>", 1)[0]
    assert f"<b>accepted</b>: {leaf.label} <span class=\"muted code-id\">{leaf.id}</span>" in section
    assert "<bdi>Ana</bdi>, 29 Nov 2026, 05:03 UTC" in section and "now-in" not in section


def test_long_quotes_are_cut_with_the_whole_text_one_click_away(store):
    long = "We waited. " + "and then we waited some more " * 150
    url = "https://example.org/" + "x" * 400
    texts_ = [long, url] + [f"Segment {i} is about the day centre." for i in range(2, 12)]
    html = small_report([(4, 0.3)], texts_=texts_)
    card = card_of(html, 0)
    assert card.count('<details class="long">') == 2  # a representative and the same member below
    excerpt = re.search(r'<span class="excerpt">“(.*?)…”</span>', card).group(1)
    assert 300 < len(excerpt) <= 480 and long.startswith(excerpt)
    assert f"show the whole quote ({len(long):,} characters)" in card
    assert f"“{long}”" in card  # the whole text is there, behind the summary
    assert f"“{url}”" in card  # 420 characters, under the limit: shown as it is


def test_search_data_holds_labels_and_keywords_and_the_texts_only_once(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts())
    html = (run / "report.html").read_text()
    cluster = data_block(html)["clusters"][0]
    assert cluster["keywords"] == ["day", "centre"] and cluster["label"] == "label 0"
    assert "texts" not in cluster  # the search reads them from the cards' quotes
    assert html.count(texts()[5]) == 2  # a member's text: in its card and on the map, not again for the search


def test_undo_button_is_shown_only_for_a_decided_cluster(tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, texts())
    decide(run, store, 1, "rejected")
    html = (write_review_run(tmp_path / "run", GROUPS, texts()) / "report.html").read_text()
    undo = '<button type="button" class="act" data-action="undo" aria-label="Undo: cluster {} back to undecided"'
    assert undo.format(0) + " hidden>" in card_of(html, 0)
    assert undo.format(1) + ">Undo: back to undecided" in card_of(html, 1)


def test_readable_time():
    from pipeline.report import readable_time

    assert readable_time("2026-11-29T05:03:05.497Z") == "29 Nov 2026, 05:03 UTC"
    assert readable_time("2026-01-31T13:00:00+01:00") == "31 Jan 2026, 12:00 UTC"
    assert readable_time("not a time") == "not a time" and readable_time(None) == ""


def test_the_map_invites_a_click_only_where_there_are_clusters(tmp_path, store):
    with_clusters = (write_review_run(tmp_path / "a", GROUPS, texts()) / "report.html").read_text()
    without = (write_review_run(tmp_path / "b", {}) / "report.html").read_text()
    assert "Click a dot to open its cluster." in with_clusters
    assert "Click a dot" not in without and "grey: in no cluster." in without


def test_names_are_isolated_from_the_text_around_them():
    """A right-to-left override left open in a speaker's name or a file name (U+202E) must not
    turn the role, source and turn written after it."""
    from pipeline.artifacts import Segment
    from pipeline.report import quotes_html

    segment = Segment("x#1.1", "interview_07\u202e.txt", 1, "Dr Smith \u202e", "professional", "Fine.", 0, 5)
    html = str(quotes_html([segment], {}))
    assert "<bdi>Dr Smith \u202e</bdi> (<bdi>professional</bdi>) · <bdi>interview_07\u202e.txt</bdi>, turn 1" in html


def test_analysts_words_are_isolated_from_the_text_around_them(store):
    """A right-to-left override (U+202E) in a theme's name, an author or a memo must not turn
    the count, date and run written after it, in the decision line and the orphaned list."""
    rtl = "\u202e"
    orphan = {"from": "old-1:4", "run": "old-1", "cluster_id": 4, "status": "new", "code_id": None,
              "name": f"Night {rtl}shift", "definition": f"{rtl}defined", "memo": f"{rtl}noted", "size": 42,
              "author": f"Ana {rtl}", "timestamp": "2026-11-29T05:03:05.497Z"}
    decision = {**orphan, "carried": False, "overlap": 1.0, "merge_into": None}
    html = small_report([(4, 0.3)], orphaned=[orphan], decisions={0: decision})
    section = html.split('<section id="orphaned"', 1)[1].split("</section>", 1)[0]
    assert (f"<b>new theme</b> “<bdi>Night {rtl}shift</bdi>” · 42 segments · <bdi>Ana {rtl}</bdi>, "
            f"29 Nov 2026, 05:03 UTC · memo: <bdi>{rtl}noted</bdi> <span") in section
    line = re.search(r'<div class="decision" data-decision="0">(.*?)</div>', html).group(1)
    assert line == f"new “<bdi>Night {rtl}shift</bdi>”"


def test_a_cards_codes_are_a_list_whatever_their_ids_hold(store):
    """The code filter reads a card's codes as a JSON list: an id with a space or a quote stays one."""
    from html import unescape

    leaves = shipped_taxonomy().leaves
    card = card_of(small_report([(4, 0.3), (1, 0.25)]), 0)
    assert json.loads(unescape(re.search(r"data-codes='([^']*)'", card).group(1))) == [leaves[4].id, leaves[1].id]
