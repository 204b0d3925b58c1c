"""A real browser (Debian's Chromium, driven by Playwright) against `themes review` and the
static report: decisions made by clicking are saved, survive a reload and reach the store."""

import os
from pathlib import Path

import pytest

from pipeline.decisions import load_decisions, read_run

from conftest import ROOT, start_review, stop_review, themes, write_review_run

CHROMIUM = Path(os.environ.get("THEMES_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
GROUPS = {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)}

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: `make setup` installs it")
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(),
                                reason=f"no browser at {CHROMIUM}: `make browser-deps` installs Debian's chromium")


@pytest.fixture
def run(tmp_path, store):
    texts = [f"Segment {i} is about the day centre and the tablets." for i in range(15)]
    texts[3] = "<script>document.title='owned'</script> is what the leaflet said"
    return write_review_run(tmp_path / "run", GROUPS, texts)


@pytest.fixture
def review(run, store):
    process, url = start_review(run, {**os.environ, "THEMES_DECISIONS": str(store)}, "--author", "Browser Test")
    yield url
    stop_review(process)


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(url)
    return page


def test_accept_reload_reject_in_a_real_browser(browser, review, run, store):
    expect = sync_api.expect
    second = read_run(run).cluster(0)["suggestions"][1]["code_id"]
    page = open_page(browser, review)
    expect(page.locator("#mode")).to_contain_text("saved to the decision store")

    page.click(f'#cluster-0 button[data-action="accept"][data-code="{second}"]')
    expect(page.locator("#cluster-0 .badge")).to_have_text("accepted")
    page.reload()
    expect(page.locator("#cluster-0 .badge")).to_have_text("accepted")
    expect(page.locator('[data-decision="0"]')).to_contain_text(second)
    expect(page.locator(f'#coverage tr[data-code="{second}"] .accepted-cell')).to_have_text("cluster 0")
    assert page.get_attribute(f'#coverage tr[data-code="{second}"] .accepted-cell a', "href") == "#cluster-0"

    page.click('#cluster-1 button[data-action="reject"]')
    expect(page.locator("#cluster-1 .badge")).to_have_text("rejected")
    page.select_option("#filter-status", "undecided")
    expect(page.locator("article.card:not(.hidden)")).to_have_count(1)
    page.select_option("#filter-status", "")
    page.fill("#filter-text", "leaflet")
    expect(page.locator("article.card:not(.hidden)")).to_have_count(1)
    page.fill("#filter-text", "")
    assert page.title().endswith("candidate themes")  # the transcript's <script> stayed text
    expect(page.locator("#cluster-0")).to_contain_text("<script>document.title='owned'</script>")

    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
    origin = review.split("/", 3)[:3]
    assert all(url.split("/", 3)[:3] == origin for url in page.requests), page.requests
    assert page.problems == []

    decisions = {d.cluster_id: d for d in load_decisions(store)}
    assert (decisions[0].status, decisions[0].code_id, decisions[0].author) == ("accepted", second, "Browser Test")
    assert decisions[1].status == "rejected"
    assert len(decisions) == 2


def test_static_report_downloads_decisions_to_import(browser, run, store, tmp_path):
    expect = sync_api.expect
    page = open_page(browser, (run / "report.html").as_uri())
    expect(page.locator("#mode")).to_contain_text("Static file")
    page.fill("#author", "Offline Analyst")
    page.dispatch_event("#author", "change")
    page.click('#cluster-2 summary:has-text("New theme")')
    page.fill('#cluster-2 [data-field="name"]', "Opening hours")
    page.fill('#cluster-2 [data-field="definition"]', "When the day centre is open.")
    page.click('#cluster-2 button[data-action="new"]')
    expect(page.locator("#cluster-2 .badge")).to_have_text("new")
    page.reload()  # decisions stay in the page until downloaded
    expect(page.locator("#cluster-2 .badge")).to_have_text("new")
    with page.expect_download() as download:
        page.click("#download")
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert page.problems == [] and all(url.startswith("file://") for url in page.requests)

    result = themes("decisions", "import", file, "--run", run, env={**os.environ, "THEMES_DECISIONS": str(store)})
    assert result.returncode == 0, result.stderr
    (decision,) = load_decisions(store)
    assert (decision.cluster_id, decision.status, decision.name, decision.author) == (
        2, "new", "Opening hours", "Offline Analyst")


def test_another_code_must_be_chosen_before_it_is_accepted(browser, run):
    expect = sync_api.expect
    page = open_page(browser, (run / "report.html").as_uri())
    select = page.locator('#cluster-1 select[data-field="code"]')
    assert select.input_value() == ""  # no code is picked for the analyst
    page.click('#cluster-1 button[data-action="accept-other"]')
    expect(page.locator("#message")).to_have_text("Choose a code in the list first.")
    expect(page.locator("#cluster-1 .badge")).to_have_text("undecided")
    code = read_run(run).cluster(1)["suggestions"][0]["code_id"]
    select.select_option(code)
    page.click('#cluster-1 button[data-action="accept-other"]')
    expect(page.locator("#cluster-1 .badge")).to_have_text("accepted")
    assert page.problems == []
