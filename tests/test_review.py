"""Ways of deciding: the CLI, the review server, files downloaded from a static report; the codebook."""

import dataclasses
import http.client
import json
import os
import threading

import pytest

from pipeline.decisions import Decision, load_decisions, read_run
from pipeline.errors import ThemesError
from pipeline.review import ReviewServer, codebook, decide, import_decisions, leaf_codes, make_decision

from conftest import ROOT, start_review, stop_review, themes, write_review_run

GROUPS = {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)}


@pytest.fixture
def run(tmp_path, store):
    return write_review_run(tmp_path / "run", GROUPS)


def test_make_decision_validates_like_the_analyst_would(run, store):
    folder = read_run(run)
    codes = leaf_codes(folder)
    top = folder.cluster(0)["suggestions"][0]["code_id"]
    assert make_decision(folder, 0, "accepted", codes=codes).code_id == top
    with pytest.raises(ThemesError, match=r"\(cluster 0\) \(no.such\): not a code"):
        make_decision(folder, 0, "accepted", code_id="no.such", codes=codes)
    with pytest.raises(ThemesError, match="needs a name"):
        make_decision(folder, 0, "new", name="  ", codes=codes)
    with pytest.raises(ThemesError, match="another cluster"):
        make_decision(folder, 0, "merged", merge_into=0, codes=codes)
    with pytest.raises(ThemesError, match="no such cluster"):
        make_decision(folder, 0, "merged", merge_into=42, codes=codes)
    with pytest.raises(ThemesError, match="decide first"):
        make_decision(folder, 0, None, memo="just a memo", codes=codes)


def test_memo_goes_with_the_decision_and_is_kept_when_deciding_again(run, store):
    decide(run, store, 1, "new", name="  Day   centre hours ", definition="When the centre is open.")
    decide(run, store, 1, None, memo="ask about weekends")
    decide(run, store, 1, "rejected")
    (current,) = load_decisions(store)
    assert current.status == "rejected" and current.memo == "ask about weekends"
    events = [json.loads(line) for line in store.read_text().splitlines()]
    assert events[0]["name"] == "Day centre hours" and events[1]["status"] == "new"


def test_a_new_memo_says_which_one_it_replaces(run, store):
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    first = themes("decide", run, "1", "--reject", "--memo", "small talk", env=env)
    assert first.returncode == 0 and "replaces" not in first.stderr
    second = themes("decide", run, "1", "--memo", "about   the weather", env=env)
    assert second.returncode == 0, second.stderr
    assert "note: this memo replaces “small talk” (still in the store's earlier lines)" in second.stderr
    kept = themes("decide", run, "1", "--reject", env=env)  # no new memo: the memo stays, nothing to say
    assert kept.returncode == 0 and "replaces" not in kept.stderr and "memo: about the weather" in kept.stdout


def test_undo_takes_a_decision_back_and_a_carried_one_does_not_return(tmp_path, run, store):
    from pipeline.decisions import match_decisions

    with pytest.raises(ThemesError, match=r"\(cluster 0\): the cluster is undecided already"):
        decide(run, store, 0, "undecided")
    decide(run, store, 0, "accepted", memo="first thoughts")
    decide(run, store, 0, "undecided")
    folder = read_run(run)
    applied, orphaned = match_decisions(folder.run, folder.clusters, load_decisions(store))
    assert 0 not in applied and orphaned == []
    assert codebook(run, store)["undecided"] == [0, 1, 2]
    # A rerun: cluster 1, accepted on the first run, shows that decision carried; taking it back
    # there leaves it undecided, and the first run's decision does not come back.
    decide(run, store, 1, "rejected")
    rerun = write_review_run(tmp_path / "rerun", {0: range(0, 6), 1: range(6, 10), 2: range(10, 14)},
                             overrides={"clustering": {"min_cluster_size": 5}})
    assert match_decisions(read_run(rerun).run, read_run(rerun).clusters, load_decisions(store))[0][1]["carried"]
    undone = decide(rerun, store, 1, "undecided")
    assert undone.replaces == f"{folder.run}:1" and undone.memo is None
    applied, orphaned = match_decisions(read_run(rerun).run, read_run(rerun).clusters, load_decisions(store))
    assert 1 not in applied and 0 not in applied and orphaned == []


def test_no_taxonomy_run_asks_for_names(tmp_path, store):
    run = write_review_run(tmp_path / "inductive", GROUPS, taxonomy="none")
    with pytest.raises(ThemesError, match="no taxonomy"):
        decide(run, store, 0, "accepted")
    decide(run, store, 0, "new", name="Sleep")
    assert load_decisions(store)[0].name == "Sleep"


def test_cli_decide_show_and_codebook(run, store):
    env = {**os.environ, "THEMES_DECISIONS": str(store), "THEMES_AUTHOR": "Ana"}
    accepted = themes("decide", run, 0, "--accept", env=env)
    assert accepted.returncode == 0, accepted.stderr
    other = read_run(run).cluster(1)["suggestions"][1]["code_id"]
    assert themes("decide", run, 1, "--accept", other, "--memo", "second suggestion fits", env=env).returncode == 0
    assert themes("decide", run, 2, "--merge", 1, env=env).returncode == 0
    refused = themes("decide", run, 2, "--accept", "--reject", env=env)
    assert refused.returncode == 2 and refused.stderr.startswith("error: choose one of")
    assert themes("decide", run, 2, "--undo", "--memo", "x", env=env).returncode == 2
    missing = themes("decide", run, 9, "--reject", env=env)
    assert missing.returncode == 2 and "no such cluster" in missing.stderr and "Traceback" not in missing.stderr

    shown = themes("decisions", "show", "--json", env=env)
    assert [d["cluster_id"] for d in json.loads(shown.stdout)] == [0, 1, 2]  # before the undo below
    assert {d["author"] for d in json.loads(shown.stdout)} == {"Ana"}
    per_run = json.loads(themes("decisions", "show", "--run", run, "--json", env=env).stdout)
    assert [c["decision"]["status"] for c in per_run["clusters"]] == ["accepted", "accepted", "merged"]

    undone = themes("decide", run, 0, "--undo", env=env)
    assert undone.returncode == 0 and "cluster 0: taken back: undecided" in undone.stdout
    assert themes("decide", run, 0, "--accept", env=env).returncode == 0  # and decided again

    book = json.loads(themes("codebook", run, "--json", env=env).stdout)
    by_code = {t["code_id"]: t for t in book["themes"]}
    assert by_code[other]["clusters"] == [1, 2] and by_code[other]["members"] == 8  # the merge counts
    assert by_code[other]["definition"] and by_code[other]["memos"] == ["cluster 1: second suggestion fits"]
    text = themes("codebook", run, env=env).stdout
    assert "Accepted codes (2)" in text and f"{other} — " in text


def download_file(tmp_path, run, decisions):
    path = tmp_path / "download.json"
    path.write_text(json.dumps({"format": "themes-decisions", "version": 1, "run": read_run(run).run,
                                "exported": "2026-01-31T12:00:00.000Z", "decisions": decisions}))
    return path


def page_decision(run, cluster_id, **fields):
    """A decision as the static page records it."""
    folder = read_run(run)
    values = {"cluster_key": f"{folder.run}:{cluster_id}", "run": folder.run, "cluster_id": cluster_id,
              "status": "rejected", "code_id": None, "name": None, "definition": None, "merge_into": None,
              "memo": None, "segment_ids": folder.cluster(cluster_id)["members"], "author": "Ana",
              "timestamp": "2026-01-31T12:00:00.000Z", "merge_segment_ids": [], "replaces": None}
    values.update(fields)
    return values


def test_import_of_a_downloaded_file_is_checked_and_idempotent(run, store, tmp_path):
    file = download_file(tmp_path, run, [page_decision(run, 0), page_decision(run, 1, status="new", name="Hours")])
    result = import_decisions(file, store, run)
    assert (result.imported, result.unchanged, result.checked_against) == (2, 0, run)
    again = import_decisions(file, store, run)
    assert (again.imported, again.unchanged) == (0, 2)
    assert len(store.read_text().splitlines()) == 2


def test_import_refuses_unknown_clusters_and_writes_nothing(run, store, tmp_path):
    bad = {**page_decision(run, 0), "cluster_id": 7, "cluster_key": f"{read_run(run).run}:7"}
    file = download_file(tmp_path, run, [page_decision(run, 1), bad])
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    result = themes("decisions", "import", file, "--run", run, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {file} (decisions[1].cluster_id): cluster 7 is not in run "
                                     f"{read_run(run).run} ({run})")
    assert not store.exists()


def test_import_names_broken_fields(run, store, tmp_path):
    file = download_file(tmp_path, run, [page_decision(run, 0, status="perhaps")])
    with pytest.raises(ThemesError, match=r"\(decisions\[0\]\.status\)"):
        import_decisions(file, store, run)
    file.write_text('{"format": "themes-decisions",\n "version": 1,,}')
    with pytest.raises(ThemesError, match=r"download.json:2: not JSON"):
        import_decisions(file, store, run)


# --- the review server ---------------------------------------------------------------------

def serving(run, store):
    server = ReviewServer(run, store, author="Ana")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server(run, store):
    server = serving(run, store)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def untouched_server(tmp_path_factory):
    """One server for the refusal tests, whose store must stay absent."""
    root = tmp_path_factory.mktemp("refusals")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("THEMES_DECISIONS", str(root / "decisions.jsonl"))
        server = serving(write_review_run(root / "run", GROUPS), root / "decisions.jsonl")
    yield server
    server.shutdown()
    server.server_close()


def request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, payload


def test_server_serves_the_report_and_saves_each_decision(server, store):
    base = f"/{server.token}/"
    status, page = request(server, "GET", base)
    assert status == 200 and b"connect-src 'self'" in page and b"report-data" in page
    code = server.folder.cluster(0)["suggestions"][1]["code_id"]
    status, state = request(server, "POST", base + "api/decisions", {"cluster_id": 0, "status": "accepted", "code_id": code},
                            {"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 200 and json.loads(state)["decisions"]["0"]["code_id"] == code
    assert [(d.cluster_id, d.code_id, d.author) for d in load_decisions(store)] == [(0, code, "Ana")]
    status, state = request(server, "GET", base + "api/state")
    assert json.loads(state)["decisions"]["0"]["status"] == "accepted"
    status, state = request(server, "POST", base + "api/decisions", {"cluster_id": 0, "status": "undecided"},
                            {"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 200 and "0" not in json.loads(state)["decisions"]
    assert [d.status for d in load_decisions(store)] == ["undecided"]


@pytest.mark.parametrize("method, path, headers, expected", [
    ("GET", "/", {}, 403),
    ("GET", "/wrong-token/", {}, 403),
    ("GET", "/{token}/../../etc/passwd", {}, 400),
    ("GET", "/{token}/%2e%2e/clusters.json", {}, 400),
    ("GET", "/{token}/clusters.json", {}, 404),
    ("GET", "/{token}/", {"Host": "evil.example:80"}, 403),
    ("POST", "/{token}/api/decisions", {"Origin": "http://evil.example"}, 403),
    ("POST", "/{token}/api/decisions", {"Content-Type": "text/plain"}, 415),
    ("DELETE", "/{token}/api/decisions", {}, 405),
])
def test_server_refuses_strangers(untouched_server, method, path, headers, expected):
    server = untouched_server
    body = {"cluster_id": 0, "status": "rejected"} if method == "POST" else None
    status, _ = request(server, method, path.format(token=server.token), body, headers)
    assert status == expected
    assert not server.store.exists()


def test_server_answers_a_bad_decision_with_its_reason(server, store):
    status, payload = request(server, "POST", f"/{server.token}/api/decisions", {"cluster_id": 0, "status": "new"})
    # Shown under its cluster: without the run folder's path or the cluster's number.
    assert status == 400 and json.loads(payload)["error"] == "a new theme needs a name"
    status, payload = request(server, "POST", f"/{server.token}/api/decisions",
                              {"cluster_id": 0, "status": "merged", "merge_into": 42})
    assert status == 400 and json.loads(payload)["error"].startswith("(cluster 42): no such cluster")  # not cluster 0's
    status, payload = request(server, "POST", f"/{server.token}/api/decisions", {"cluster_id": "0; drop"})
    assert status == 400
    assert not store.exists()


def test_a_run_folder_made_again_under_the_server_is_refused_not_decided_on(server, run, store):
    """A rerun into the folder may give other clusters under the same ids than the page shows."""
    before = server.folder.run
    clusters = run / "clusters.json"  # written again, the same run: decisions still go through
    text = clusters.read_text(encoding="utf-8")
    clusters.unlink()
    clusters.write_text(text, encoding="utf-8")
    status, _ = request(server, "POST", f"/{server.token}/api/decisions", {"cluster_id": 1, "status": "rejected"},
                        {"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 200 and [d.cluster_id for d in load_decisions(store)] == [1]
    write_review_run(run, {0: range(0, 5), 1: range(5, 14)})  # other clusters, into the same folder
    assert read_run(run).run != before
    status, payload = request(server, "POST", f"/{server.token}/api/decisions", {"cluster_id": 0, "status": "rejected"},
                              {"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 400 and json.loads(payload)["error"].startswith("the run folder has been made again (run ")
    assert "stop `themes review` and start it again" in json.loads(payload)["error"]
    assert [d.cluster_id for d in load_decisions(store)] == [1]  # nothing more was saved


def test_review_command_prints_url_and_stops_cleanly_on_ctrl_c(run, store):
    process, url = start_review(run, {**os.environ, "THEMES_DECISIONS": str(store)})
    try:
        host, path = url.removeprefix("http://").split("/", 1)
        connection = http.client.HTTPConnection(host, timeout=10)
        connection.request("GET", "/" + path)
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        stderr = stop_review(process)
    assert process.returncode == 0, stderr
    assert "review stopped" in stderr and "Traceback" not in stderr


def test_codebook_counts_new_themes_and_lists_the_rest(run, store):
    decide(run, store, 0, "new", name="Sleep", definition="Talk of sleep.")
    decide(run, store, 2, "merged", merge_into=0)
    decide(run, store, 1, "rejected")
    book = codebook(run, store)
    assert [(t["kind"], t["name"], t["clusters"], t["members"]) for t in book["themes"]] == [("new", "Sleep", [0, 2], 10)]
    assert book["rejected"] == [1] and book["undecided"] == []


def test_codebook_keeps_the_memos_of_clusters_in_no_theme(run, store):
    from pipeline.review import format_codebook

    decide(run, store, 0, "new", name="Sleep")
    decide(run, store, 2, "merged", merge_into=0, memo="same talk as 0")
    decide(run, store, 1, "rejected", memo="small talk")
    decide(run, store, 0, "undecided")  # the merge target taken back: cluster 2 is in no theme now
    book = codebook(run, store)
    assert book["themes"] == [] and book["undecided"] == [0, 2] and book["rejected"] == [1]
    assert [(m["cluster_id"], m["memo"]) for m in book["memos"]] == [(1, "small talk"), (2, "same talk as 0")]
    text = format_codebook(book)
    assert "cluster 1, rejected (not a theme): small talk" in text and "cluster 2, merged into cluster 0: same talk as 0" in text


def test_docs_describe_every_command_option_and_store_field():
    doc = (ROOT / "docs" / "review.md").read_text(encoding="utf-8")
    for command in ("themes review", "themes decide", "themes decisions show", "themes decisions import",
                    "themes codebook"):
        assert command in doc, command
    decide_help = themes("decide", "--help").stdout
    for option in ("--accept", "--reject", "--new", "--definition", "--merge", "--memo", "--author", "--undo"):
        assert option in doc and option in decide_help, option
    for name in [f.name for f in dataclasses.fields(Decision)] + ["v"]:
        assert f"`{name}`" in doc, name


def test_decide_refuses_a_broken_store_and_leaves_it_alone(run, store):
    store.write_text('{"v": 1}\nnot json\n', encoding="utf-8")
    result = themes("decide", run, 0, "--reject", env={**os.environ, "THEMES_DECISIONS": str(store)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {store}:1 (")  # the first broken line, by number
    assert store.read_text(encoding="utf-8") == '{"v": 1}\nnot json\n'


# --- two writers at once ------------------------------------------------------------------

def hold_after_read(monkeypatch):
    """From now on, the first read of the store stops right after it: until the test says
    ``go_on`` (or 2 s pass), the decision being made from it is neither built nor appended.
    A second writer decides meanwhile; whichever appends first, the other must build on what
    it appended, not on what it read before."""
    import pipeline.decisions as decisions_module

    read, go_on = threading.Event(), threading.Event()
    real_parse = decisions_module.parse_store

    def parse_and_hold(data, path):
        state = real_parse(data, path)
        if not read.is_set():
            read.set()
            go_on.wait(2)
        return state

    monkeypatch.setattr(decisions_module, "parse_store", parse_and_hold)
    return read, go_on


def in_thread(action):
    """Start ``action`` in a thread; the returned join() re-raises what it raised."""
    outcome = {}

    def target():
        try:
            outcome["value"] = action()
        except BaseException as err:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def join():
        thread.join(30)
        assert not thread.is_alive()
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")
    return join


@pytest.mark.parametrize("first, second", [("memo", "accept"), ("accept", "memo")])
def test_a_memo_and_a_decision_at_the_same_time_both_count(run, store, monkeypatch, first, second):
    code = read_run(run).cluster(1)["suggestions"][0]["code_id"]
    decide(run, store, 1, "rejected")
    ways = {"memo": lambda: decide(run, store, 1, None, memo="note"),
            "accept": lambda: decide(run, store, 1, "accepted")}
    read, go_on = hold_after_read(monkeypatch)
    join = in_thread(ways[first])
    assert read.wait(10)
    ways[second]()  # waits for the first to append, then builds on it
    go_on.set()
    join()
    (current,) = load_decisions(store)
    assert (current.status, current.code_id, current.memo) == ("accepted", code, "note")


def test_the_review_page_and_the_command_line_at_the_same_time_lose_nothing(server, store, monkeypatch):
    run = server.folder.path
    decide(run, store, 1, "rejected")
    api, origin = f"/{server.token}/api/decisions", {"Origin": f"http://127.0.0.1:{server.port}"}
    read, go_on = hold_after_read(monkeypatch)
    join = in_thread(lambda: request(server, "POST", api, {"cluster_id": 1, "memo": "note"}, origin))
    assert read.wait(10)
    decide(run, store, 1, "accepted")
    go_on.set()
    status, _ = join()
    assert status == 200
    (current,) = load_decisions(store)
    assert (current.status, current.memo) == ("accepted", "note")

    read, go_on = hold_after_read(monkeypatch)  # and the other way round
    join = in_thread(lambda: decide(run, store, 1, None, memo="second note"))
    assert read.wait(10)
    status, state = request(server, "POST", api, {"cluster_id": 1, "status": "rejected"}, origin)
    go_on.set()
    join()
    assert status == 200 and json.loads(state)["decisions"]["1"]["status"] == "rejected"
    (current,) = load_decisions(store)
    assert (current.status, current.memo) == ("rejected", "second note")


def test_the_same_file_imported_twice_at_once_is_added_once(run, store, tmp_path, monkeypatch):
    file = download_file(tmp_path, run, [page_decision(run, 0), page_decision(run, 1, status="new", name="Hours")])
    decide(run, store, 2, "rejected")
    read, go_on = hold_after_read(monkeypatch)
    join = in_thread(lambda: import_decisions(file, store, run))
    assert read.wait(10)
    second = import_decisions(file, store, run)
    go_on.set()
    first = join()
    assert sorted([(first.imported, first.unchanged), (second.imported, second.unchanged)]) == [(0, 2), (2, 0)]
    assert len(store.read_text().splitlines()) == 3


def _memo_writer(run, store, count):
    for i in range(count):
        decide(run, store, 1, None, memo=f"note {i}", author="memo")


def _chooser(run, store, count):
    for i in range(count):
        decide(run, store, 1, "rejected" if i % 2 else "accepted", author="chooser")


def test_two_processes_deciding_on_one_cluster_lose_no_update(run, store):
    import multiprocessing

    decide(run, store, 1, "rejected", memo="start")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=target, args=(run, store, 25)) for target in (_memo_writer, _chooser)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    events = [json.loads(line) for line in store.read_text().splitlines()]
    assert len(events) == 51
    # Each event changed only its own part of the decision and kept the rest as the line
    # before it left it: a memo keeps the choice, a choice keeps the memo.
    for before, event in zip(events, events[1:]):
        kept = ("status", "code_id") if event["author"] == "memo" else ("memo",)
        assert [event[k] for k in kept] == [before[k] for k in kept], (before, event)
    (current,) = load_decisions(store)
    assert (current.status, current.memo) == ("accepted", "note 24")


def test_a_store_that_cannot_be_written_still_answers_what_needs_no_writing(run, store, tmp_path, monkeypatch):
    import pipeline.decisions as decisions_module

    file = download_file(tmp_path, run, [page_decision(run, 0)])
    import_decisions(file, store, run)

    def read_only(path):
        raise ThemesError(f"{path}: cannot write the decision store (Read-only file system)")

    monkeypatch.setattr(decisions_module, "_locked", read_only)
    again = import_decisions(file, store, run)  # nothing new: nothing to write
    assert (again.imported, again.unchanged) == (0, 1)
    with pytest.raises(ThemesError, match="no such cluster"):  # the mistake, not the store, is named
        decide(run, store, 9, "rejected")
    with pytest.raises(ThemesError, match="Read-only file system"):
        decide(run, store, 1, "rejected")


# --- text that cannot be stored, line ends, codes of imports, stops mid-save -------------------

def test_broken_text_is_refused_in_one_line_everywhere(run, store, tmp_path):
    half_emoji = "tired \ud83d"  # a lone surrogate: what a cut-off paste can leave
    with pytest.raises(ThemesError, match=r"\(memo\): holds a broken character"):
        decide(run, store, 0, "rejected", memo=half_emoji)
    file = download_file(tmp_path, run, [page_decision(run, 0, author="Ana \udcff")])
    with pytest.raises(ThemesError, match=r"\(decisions\[0\]\.author\): holds a broken character"):
        import_decisions(file, store, run)
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    # A byte that is not UTF-8 in an argument (Python keeps it as a lone surrogate).
    result = themes("decide", run, "0", "--reject", "--memo", os.fsdecode(b"bad byte \xff here"), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "(memo): holds a broken character" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert load_decisions(store) == []


def test_a_control_character_in_a_name_or_an_author_is_refused_in_one_line_everywhere(run, store, tmp_path):
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    control = "holds a control character (U+0001), which a project or document cannot hold; type it again"
    result = themes("decide", run, "0", "--reject", "--author", "Ana\x01B", env=env)
    assert result.returncode == 2 and result.stderr == f"error: --author: {control}\n"
    result = themes("decide", run, "0", "--reject", env={**env, "THEMES_AUTHOR": "Ana\x01B"})
    assert result.returncode == 2 and result.stderr == f"error: THEMES_AUTHOR: {control}\n"
    result = themes("decide", run, "0", "--new", "Wait\x85ing", env=env)  # C1 too
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "(name): holds a control character (U+0085)" in result.stderr
    assert not store.exists()
    with pytest.raises(ThemesError, match=r"^--author: holds a control character \(U\+007F\)"):
        ReviewServer(run, store, "Ana\x7f")
    file = download_file(tmp_path, run, [page_decision(run, 0, status="new", name="Wait\x1bing")])
    with pytest.raises(ThemesError, match=r"\(decisions\[0\]\.name\): holds a control character \(U\+001B\)"):
        import_decisions(file, store, run)
    # Memos and definitions keep their line breaks and tabs; a name's are evened out to spaces.
    made = decide(run, store, 0, "new", name="Waiting\ttimes", definition="a\tb\nc", memo="x\ty\nz",
                  author="Ana\n B")
    assert (made.name, made.definition, made.memo, made.author) == ("Waiting times", "a\tb\nc", "x\ty\nz", "Ana B")
    # A line already in the store, saved before names were checked, stays readable: one such
    # line must not stop every command of the project. Nothing new is written with one.
    line = json.loads(store.read_text())
    store.write_text(json.dumps({**line, "author": "Ana\u0001B", "name": "Wait\u0085ing"}) + "\n")
    (kept,) = load_decisions(store)
    assert (kept.author, kept.name) == ("Ana\x01B", "Wait\x85ing")
    assert themes("decisions", "show", env=env).returncode == 0
    result = themes("decide", run, "1", "--reject", "--author", "Ana\x01B", env=env)
    assert result.returncode == 2 and control in result.stderr


def test_the_server_refuses_a_control_character_in_a_name_or_the_pages_author(server, store):
    api = f"/{server.token}/api/decisions"
    status, payload = request(server, "POST", api, {"cluster_id": 0, "status": "rejected", "author": "Ana\x01"})
    assert status == 400 and json.loads(payload)["error"].startswith("(author): holds a control character (U+0001)")
    status, payload = request(server, "POST", api, {"cluster_id": 0, "status": "new", "name": "Wait\x9bing"})
    assert status == 400 and "(name): holds a control character (U+009B)" in json.loads(payload)["error"]
    assert load_decisions(store) == []


@pytest.mark.parametrize("suggestion", [{"label": "no code"}, {"code_id": 7}])
def test_a_suggestion_without_a_code_is_one_line_from_every_command(run, store, suggestion):
    clusters = run / "clusters.json"
    document = json.loads(clusters.read_text())
    document["clusters"][0]["suggestions"] = [suggestion]
    clusters.write_text(json.dumps(document))
    said = f"error: {clusters}: not a clusters.json written by themes (cluster 0: every suggestion needs a code_id)\n"
    env = {**os.environ, "THEMES_DECISIONS": str(store)}
    for command in (["decide", run, "1", "--reject"], ["codebook", run], ["review", run],
                    ["decisions", "show", "--run", run], ["export", run, "-f", "csv", "-o", run.parent / "x.csv"]):
        result = themes(*command, env=env, timeout=60)
        assert (result.returncode, result.stderr) == (2, said), command
    assert not store.exists()


def test_server_answers_broken_text_and_huge_numbers_and_goes_on(server, store):
    api = f"/{server.token}/api/decisions"
    status, payload = request(server, "POST", api, {"cluster_id": 0, "status": "rejected", "memo": "a\ud800b"})
    assert status == 400 and json.loads(payload)["error"].startswith("decision on cluster 0 (memo): holds a broken")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", api, body='{"cluster_id": ' + "9" * 5000 + "}",
                       headers={"Content-Type": "application/json"})
    assert connection.getresponse().status == 400
    connection.close()
    assert request(server, "POST", api, {"cluster_id": 0, "status": "rejected"})[0] == 200


def test_memos_keep_one_kind_of_line_end(run, store):
    decide(run, store, 0, "rejected", memo="line one\r\nline two\rline three\r\n")
    (current,) = load_decisions(store)
    assert current.memo == "line one\nline two\nline three"  # as the page's text box gives it back


def test_import_refuses_a_code_the_runs_taxonomy_lacks(run, store, tmp_path):
    file = download_file(tmp_path, run, [page_decision(run, 0, status="accepted", code_id="no.such.code")])
    with pytest.raises(ThemesError, match=r"\(decisions\[0\]\.code_id\): 'no.such.code' is not a code of the taxonomy"):
        import_decisions(file, store, run)
    assert not store.exists()


def test_ctrl_c_waits_for_a_decision_being_saved(server, store, monkeypatch):
    """Ctrl-C while the store is busy (another command writing): the save in flight finishes
    before the server stops, and serve() says how many did not."""
    from pipeline.review import serve

    read, go_on = hold_after_read(monkeypatch)
    api, origin = f"/{server.token}/api/decisions", {"Origin": f"http://127.0.0.1:{server.port}"}
    join = in_thread(lambda: request(server, "POST", api, {"cluster_id": 0, "status": "rejected"}, origin))
    assert read.wait(10)
    assert server.finish_saves(0.1) == 1  # still being written
    server.shutdown()  # the fixture's serving thread; from here on, serving is "interrupted"

    def ctrl_c():
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve_forever", ctrl_c)
    threading.Timer(0.3, go_on.set).start()
    assert serve(server, wait=10) == 0
    assert join()[0] == 200
    assert load_decisions(store)[0].status == "rejected"


def test_open_passes_no_token_on_the_browsers_command_line(run, store, monkeypatch):
    import webbrowser

    from pipeline.review import open_in_browser

    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    folder = open_in_browser("http://127.0.0.1:4242/SECRET-token/")
    (url,) = opened
    assert "SECRET" not in url and url.startswith("file://")
    page = folder / "open.html"
    assert 'content="0;url=http://127.0.0.1:4242/SECRET-token/"' in page.read_text()
    assert (page.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (0o600, 0o700)


def test_a_decision_store_inside_a_run_folder_is_refused(tmp_path, run, monkeypatch, fake_embedder):
    """A rerun replaces the run folder: a store inside it would go with it."""
    from pipeline.config import load_config
    from pipeline.runner import execute

    from conftest import FIXTURES

    inside = tmp_path / "run2" / "decisions.jsonl"
    monkeypatch.setenv("THEMES_DECISIONS", str(inside))
    config = load_config(overrides={"input": {"paths": [str(FIXTURES / "small")]}, "taxonomy": "none",
                                    "output": {"dir": str(tmp_path / "run2")}})
    with pytest.raises(ThemesError, match=r"^decisions.path: .* is inside the run folder .*run2, which a rerun"):
        execute(config, embedder=fake_embedder)
    assert not (tmp_path / "run2").exists()
    result = themes("decide", run, "0", "--reject", env={**os.environ, "THEMES_DECISIONS": str(run / "d.jsonl")})
    assert result.returncode == 2 and "is inside the run folder" in result.stderr
    assert not (run / "d.jsonl").exists()


def test_an_import_never_brings_back_a_decision_replaced_since(run, store, tmp_path):
    """Rejected in the page at noon, accepted on the command line later: importing the page's
    file keeps the acceptance."""
    file = download_file(tmp_path, run, [page_decision(run, 1, timestamp="2026-01-31T12:00:00.000Z"),
                                         page_decision(run, 2, timestamp="2026-01-31T12:00:00.000Z")])
    decide(run, store, 1, "accepted")  # now: later than noon
    result = import_decisions(file, store, run)
    assert (result.imported, result.unchanged, result.superseded) == (1, 0, 1)
    current = {d.cluster_id: d.status for d in load_decisions(store)}
    assert current == {1: "accepted", 2: "rejected"}


def test_import_compares_times_not_their_notation(run, store, tmp_path):
    decide(run, store, 1, "accepted")
    (stored,) = load_decisions(store)
    # The same clock time with an offset of +23:59: almost a day earlier than the stored one.
    earlier = stored.timestamp[:19] + "+23:59"
    file = download_file(tmp_path, run, [page_decision(run, 1, timestamp=earlier)])
    result = import_decisions(file, store, run)
    assert (result.imported, result.superseded) == (0, 1)
