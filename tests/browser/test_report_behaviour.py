"""The report's behaviour in a real browser (Debian's Chromium, driven by Playwright): search,
memo drafts, two tabs on one review server, a stopped server, long text, downloads, the
keyboard and taking a decision back."""

import json
import os
import re
from pathlib import Path

import pytest

from pipeline.decisions import STATUSES, load_decisions, read_run
from pipeline.review import decide

from conftest import start_review, stop_review, themes, write_review_run

CHROMIUM = Path(os.environ.get("THEMES_CHROMIUM", "/usr/bin/chromium"))
GROUPS = {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)}
URL = "https://example.org/" + "a1b2c3d4" * 50  # 420 characters, no space to break at
LONG = "It was the mornings. " + "We waited for the tablets to wear off and nothing happened " * 70

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: `make setup` installs it")
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(),
                                reason=f"no browser at {CHROMIUM}: `make browser-deps` installs Debian's chromium")
expect = sync_api.expect


@pytest.fixture
def run(tmp_path, store):
    texts = [f"Segment {i} is about the day centre." for i in range(15)]
    texts[4] = "The Leaflet from the pharmacy was no help."  # a member, not a representative, of cluster 0
    texts[7] = URL
    texts[11] = LONG
    return write_review_run(tmp_path / "run", GROUPS, texts)


@pytest.fixture
def review(run, store):
    process, url = start_review(run, {**os.environ, "THEMES_DECISIONS": str(store)}, "--author", "Browser Test")
    yield process, url
    if process.poll() is None:
        stop_review(process)


def open_page(browser, url, width=1280):
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(url)
    return page


def shown(page):
    return page.locator("article.card:not(.hidden)")


def open_memo(page, cid):
    page.click(f'#cluster-{cid} summary:has-text("Memo")')
    return page.locator(f'#cluster-{cid} [data-field="memo"]')


def test_search_looks_at_labels_keywords_and_texts_only(browser, run):
    page = open_page(browser, (run / "report.html").as_uri())
    # Words of every card's controls and code list: not what a cluster is about.
    for words in ("medication", "compassion", "reject", "memo", "choose a code", "undecided"):
        page.fill("#filter-text", words)
        expect(shown(page)).to_have_count(0)
        expect(page.locator("#filter-count")).to_have_text("showing 0 of 3 clusters")
    page.fill("#filter-text", "LEAFLET pharmacy")  # any case; a member that is not a representative
    expect(shown(page)).to_have_count(1)
    expect(shown(page)).to_have_id("cluster-0")
    page.fill("#filter-text", "centre")  # a keyword of every cluster
    expect(shown(page)).to_have_count(3)
    page.fill("#filter-text", "label")  # in the labels only ("label 0", ...)
    expect(shown(page)).to_have_count(3)
    page.fill("#filter-text", "a1b2c3d4")  # in cluster 1's text
    expect(shown(page)).to_have_id("cluster-1")
    page.fill("#filter-text", "show the whole quote")  # the words of a long quote's button: no cluster's
    expect(shown(page)).to_have_count(0)
    page.fill("#filter-text", "nothing happened we waited")  # past the cut of cluster 2's long quote
    expect(shown(page)).to_have_id("cluster-2")
    page.fill("#filter-text", "")

    # The decision filter follows the decisions made since the page loaded.
    page.select_option("#filter-status", "undecided")
    expect(shown(page)).to_have_count(3)
    page.click('#cluster-1 button[data-action="reject"]')
    expect(shown(page)).to_have_count(2)
    page.select_option("#filter-status", "rejected")
    expect(shown(page)).to_have_count(1)
    expect(shown(page)).to_have_id("cluster-1")
    assert page.problems == []


def test_role_and_source_filters_narrow_the_quotes_too(browser, run):
    page = open_page(browser, (run / "report.html").as_uri())
    members = page.locator("#cluster-0 details.members blockquote.quote")
    expect(members).to_have_count(6)
    page.select_option("#filter-role", "professional")  # the odd segments: Nurse 1
    visible = page.locator("#cluster-0 blockquote.quote:not(.hidden)")
    roles = {q.get_attribute("data-role") for q in visible.all()}
    assert roles == {"professional"}
    expect(page.locator("#cluster-0 details.members blockquote.quote:not(.hidden)")).to_have_count(3)
    page.select_option("#filter-role", "")
    expect(page.locator("#cluster-0 details.members blockquote.quote:not(.hidden)")).to_have_count(6)
    page.select_option("#filter-source", "meeting.txt")  # every quote's source
    expect(page.locator("#cluster-0 blockquote.quote.hidden")).to_have_count(0)
    assert page.problems == []


def test_a_memo_written_first_is_saved_with_the_decision(browser, run):
    page = open_page(browser, (run / "report.html").as_uri())
    memo = open_memo(page, 0)
    expect(page.locator('#cluster-0 .control-block:has([data-field="memo"])')).to_contain_text(
        "saved with your next decision on this cluster")
    memo.fill("mornings lost to sedation")
    expect(page.locator("#cluster-0 [data-memo-state]")).to_have_text("Not saved yet.")
    page.click('#cluster-0 button[data-action="memo"]')
    expect(page.locator("#message")).to_contain_text("Decide first")
    expect(memo).to_have_value("mornings lost to sedation")

    # Drafts in another card: a memo and a new theme's name and definition.
    other = open_memo(page, 2)
    other.fill("half a thought")
    page.click('#cluster-2 summary:has-text("New theme")')
    page.fill('#cluster-2 [data-field="name"]', "Opening hours")
    page.fill('#cluster-2 [data-field="definition"]', "When the centre is open")

    page.click('#cluster-0 button[data-action="accept"] >> nth=0')
    expect(page.locator("#cluster-0 .badge")).to_have_text("accepted")
    expect(page.locator('[data-decision="0"]')).to_contain_text("Memo: mornings lost to sedation")
    expect(memo).to_have_value("mornings lost to sedation")
    expect(page.locator("#cluster-0 [data-memo-state]")).to_have_text("")

    page.click('#cluster-1 button[data-action="reject"]')
    expect(page.locator("#cluster-1 .badge")).to_have_text("rejected")
    expect(other).to_have_value("half a thought")
    expect(page.locator('#cluster-2 [data-field="name"]')).to_have_value("Opening hours")
    expect(page.locator('#cluster-2 [data-field="definition"]')).to_have_value("When the centre is open")
    expect(page.locator('[data-decision="1"]')).not_to_contain_text("Memo")
    assert page.problems == []


def test_two_tabs_agree_and_drafts_survive_a_refresh(browser, review, run, store):
    process, url = review
    first, second = open_page(browser, url), open_page(browser, url)
    expect(second.locator("#mode")).to_contain_text("Connected")
    draft = open_memo(second, 0)
    draft.fill("a note not saved yet")

    first.click('#cluster-0 button[data-action="reject"]')
    expect(first.locator("#cluster-0 .badge")).to_have_text("rejected")
    # The other tab catches up on its own, without being hidden and shown again.
    expect(second.locator("#cluster-0 .badge")).to_have_text("rejected", timeout=10_000)
    # So does a decision made on the command line.
    decide(run, store, 2, "new", name="Opening hours", memo="from the CLI")
    expect(second.locator("#cluster-2 .badge")).to_have_text("new", timeout=10_000)
    expect(first.locator("#cluster-2 .badge")).to_have_text("new", timeout=10_000)
    expect(first.locator('#cluster-2 [data-field="memo"]')).to_have_value("from the CLI")
    expect(draft).to_have_value("a note not saved yet")

    second.click('#cluster-0 button[data-action="accept"] >> nth=0')  # takes the draft along
    expect(second.locator('[data-decision="0"]')).to_contain_text("Memo: a note not saved yet")
    expect(first.locator('[data-decision="0"]')).to_contain_text("Memo: a note not saved yet", timeout=10_000)
    (decision,) = [d for d in load_decisions(store) if d.cluster_id == 0]
    assert (decision.status, decision.memo) == ("accepted", "a note not saved yet")
    assert first.problems == [] and second.problems == []


def test_a_stopped_server_is_said_plainly(browser, review):
    process, url = review
    page = open_page(browser, url)
    expect(page.locator("#mode")).to_contain_text("Connected")
    stop_review(process)
    page.click('#cluster-1 button[data-action="reject"]')
    expect(page.locator("#message")).to_contain_text("Not saved")
    mode = page.locator("#mode")
    expect(mode).to_contain_text("The review server has stopped: nothing you do on this page is saved")
    expect(mode).to_contain_text("themes review RUN_FOLDER")
    expect(mode).not_to_contain_text("Connected")
    expect(page.locator("#cluster-1 .badge")).to_have_text("undecided")


def test_long_text_wraps_and_long_quotes_open_on_demand(browser, run):
    page = open_page(browser, (run / "report.html").as_uri(), width=1300)
    page.click("#cluster-1 details.members > summary")
    page.click("#cluster-2 details.members > summary")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1300
    quote = page.locator("#cluster-2 .quote details.long").first
    expect(quote.locator(".excerpt")).to_be_visible()
    box = quote.bounding_box()
    assert box["height"] < 300  # cut, not 4,000 characters tall
    assert "show the whole quote" in quote.locator("summary").inner_text()
    quote.locator("summary").click()
    expect(quote).to_contain_text(LONG.strip()[-60:])
    expect(quote.locator(".excerpt")).to_be_hidden()
    expect(quote.locator(".open-less")).to_be_visible()
    assert page.problems == []


def test_download_counts_clusters_and_keeps_every_event(browser, run, store, tmp_path):
    page = open_page(browser, (run / "report.html").as_uri())
    suggestions = [s["code_id"] for s in read_run(run).cluster(0)["suggestions"]]
    page.click(f'#cluster-0 button[data-action="accept"][data-code="{suggestions[0]}"]')
    page.click(f'#cluster-0 button[data-action="accept"][data-code="{suggestions[1]}"]')
    page.click('#cluster-1 button[data-action="reject"]')
    expect(page.locator("#download")).to_have_text("Download decisions (2 clusters)")
    expect(page.locator("#decided-count")).to_have_text("2 of 3 clusters decided")
    with page.expect_download() as download:
        page.click("#download")
    expect(page.locator("#message")).to_contain_text("Downloaded the decisions on 2 clusters")
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    events = json.loads(file.read_text())["decisions"]
    assert [(e["cluster_id"], e["status"], e["code_id"]) for e in events] == [
        (0, "accepted", suggestions[0]), (0, "accepted", suggestions[1]), (1, "rejected", None)]
    result = themes("decisions", "import", file, "--run", run, env={**os.environ, "THEMES_DECISIONS": str(store)})
    assert result.returncode == 0, result.stderr
    assert {d.cluster_id: d.code_id for d in load_decisions(store)} == {0: suggestions[1], 1: None}


def test_enter_acts_and_accept_buttons_name_their_code(browser, run):
    page = open_page(browser, (run / "report.html").as_uri())
    page.fill('#cluster-0 [data-field="merge"]', "1")
    page.press('#cluster-0 [data-field="merge"]', "Enter")
    expect(page.locator('[data-decision="0"]')).to_contain_text("Merged into cluster 1")
    page.click('#cluster-2 summary:has-text("New theme")')
    page.fill('#cluster-2 [data-field="name"]', "Opening hours")
    page.press('#cluster-2 [data-field="name"]', "Enter")
    expect(page.locator("#cluster-2 .badge")).to_have_text("new")

    first = read_run(run).cluster(1)["suggestions"][0]
    button = page.locator("#cluster-1").get_by_role("button", name=re.compile(r"^Accept " + re.escape(first["label"])))
    expect(button).to_have_count(1)
    expect(button).to_have_attribute("data-code", first["code_id"])
    # The other buttons say which cluster they act on too, for a screen reader's list of buttons.
    expect(page.get_by_role("button", name="Reject cluster 1: not a theme", exact=True)).to_have_count(1)
    for action, name in (("new", "Save cluster 1 as a new theme"), ("memo", "Save the memo on cluster 1"),
                         ("merge", "Merge cluster 1 into the cluster given"),
                         ("accept-other", "Accept the chosen code for cluster 1")):  # some behind "New theme…"
        expect(page.locator(f'#cluster-1 button[data-action="{action}"]')).to_have_attribute("aria-label", name)
    expect(page.get_by_role("img", name=re.compile("^Map of the segments"))).to_have_count(1)
    assert page.problems == []


def test_orphans_and_carried_decisions_read_plainly(browser, tmp_path, store):
    texts = [f"Segment {i} is about the day centre." for i in range(15)]
    earlier = write_review_run(tmp_path / "run", GROUPS, texts)
    decide(earlier, store, 0, "accepted")
    decide(earlier, store, 2, "rejected", memo="noise")
    rerun = write_review_run(tmp_path / "run", {0: range(0, 5), 1: range(6, 13), 2: [13]}, texts,
                             overrides={"clustering": {"min_cluster_size": 4}})
    page = open_page(browser, (rerun / "report.html").as_uri())
    line = page.locator('[data-decision="0"]')
    expect(line).to_contain_text("carried from an earlier run (83 % of the segments in this cluster or the one decided then are in both)")
    expect(line).not_to_contain_text("overlap")
    expect(line.locator(".from[title]")).to_have_attribute("title", re.compile(r"^from run-\w+:0$"))
    item = page.locator("#orphaned-list li")
    expect(item).to_contain_text("rejected")
    expect(item).to_contain_text(re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC"))
    expect(item).not_to_contain_text("T0")
    expect(item.locator(".now-in")).to_have_text("Its segments are now mostly in cluster 1 (3 of 4), cluster 2 (1).")
    expect(item.locator('.now-in a[href="#cluster-1"]')).to_have_count(1)
    assert page.problems == []


@pytest.mark.skipif("undecided" not in STATUSES, reason="the store does not know 'undecided' yet")
def test_undo_static_and_served(browser, run, store, review, tmp_path):
    page = open_page(browser, (run / "report.html").as_uri())
    undo = page.locator('#cluster-1 button[data-action="undo"]')
    expect(undo).to_be_hidden()
    page.click('#cluster-1 button[data-action="reject"]')
    expect(undo).to_be_visible()
    undo.click()
    expect(page.locator("#cluster-1 .badge")).to_have_text("undecided")
    expect(undo).to_be_hidden()
    with page.expect_download() as download:
        page.click("#download")
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert [e["status"] for e in json.loads(file.read_text())["decisions"]] == ["rejected", "undecided"]

    process, url = review
    page = open_page(browser, url)
    undo = page.locator('#cluster-0 button[data-action="undo"]')
    page.click('#cluster-0 button[data-action="reject"]')
    expect(undo).to_be_visible()
    undo.click()
    expect(page.locator("#cluster-0 .badge")).to_have_text("undecided")
    expect(undo).to_be_hidden()
    page.reload()
    expect(page.locator("#cluster-0 .badge")).to_have_text("undecided")
    assert [(d.cluster_id, d.status) for d in load_decisions(store)] == [(0, "undecided")]
    assert page.problems == []


def test_a_static_pages_own_decisions_give_way_to_later_ones_in_the_store(browser, run, store, tmp_path):
    page = open_page(browser, (run / "report.html").as_uri())
    page.click('#cluster-1 button[data-action="reject"]')
    page.click('#cluster-2 button[data-action="reject"]')
    with page.expect_download() as download:
        page.click("#download")
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    assert themes("decisions", "import", file, "--run", run, env=env).returncode == 0
    decide(run, store, 1, "new", name="Opening hours")  # later than the page's rejection
    write_review_run(run, GROUPS, [f"Segment {i} is about the day centre." for i in range(15)])  # the same run again
    page.reload()
    expect(page.locator("#cluster-1 .badge")).to_have_text("new")
    expect(page.locator("#cluster-2 .badge")).to_have_text("rejected")
    expect(page.locator("#download")).to_be_hidden()  # both of its decisions are in the store now
    assert page.problems == []


def test_the_keyboard_focus_stays_on_the_button_after_a_decision(browser, review):
    _, url = review
    page = open_page(browser, url)
    page.focus('#cluster-1 button[data-action="reject"]')
    page.keyboard.press("Enter")
    expect(page.locator("#cluster-1 .badge")).to_have_text("rejected")
    expect(page.locator('#cluster-1 button[data-action="reject"]')).to_be_focused()
    page.focus('#cluster-1 button[data-action="undo"]')
    page.keyboard.press("Enter")
    expect(page.locator("#cluster-1 .badge")).to_have_text("undecided")
    assert page.evaluate("document.activeElement.closest('article.card') && "
                         "document.activeElement.closest('article.card').id") == "cluster-1"
    assert page.problems == []


def test_a_decision_carried_from_another_run_does_not_hide_the_pages_own(browser, run, store, tmp_path):
    page = open_page(browser, (run / "report.html").as_uri())
    page.click('#cluster-1 button[data-action="reject"]')  # kept in the browser, not downloaded
    texts = [f"Segment {i} is about the day centre." for i in range(15)]
    other = write_review_run(tmp_path / "other", GROUPS, texts, overrides={"clustering": {"min_cluster_size": 4}})
    decide(other, store, 1, "new", name="Opening hours")  # later, on another run
    write_review_run(run, GROUPS, texts)  # the first run again: cluster 1 shows that one carried
    page.reload()
    expect(page.locator("#cluster-1 .badge")).to_have_text("rejected")
    expect(page.locator("#download")).to_have_text("Download decisions (1 cluster)")
    assert page.problems == []


def test_a_static_pages_decision_taken_back_in_the_store_goes(browser, run, store, tmp_path):
    page = open_page(browser, (run / "report.html").as_uri())
    page.click('#cluster-1 button[data-action="reject"]')
    with page.expect_download() as download:
        page.click("#download")
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert themes("decisions", "import", file, "--run", run, env={**os.environ, "THEMES_DECISIONS": str(store)}).returncode == 0
    decide(run, store, 1, "undecided")
    write_review_run(run, GROUPS, [f"Segment {i} is about the day centre." for i in range(15)])  # the same run again
    page.reload()
    expect(page.locator("#cluster-1 .badge")).to_have_text("undecided")
    expect(page.locator("#download")).to_be_hidden()
    assert page.problems == []


def test_decisions_kept_for_an_earlier_run_of_the_folder_are_offered_after_a_rerun(browser, run, store, tmp_path):
    """Decisions made in the static page, then the run made again with another run id before
    they were downloaded: the new report offers them, and they import on their own."""
    page = open_page(browser, (run / "report.html").as_uri())
    page.click('#cluster-1 button[data-action="reject"]')
    page.click('#cluster-2 button[data-action="reject"]')
    before = read_run(run).run
    write_review_run(run, {0: range(0, 6), 1: range(6, 11), 2: range(11, 14)})  # other clusters: another id
    assert read_run(run).run != before
    page.reload()
    button = page.locator("#download-earlier")
    expect(button).to_have_text("Download 2 decisions kept from an earlier run of this folder")
    expect(page.locator("#message")).to_contain_text("keeps 2 decisions made in an earlier report")
    expect(page.locator("#download")).to_be_hidden()  # none of this run's own
    with page.expect_download() as download:
        button.click()
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert json.loads(file.read_text())["run"] == before
    result = themes("decisions", "import", file, env={**os.environ, "THEMES_DECISIONS": str(store)})
    assert result.returncode == 0, result.stderr
    assert sorted(d.cluster_id for d in load_decisions(store)) == [1, 2]
    expect(button).to_be_hidden()
    page.reload()
    expect(button).to_be_hidden()  # downloaded: not offered again
    assert page.problems == []


def test_filters_for_roles_with_spaces_and_long_names_that_do_not_widen_the_page(browser, tmp_path, store):
    run = write_review_run(tmp_path / "run", GROUPS, roles=("service user", "health professional"))
    page = open_page(browser, (run / "report.html").as_uri())
    page.select_option("#filter-role", "service user")
    expect(shown(page)).to_have_count(3)
    expect(page.locator("#cluster-0 details.members blockquote.quote:not(.hidden)")).to_have_count(3)
    page.select_option("#filter-role", "")
    page.click('#cluster-2 summary:has-text("New theme")')
    page.fill('#cluster-2 [data-field="name"]', "x" * 300)  # no space to break at
    page.click('#cluster-2 button[data-action="new"]')
    expect(page.locator("#cluster-2 .badge")).to_have_text("new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.problems == []


def test_a_memo_stored_with_windows_line_ends_is_not_taken_for_a_draft(browser, run, store, review, tmp_path):
    folder = read_run(run)
    event = {"cluster_key": f"{folder.run}:1", "run": folder.run, "cluster_id": 1, "status": "rejected",
             "code_id": None, "name": None, "definition": None, "merge_into": None, "memo": "line one\r\nline two",
             "segment_ids": folder.cluster(1)["members"], "author": "Ana", "timestamp": "2026-01-31T12:00:00.000Z",
             "merge_segment_ids": [], "replaces": None}
    file = tmp_path / "download.json"
    file.write_text(json.dumps({"format": "themes-decisions", "version": 1, "run": folder.run,
                                "exported": "2026-01-31T12:00:00.000Z", "decisions": [event]}))
    assert themes("decisions", "import", file, env={**os.environ, "THEMES_DECISIONS": str(store)}).returncode == 0
    page = open_page(browser, review[1])
    memo = open_memo(page, 1)
    expect(memo).to_have_value("line one\nline two")
    expect(page.locator("#cluster-1 [data-memo-state]")).to_have_text("")
    decide(run, store, 1, None, memo="updated on the command line")
    expect(memo).to_have_value("updated on the command line", timeout=10000)  # the page follows the store
    assert page.problems == []


def test_no_button_or_score_breaks_inside_a_word(browser, run):
    """Long names wrap where they are; a button's word, a code id or a score never splits."""
    for width in (1280, 800):
        page = open_page(browser, (run / "report.html").as_uri(), width=width)
        split = page.evaluate("""() => {
            const lines = (node) => { const r = document.createRange(); r.selectNodeContents(node);
                                      return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; };
            return [...document.querySelectorAll('button.act, td.score, .code-id, .badge, table.coverage code')]
                .filter(n => n.offsetParent !== null && n.textContent.trim() && !n.textContent.trim().includes(' ')
                             && lines(n) > 1).map(n => n.textContent.trim());
        }""")
        assert split == [], (width, split)
        page.close()


def test_a_phone_wide_window_scrolls_wide_tables_rather_than_the_page(browser, run):
    """At 420 px the suggestion tables (long nakanishi2021 ids) scroll by themselves."""
    page = open_page(browser, (run / "report.html").as_uri(), width=420)
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    wrap = page.locator("#cluster-0 .sugg-wrap")
    expect(wrap.locator("table.sugg")).to_be_visible()
    assert page.problems == []


def test_another_projects_report_of_the_same_name_offers_nothing(browser, tmp_path, store):
    """Pages opened from disk share one storage: runs/default of project A and of project B."""
    first = write_review_run(tmp_path / "a" / "runs" / "default", GROUPS)
    page = open_page(browser, (first / "report.html").as_uri())
    page.click('#cluster-1 button[data-action="reject"]')
    other = write_review_run(tmp_path / "b" / "runs" / "default", {0: range(0, 6), 1: range(6, 11)})
    assert read_run(other).run != read_run(first).run and read_run(other).run.startswith("default-")
    page.goto((other / "report.html").as_uri())
    expect(page.locator("#decided-count")).to_contain_text("clusters decided")
    expect(page.locator("#download-earlier")).to_be_hidden()
    assert page.problems == []


def test_a_name_or_author_the_import_refuses_is_never_kept(browser, run, store, tmp_path):
    """The page opened from disk refuses what `themes decisions import` would refuse (a control
    character in a name or "Your name", half of an emoji), in the words the import uses; a
    decision an earlier page kept with one is left out of the download, saying which and why."""
    from pipeline.decisions import name_problem

    page = open_page(browser, (run / "report.html").as_uri())
    # Every character the rule is about, and its neighbours, told apart as the import tells them.
    codes = [*range(0x00, 0x21), *range(0x7e, 0xa1), 0x2028, 0xfeff, 0xfffd, 0xfffe, 0xffff, 0xd800, 0xdc00]
    said = page.evaluate("""(codes) => codes.map((code) => {
        const author = document.querySelector('#author');
        author.value = 'Ana ' + String.fromCharCode(code) + ' B';
        author.dispatchEvent(new Event('change'));
        const message = document.querySelector('#message').textContent;
        document.querySelector('#message').textContent = author.value = '';
        return message; })""", codes)
    problems = [name_problem("Ana " + chr(code) + " B") for code in codes]
    assert said == [f"Not kept: (author): {problem}" if problem else "" for problem in problems]
    assert "U+0085" in said[codes.index(0x85)] and said[codes.index(0x09)] == said[codes.index(0x0a)] == ""
    # A name with U+0085 (a Windows "…" decoded wrongly): refused, nothing kept.
    page.click('#cluster-2 summary:has-text("New theme")')
    page.fill('#cluster-2 [data-field="name"]', "Jobs \u0085 theme")
    page.click('#cluster-2 button[data-action="new"]')
    expect(page.locator("#message")).to_have_text("Not kept: cluster 2 (name): " + name_problem("\u0085"))
    expect(page.locator("#cluster-2 .badge")).to_have_text("undecided")
    expect(page.locator("#download")).to_be_hidden()
    page.evaluate("document.querySelector('#cluster-2 [data-field=\"definition\"]').value = 'half \\ud83d'")
    page.fill('#cluster-2 [data-field="name"]', "Jobs theme")
    page.click('#cluster-2 button[data-action="new"]')
    expect(page.locator("#message")).to_have_text("Not kept: cluster 2 (definition): " + name_problem("\ud83d"))
    page.fill('#cluster-2 [data-field="definition"]', "")
    page.fill("#author", "Ana \u0007")
    page.click('#cluster-1 button[data-action="reject"]')
    expect(page.locator("#message")).to_have_text("Not kept: (author): " + name_problem("\u0007"))
    expect(page.locator("#download")).to_be_hidden()
    page.fill("#author", "Ana")
    page.click('#cluster-2 button[data-action="new"]')
    expect(page.locator("#cluster-2 .badge")).to_have_text("new")

    # Decisions an earlier page kept with such a name: left out, named, and the rest imports.
    kept = page.evaluate("JSON.parse(localStorage.getItem('themes-decisions:' + %s))" % json.dumps(read_run(run).run))
    bad = [{**kept[0], "cluster_id": 1, "cluster_key": kept[0]["cluster_key"][:-1] + "1", "name": "Jobs \u0085 theme",
            "segment_ids": read_run(run).cluster(1)["members"]},
           {**kept[0], "status": "rejected", "name": None, "author": "Bo\u0007"}]
    page.evaluate("(events) => localStorage.setItem('themes-decisions:' + %s, JSON.stringify(events))"
                  % json.dumps(read_run(run).run), [bad[0], kept[0], bad[1]])
    page.reload()
    message = page.locator("#message")
    expect(message).to_contain_text("Left out of the download: 2 decisions this browser kept that "
                                    "`themes decisions import` would refuse; decide again: ")
    expect(message).to_contain_text("cluster 1 (name): " + name_problem("\u0085"))
    expect(message).to_contain_text("cluster 2 (author): " + name_problem("\u0007"))
    expect(page.locator("#cluster-1 .badge")).to_have_text("undecided")
    expect(page.locator("#cluster-2 .badge")).to_have_text("new")
    with page.expect_download() as download:
        page.click("#download")
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert [(e["cluster_id"], e["name"]) for e in json.loads(file.read_text())["decisions"]] == [(2, "Jobs theme")]
    result = themes("decisions", "import", file, "--run", run, env={**os.environ, "THEMES_DECISIONS": str(store)})
    assert result.returncode == 0, result.stderr
    assert page.problems == []


@pytest.mark.parametrize("taxonomy", ["nakanishi2021", "none"])
def test_a_phone_wide_window_fits_with_every_control_open(browser, tmp_path, store, taxonomy):
    """At 420 px nothing widens the page, "New theme…" and "Memo…" open included (a report
    without a taxonomy opens "New theme…" on every card from the start)."""
    run = write_review_run(tmp_path / "run", GROUPS, taxonomy=taxonomy)
    page = open_page(browser, (run / "report.html").as_uri(), width=420)
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    # Every control and text of the card inside the card, not cut off at its edge.
    outside = page.evaluate("""() => [...document.querySelectorAll('article.card *')].filter((node) => {
        if (node.closest('.sugg-wrap') || !node.getClientRects().length) { return false; }
        const card = node.closest('article.card').getBoundingClientRect(), box = node.getBoundingClientRect();
        return box.right > card.right + 0.5 || box.left < card.left - 0.5;
    }).map((node) => node.outerHTML.slice(0, 80))""")
    assert outside == []
    assert page.problems == []


# Whether "UTC" in a node's text reads left to right, where the page shows it.
UTC_READS_LEFT_TO_RIGHT = """(node) => {
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    let text;
    while ((text = walker.nextNode()) && !text.nodeValue.includes("UTC")) {}
    const at = (i) => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
                        return r.getBoundingClientRect().left; };
    const u = text.nodeValue.indexOf("UTC");
    return at(u) < at(u + 2);
}"""


def test_a_right_to_left_override_in_an_analysts_words_turns_nothing_after_them(browser, tmp_path, store):
    """A theme's name, definition, memo and author are isolated (<bdi>) in the decision line,
    the new themes, the message and the orphaned list: U+202E in them turns nothing after them."""
    rtl = "\u202e"
    texts = [f"Segment {i} is about the day centre." for i in range(15)]
    run = write_review_run(tmp_path / "run", GROUPS, texts)
    decide(run, store, 2, "new", name=f"Old {rtl}name", memo=f"{rtl}old memo", author=f"Bo {rtl}")
    run = write_review_run(tmp_path / "run", {0: range(0, 5), 1: range(6, 13), 2: [13]}, texts,
                           overrides={"clustering": {"min_cluster_size": 4}})  # cluster 2's decision: orphaned
    page = open_page(browser, (run / "report.html").as_uri())
    page.fill("#author", f"Ana {rtl}")
    page.click('#cluster-1 summary:has-text("New theme")')
    page.fill('#cluster-1 [data-field="name"]', f"Night {rtl}shift")
    page.fill('#cluster-1 [data-field="definition"]', f"{rtl}defined")
    open_memo(page, 1).fill(f"{rtl}noted")
    page.click('#cluster-1 button[data-action="new"]')
    line = page.locator('[data-decision="1"]')
    expect(line.locator("bdi")).to_have_text([f"Night {rtl}shift", f"Ana {rtl}", f"{rtl}defined", f"{rtl}noted"])
    assert line.evaluate(UTC_READS_LEFT_TO_RIGHT)
    expect(page.locator("#message bdi")).to_have_text([f"Night {rtl}shift"])
    expect(page.locator("#new-themes li bdi")).to_have_text([f"Night {rtl}shift", f"{rtl}defined"])
    orphan = page.locator("#orphaned-list li")
    expect(orphan.locator("bdi")).to_have_text([f"Old {rtl}name", f"Bo {rtl}", f"{rtl}old memo"])
    assert orphan.evaluate(UTC_READS_LEFT_TO_RIGHT)
    assert page.problems == []


def test_the_code_filter_finds_a_code_whose_id_holds_spaces(browser, tmp_path, store):
    """Code ids may hold spaces (a codebook's leaf "lack of compassion"): the filter still
    finds every cluster suggested that code."""
    from pipeline.config import resolve_taxonomy_path

    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(resolve_taxonomy_path("nakanishi2021").read_text()
                        .replace("lack_of_compassion", "lack of compassion")
                        .replace("life_security_threatened", "life security threatened"))
    run = write_review_run(tmp_path / "run", GROUPS, taxonomy=str(codebook))
    page = open_page(browser, (run / "report.html").as_uri())
    page.select_option("#filter-code", "barrier.safety.life security threatened")  # suggested for clusters 0 and 1
    expect(shown(page)).to_have_count(2)
    expect(shown(page).nth(1)).to_have_id("cluster-1")
    page.select_option("#filter-code", "barrier.safety.lack of compassion")
    expect(shown(page)).to_have_id("cluster-0")
    assert page.problems == []


def test_keyboard_focus_is_never_left_under_the_sticky_header(browser, run):
    """Shift+Tab onto a control hidden under the sticky header scrolls it clear, however tall
    the header is (taller in a narrow window, or as a message wraps). (One only partly under
    it Chromium leaves where it is.)"""
    page = open_page(browser, (run / "report.html").as_uri())
    reject = page.locator('#cluster-1 button[data-action="reject"]')
    for width in (1280, 420, 1280):  # resized, not reloaded
        page.set_viewport_size({"width": width, "height": 800})
        page.evaluate("(n) => { document.querySelector('#message').textContent = 'a long message '.repeat(n); }",
                      20 if width > 800 else 1)  # wraps at 1280 px: a taller header
        header = page.evaluate("document.querySelector('header.top').getBoundingClientRect().height")
        for above in (2, 30):  # the button's bottom this far above the header's
            page.evaluate("""(y) => {
                const button = document.querySelector('#cluster-1 button[data-action="reject"]');
                const all = [...document.querySelectorAll('a[href], button:not([hidden]), input, select, textarea, summary')]
                    .filter((node) => node.offsetParent !== null);
                window.scrollBy(0, button.getBoundingClientRect().bottom - y);
                all[all.indexOf(button) + 1].focus({preventScroll: true});
            }""", header - above)
            page.keyboard.press("Shift+Tab")
            expect(reject).to_be_focused()
            top = reject.evaluate("(node) => node.getBoundingClientRect().top")
            assert top >= header, (width, header, above, top)
        # A link to a cluster puts its card just below the header, not a guess's height lower.
        page.evaluate("() => { location.hash = ''; location.hash = 'cluster-2'; }")
        card = page.evaluate("document.querySelector('#cluster-2').getBoundingClientRect().top")
        assert header <= card <= header + 20, (width, header, card)
    assert page.problems == []


def test_the_report_prints_whole(browser, tmp_path, store):
    """Printed, the cluster sizes list (a scroll box on screen) and the tables show every row,
    and the sticky header is printed once, not over each page."""
    groups = {cid: range(2 * cid, 2 * cid + 2) for cid in range(40)}
    run = write_review_run(tmp_path / "run", groups)
    page = open_page(browser, (run / "report.html").as_uri(), width=718)  # A4's printable width
    assert page.evaluate("document.querySelector('.sizes').scrollHeight > document.querySelector('.sizes').clientHeight")
    page.emulate_media(media="print")
    cut = page.evaluate("""() => [...document.querySelectorAll('.sizes, .coverage-codes, .sugg-wrap')]
        .filter((box) => box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1)
        .map((box) => box.className)""")
    assert cut == [] and page.evaluate("document.documentElement.scrollWidth") <= 718
    assert page.evaluate("document.querySelectorAll('.sizes .size-row').length") == 41
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).position") == "static"
    labels = page.evaluate("[...document.querySelectorAll('.size-label')].filter((l) => l.scrollWidth > l.clientWidth).length")
    assert labels == 0
    assert page.problems == []
