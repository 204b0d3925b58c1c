"""Markup in transcripts never runs: a real browser opens the static report and the review
page of a run whose segments carry script, event-handler, javascript: and iframe payloads, and
checks that none executes and that no request leaves the page."""

import os
from pathlib import Path

import pytest

from conftest import start_review, stop_review, write_review_run

CHROMIUM = Path(os.environ.get("THEMES_CHROMIUM", "/usr/bin/chromium"))
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing: `make setup` installs it")
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(),
                                reason=f"no browser at {CHROMIUM}: `make browser-deps` installs Debian's chromium")

# Each payload sets window.__pwned when it runs, or tries to fetch something.
PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    "</script><script>window.__pwned = 2</script>",
    '<img src="x" onerror="window.__pwned = 3">',
    '<a href="javascript:window.__pwned = 4" id="evil">click me</a>',
    '<iframe src="javascript:parent.__pwned = 5"></iframe>',
    '<svg onload="window.__pwned = 6"><circle r="1"/></svg>',
    '"><img src=x onerror=window.__pwned=7>',
    "<body onload=window.__pwned=8>",
    '<iframe srcdoc="&lt;script&gt;parent.__pwned=9&lt;/script&gt;"></iframe>',
    '<img src="https://example.org/tracker.png">',
    '<link rel="stylesheet" href="https://example.org/x.css">',
    "{{ 7 * 7 }} {% raw %}<script>window.__pwned = 10</script>",
    "\u2028<script>window.__pwned = 11</script>\u2029",
    '<style>@import "https://example.org/y.css";</style>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=12">',
]
GROUPS = {0: range(0, 8), 1: range(8, 16)}


@pytest.fixture
def hostile_run(tmp_path, monkeypatch):
    store = tmp_path / "decisions.jsonl"
    monkeypatch.setenv("THEMES_DECISIONS", str(store))
    texts = [f"{PAYLOADS[i % len(PAYLOADS)]} said in segment {i}" for i in range(17)]
    return write_review_run(tmp_path / "run", GROUPS, texts), store


def check_page(browser, url, allowed_prefix):
    page = browser.new_page()
    requests, dialogs = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_timeout(500)
    # Open every member list and click the payload link, so nothing stays hidden.
    for summary in page.locator("summary").all():
        summary.click()
    evil = page.locator("#evil")
    assert evil.count() == 0  # the anchor is text, not an element
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.querySelectorAll('iframe, script:not([type]) ~ script[src], img[src^=\"http\"]').length") == 0
    assert dialogs == []
    strangers = [u for u in requests if not u.startswith(allowed_prefix)]
    assert strangers == [], strangers
    body = page.inner_text("body")
    assert "<script>window.__pwned = 1</script>" in body  # shown as text
    page.close()
    return len(PAYLOADS)


def test_static_report_runs_no_payload(browser, hostile_run):
    run, _ = hostile_run
    report = run / "report.html"
    assert check_page(browser, report.as_uri(), report.as_uri()) == len(PAYLOADS)


def test_review_page_runs_no_payload(browser, hostile_run):
    run, store = hostile_run
    process, url = start_review(run, {**os.environ, "THEMES_DECISIONS": str(store)})
    try:
        check_page(browser, url, "/".join(url.split("/", 3)[:3]))
    finally:
        stop_review(process)


def test_the_policy_stops_a_script_that_got_past_the_escaping(browser, hostile_run, tmp_path):
    """A second line of defence: were markup ever written unescaped (a fault), the page's policy
    runs only the page's own script, named by its hash."""
    run, _ = hostile_run
    html = (run / "report.html").read_text(encoding="utf-8")
    planted = tmp_path / "planted.html"
    planted.write_text(html.replace("<main", "<script>window.__pwned = 99</script><main", 1), encoding="utf-8")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(planted.as_uri())
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#filter-count").inner_text().startswith("showing 2 of 2")  # the page's own script ran
    assert errors == []
    page.close()
