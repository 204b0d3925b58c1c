"""The decision store (append-only, locked, never rewritten) and carry-forward across runs."""

import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
import sys

import pytest

from pipeline.config import load_config
from pipeline.decisions import (CARRY_THRESHOLD, Decision, append_decision, decisions_for_run, load_decisions,
                                match_decisions, orphaned_decisions, read_store, store_path)
from pipeline.errors import ThemesError
from pipeline.review import decide

from conftest import ROOT, write_review_run


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    path = tmp_path / "decisions" / "decisions.jsonl"
    monkeypatch.setenv("THEMES_DECISIONS", str(path))
    return path


def decision(cluster_id=0, run="r1", status="rejected", segments=("a#1.1", "a#2.1"), **fields):
    values = {"code_id": "c.x" if status == "accepted" else None, "name": "Sleep" if status == "new" else None,
              "merge_into": 9 if status == "merged" else None}
    values.update(fields)
    return Decision(cluster_key=f"{run}:{cluster_id}", run=run, cluster_id=cluster_id, status=status,
                    segment_ids=tuple(segments), author="tester", timestamp="2026-01-31T12:00:00.000Z", **values)


def test_decision_has_the_agreed_fields():
    names = [f.name for f in dataclasses.fields(Decision)]
    assert names[:12] == ["cluster_key", "run", "cluster_id", "status", "code_id", "name", "definition",
                          "merge_into", "memo", "segment_ids", "author", "timestamp"]


def test_append_then_load_round_trips(store):
    first = decision(0, status="accepted", code_id="barrier.x", memo="line one\nline two <b>&")
    second = decision(1, status="new", name="Sleep", definition="Talk about sleep")
    append_decision(store, first)
    append_decision(store, second)
    assert load_decisions(store) == [first, second]
    lines = store.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(line)["v"] == 1 for line in lines)


def test_last_event_per_cluster_wins_and_history_is_kept(store):
    append_decision(store, decision(0, status="accepted"))
    append_decision(store, decision(1))
    append_decision(store, decision(0, status="rejected", memo="changed my mind"))
    current = load_decisions(store)
    assert [(d.cluster_id, d.status) for d in current] == [(1, "rejected"), (0, "rejected")]
    assert len(read_store(store).events) == 3


def test_missing_store_is_empty_and_a_folder_is_refused(tmp_path):
    assert load_decisions(tmp_path / "none.jsonl") == []
    with pytest.raises(ThemesError, match="is a folder"):
        load_decisions(tmp_path)


@pytest.mark.parametrize("line, fragment", [
    ("this is not json", ":2: not a JSON object"),
    ('["a list"]', ":2: not a JSON object"),
    ('{"v": 1, "oops": true}', ":2 ("),
])
def test_broken_line_names_file_and_line_and_store_is_never_rewritten(store, line, fragment):
    append_decision(store, decision(0))
    with open(store, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    append_before = store.read_bytes()
    with pytest.raises(ThemesError) as err:
        load_decisions(store)
    assert str(store) + fragment in str(err.value)
    assert "by hand" in str(err.value)
    append_decision(store, decision(1))  # appending never touches the lines before
    assert store.read_bytes().startswith(append_before)
    with pytest.raises(ThemesError, match=":2"):
        load_decisions(store)


def test_hand_edit_with_wrong_value_names_the_key(store):
    append_decision(store, decision(0))
    text = store.read_text(encoding="utf-8").replace('"rejected"', '"maybe"')
    store.write_text(text, encoding="utf-8")
    with pytest.raises(ThemesError, match=r"decisions.jsonl:1 \(status\)"):
        load_decisions(store)


def test_torn_last_line_is_reported_kept_aside_and_never_dropped(store):
    append_decision(store, decision(0))
    line = (store.read_bytes())
    store.write_bytes(line + line[: len(line) // 2])  # a writer killed half-way through its line
    state = read_store(store)
    assert [d.cluster_id for d in state.decisions] == [0]
    assert state.torn_tail and "decisions.jsonl:2" in state.torn_tail
    append_decision(store, decision(1))
    assert [d.cluster_id for d in load_decisions(store)] == [0, 1]
    torn = store.with_name("decisions.jsonl.torn").read_bytes()
    assert torn == line[: len(line) // 2] + b"\n"


def test_complete_last_line_without_newline_is_a_decision(store):
    append_decision(store, decision(0))
    store.write_bytes(store.read_bytes().rstrip(b"\n"))  # saved by an editor without a final newline
    assert read_store(store).torn_tail is None
    append_decision(store, decision(1))
    assert [d.cluster_id for d in load_decisions(store)] == [0, 1]


def test_a_broken_hand_edit_saved_without_a_final_newline_is_an_error_not_a_torn_write(tmp_path, store):
    run = write_review_run(tmp_path / "run", {0: range(0, 6)})
    append_decision(store, decision(0))
    append_decision(store, decision(1))
    edited = store.read_bytes().rstrip(b"\n")
    edited = edited[: edited.rindex(b"\n")] + edited[edited.rindex(b"\n"):].replace(b'"rejected"', b'"Accepted"')
    store.write_bytes(edited)  # an editor that drops the final newline
    with pytest.raises(ThemesError, match=r"decisions.jsonl:2 \(status\): .* by hand"):
        read_store(store)
    with pytest.raises(ThemesError, match=r"decisions.jsonl:2 \(status\)"):
        decide(run, store, 0, "rejected")
    assert store.read_bytes() == edited  # refused: the line is neither cut nor followed
    assert not store.with_name("decisions.jsonl.torn").exists()
    append_decision(store, decision(2))  # a write that does not read keeps the line too
    assert store.read_bytes().startswith(edited + b"\n")
    assert not store.with_name("decisions.jsonl.torn").exists()
    with pytest.raises(ThemesError, match=r"decisions.jsonl:2 \(status\)"):
        read_store(store)


def test_a_hand_edit_that_breaks_a_long_last_line_is_an_error_not_a_torn_write(tmp_path, store):
    """A closing quote deleted in the middle of a line that still ends in ``}``, saved without
    a final newline: not what a killed writer leaves, so every command stops on it."""
    run = write_review_run(tmp_path / "run", {0: range(0, 6)})
    append_decision(store, decision(0))
    append_decision(store, decision(3, status="accepted", memo="key decision, 2h of discussion",
                                    segments=[f"a#{i}.1" for i in range(60)]))
    edited = store.read_bytes().rstrip(b"\n").replace(b'discussion"', b"discussion", 1)
    store.write_bytes(edited)
    with pytest.raises(ThemesError, match=r"decisions.jsonl:2: not a JSON object .* by hand"):
        read_store(store)
    with pytest.raises(ThemesError, match=r"decisions.jsonl:2: not a JSON object"):
        decide(run, store, 0, "rejected")
    assert store.read_bytes() == edited and not store.with_name("decisions.jsonl.torn").exists()


def test_every_cut_of_a_line_as_themes_writes_it_is_a_torn_write_and_nothing_else_is():
    from pipeline.decisions import encode_decision, parse_store

    written = decision(4, status="accepted", memo='émoji 🎉 "quoted" \\ back\x01\ttab\nline', merge_into=None,
                       segments=("a#1.1", "ü#2.1"), replaces="r0:1")
    first, line = encode_decision(decision(0)), encode_decision(written).rstrip(b"\n")
    for cut in range(1, len(line)):  # a writer killed after any byte of its line
        state = parse_store(first + line[:cut], store)
        assert state.torn_tail and [d.cluster_id for d in state.decisions] == [0], line[:cut]
    assert parse_store(first + line, store).decisions[-1] == written
    for edit in (line.replace(b'"accepted"', b'"accepted', 1), line.replace(b",", b", ", 1)[:-1],
                 line[:-1] + b"x}", b'{"v": 1, "cluster_key": "r1:4"'):
        with pytest.raises(ThemesError, match=":2"):
            parse_store(first + edit, store)


def test_deciding_after_a_complete_last_line_without_newline_adds_the_newline(tmp_path, store):
    run = write_review_run(tmp_path / "run", {0: range(0, 6)})
    decide(run, store, 0, "rejected")
    first = store.read_bytes().rstrip(b"\n")
    store.write_bytes(first)
    decide(run, store, 0, None, memo="noise")
    lines = store.read_bytes().split(b"\n")
    assert lines[0] == first and len(lines) == 3 and lines[2] == b""
    assert [(d.status, d.memo) for d in read_store(store).events] == [("rejected", None), ("rejected", "noise")]


def test_a_command_waiting_for_the_stores_lock_says_so_once_then_goes_on(tmp_path, store):
    import fcntl
    import select
    import time

    from conftest import THEMES

    run = write_review_run(tmp_path / "run", {0: range(0, 6)})
    append_decision(store, decision(0))
    holder = open(store, "ab")
    fcntl.flock(holder, fcntl.LOCK_EX)  # another command is writing (or is stuck)
    process = subprocess.Popen([*THEMES, "decide", str(run), "0", "--reject"], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "THEMES_DECISIONS": str(store)})
    try:
        said = select.select([process.stderr], [], [], 30)[0] and process.stderr.readline()
        time.sleep(0.5)
        assert process.poll() is None  # it goes on waiting, as the docs say
    finally:
        holder.close()  # the other command finishes
    out, err = process.communicate(timeout=60)
    assert said == f"waiting for another themes command to finish with the decision store {store} (Ctrl-C stops)\n"
    assert process.returncode == 0 and "cluster 0: rejected" in out and err == "", err


def test_threads_waiting_for_the_stores_lock_say_so_once(store, monkeypatch, capsys):
    """The review server's page polls and saves in threads: one notice for them all."""
    import fcntl
    import threading
    import time

    import pipeline.decisions

    monkeypatch.setattr(pipeline.decisions, "LOCK_NOTICE_AFTER", 0.1)
    append_decision(store, decision(0))
    with open(store, "ab") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        readers = [threading.Thread(target=read_store, args=(store,)) for _ in range(3)]
        for reader in readers:
            reader.start()
        time.sleep(1)
    for reader in readers:
        reader.join(10)
        assert not reader.is_alive()
    assert capsys.readouterr().err.count("waiting for another themes command") == 1


def _writer(path, worker, count):
    for i in range(count):
        append_decision(path, decision(worker * 1000 + i, run=f"w{worker}", segments=[f"s#{i}.{k}" for k in range(50)]))


def test_concurrent_writers_lose_no_decision(store):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(store, w, 40)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0
    decisions = load_decisions(store)
    assert len(decisions) == 160
    assert {d.cluster_key for d in decisions} == {f"w{w}:{w * 1000 + i}" for w in range(4) for i in range(40)}


KILLED_WRITER = """
import os, signal, sys
from pipeline.decisions import Decision, append_decision

def decision(i):
    return Decision(f"r:{i}", "r", i, "rejected", segment_ids=tuple(f"m#{k}.1" for k in range(500)),
                    author="t", timestamp="2026-01-31T12:00:00Z")

append_decision(sys.argv[1], decision(0))
real_write = os.write

def dying_write(fd, data):
    real_write(fd, bytes(data[: len(data) // 2]))
    os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of writing its line, lock held

os.write = dying_write
append_decision(sys.argv[1], decision(1))
"""


def test_writer_killed_mid_write_leaves_a_readable_store(store):
    result = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(store)], cwd=ROOT, timeout=60)
    assert result.returncode == -signal.SIGKILL
    state = read_store(store)  # readable: the complete decision is there, the torn line reported
    assert [d.cluster_key for d in state.decisions] == ["r:0"]
    assert state.torn_tail and "decisions.jsonl:2: incomplete last line" in state.torn_tail
    append_decision(store, decision(7))  # the dead writer's lock is gone; the fragment is kept aside
    assert [d.cluster_key for d in load_decisions(store)] == ["r:0", "r1:7"]
    assert store.with_name("decisions.jsonl.torn").read_bytes().startswith(b'{"v":1,"cluster_key":"r:1"')


def test_store_path_env_overrides_config(tmp_path, monkeypatch):
    config = load_config(None, {"decisions": {"path": str(tmp_path / "x.jsonl")}})
    monkeypatch.delenv("THEMES_DECISIONS")
    assert store_path(config) == tmp_path / "x.jsonl"
    monkeypatch.setenv("THEMES_DECISIONS", str(tmp_path / "y.jsonl"))
    assert store_path(config) == tmp_path / "y.jsonl"


# --- carry-forward ------------------------------------------------------------------------

def cluster(cid, members):
    return {"cluster_id": cid, "members": [f"m#{i}.1" for i in members]}


def on(cid, members, run="old", status="accepted", **fields):
    return decision(cid, run=run, status=status, segments=[f"m#{i}.1" for i in members], **fields)


def test_own_decision_applies_and_earlier_one_carries_with_its_overlap():
    clusters = [cluster(0, range(0, 10)), cluster(1, range(10, 20))]
    decisions = [on(5, range(0, 8), code_id="c.a"), on(1, range(10, 20), run="now", status="rejected")]
    applied, orphaned = match_decisions("now", clusters, decisions)
    assert applied[0]["carried"] and applied[0]["code_id"] == "c.a" and applied[0]["overlap"] == 0.8
    assert applied[0]["from"] == "old:5"
    assert applied[1]["carried"] is False and applied[1]["status"] == "rejected"
    assert orphaned == []


def test_below_threshold_is_orphaned_not_dropped():
    clusters = [cluster(0, range(0, 10))]
    weak = on(3, range(5, 15))  # 5 shared of 15: overlap 1/3
    applied, orphaned = match_decisions("now", clusters, [weak])
    assert applied == {} and orphaned == [weak]
    assert 5 / 15 < CARRY_THRESHOLD


def test_an_orphan_says_where_its_segments_are_now():
    from pipeline.decisions import orphan_view

    clusters = [cluster(0, range(0, 10)), cluster(1, range(10, 20))]
    weak = on(3, [*range(5, 8), *range(10, 14), 25])  # 3 in cluster 0, 4 in cluster 1, 1 in none
    assert orphan_view(weak, clusters)["now_in"] == [[1, 4], [0, 3]]
    assert "now_in" not in orphan_view(weak)


def test_a_decision_on_other_transcripts_is_not_this_runs_orphan():
    clusters = [cluster(0, range(0, 10))]
    other_study = decision(3, run="quotes", status="accepted", segments=("quotes.csv#1.1", "quotes.csv#2.1"))
    gone = on(4, range(20, 30))  # the same transcript, but its segments are in no cluster now
    applied, orphaned = match_decisions("now", clusters, [other_study, gone])
    assert applied == {} and orphaned == [gone]


def test_a_run_with_no_clusters_still_lists_the_orphans_on_its_transcripts():
    gone = on(4, range(20, 30))
    other_study = decision(3, run="quotes", status="accepted", segments=("quotes.csv#1.1",))
    assert match_decisions("now", [], [gone, other_study], sources=["m"]) == ({}, [gone])
    assert match_decisions("now", [], [gone, other_study]) == ({}, [])  # no transcripts named: none known


def test_run_folder_with_no_clusters_lists_earlier_decisions_as_orphaned(tmp_path, store):
    first = write_review_run(tmp_path / "run", {0: range(0, 10)})
    decide(first, store, 0, "rejected", memo="small talk")
    rerun = write_review_run(tmp_path / "run", {}, overrides={"clustering": {"min_cluster_size": 40}})
    orphans = orphaned_decisions(rerun, store)
    assert [(d.cluster_id, d.memo) for d in orphans] == [(0, "small talk")]
    manifest = json.loads((rerun / "manifest.json").read_text())
    assert [o["from"] for o in manifest["orphaned_decisions"]] == [orphans[0].cluster_key]


def test_best_overlap_wins_and_ties_go_to_the_later_decision():
    clusters = [cluster(0, range(0, 10))]
    close = on(1, range(0, 9), code_id="c.close")
    far = on(2, range(0, 6), code_id="c.far")
    assert match_decisions("now", clusters, [close, far])[0][0]["code_id"] == "c.close"
    twin_a = on(3, range(0, 9), run="a", code_id="c.first")
    twin_b = on(3, range(0, 9), run="b", code_id="c.second")
    assert match_decisions("now", clusters, [twin_a, twin_b])[0][0]["code_id"] == "c.second"


def test_a_tie_goes_to_the_decision_made_later_not_the_one_appended_later():
    """A decision imported from an older page is appended after a newer one: time decides,
    whatever the notation of the times."""
    clusters = [cluster(0, range(0, 10))]
    newer = dataclasses.replace(on(3, range(0, 9), run="b", code_id="c.newer"), timestamp="2026-02-01T09:00:00+01:00")
    older = dataclasses.replace(on(3, range(0, 9), run="a", code_id="c.older"), timestamp="2026-02-01T07:59:59Z")
    assert match_decisions("now", clusters, [newer, older])[0][0]["code_id"] == "c.newer"


def test_a_decision_over_a_carried_one_replaces_it_for_good():
    first = on(0, range(0, 10), run="r1", code_id="c.a")
    # In run r2 the analyst rejected the cluster that had carried first's decision.
    override = on(4, range(0, 7), run="r2", status="rejected", replaces="r1:0")
    applied, orphaned = match_decisions("r3", [cluster(0, range(0, 10))], [first, override])
    assert applied[0]["status"] == "rejected" and applied[0]["from"] == "r2:4"
    assert orphaned == []


def test_an_override_that_does_not_apply_here_keeps_what_it_replaced_replaced():
    """Rejected in run ta; in run tb the cluster that carried it was accepted instead: under
    another taxonomy (or none) that accept does not apply, and the rejection does not come back."""
    rejected = on(9, range(0, 10), run="ta", status="rejected")
    accept = on(7, range(0, 10), run="tb", code_id="c.peers", replaces="ta:9", memo="not noise: peers")
    for codes in ({"c.hope"}, set()):  # CHIME's codes; taxonomy: none
        applied, orphaned = match_decisions("tc", [cluster(9, range(0, 10))], [rejected, accept], codes=codes)
        assert applied == {} and orphaned == [accept]
    applied, orphaned = match_decisions("td", [cluster(9, range(0, 10))], [rejected, accept], codes={"c.peers"})
    assert applied[9]["from"] == "tb:7" and orphaned == []


@pytest.mark.parametrize("later", [{"status": "rejected", "memo": "noise"}, {"status": "undecided"},
                                   {"status": "accepted", "code_id": "c.b"}])
def test_a_later_decision_on_the_same_cluster_keeps_the_carried_one_replaced(tmp_path, later):
    store = tmp_path / "decisions.jsonl"
    first = on(0, range(0, 10), run="r1", code_id="c.a")
    override = on(4, range(0, 7), run="r2", status="rejected", replaces="r1:0")
    again = on(4, range(0, 7), run="r2", **later)  # a memo, an undo or another choice: no replaces of its own
    for d in (first, override, again):
        append_decision(store, d)
    current = load_decisions(store)
    assert [d.replaces for d in current] == [None, "r1:0"]
    applied, _ = match_decisions("r3", [cluster(0, range(0, 10))], current)
    assert applied.get(0, {}).get("from") != "r1:0"  # the first decision never comes back


def test_carried_merge_points_at_the_matching_cluster_of_the_new_run():
    merge = on(2, range(0, 10), status="merged", merge_into=7, merge_segment_ids=tuple(f"m#{i}.1" for i in range(10, 20)))
    applied, _ = match_decisions("now", [cluster(5, range(0, 10)), cluster(6, range(10, 19))], [merge])
    assert applied[5]["status"] == "merged" and applied[5]["merge_into"] == 6


def test_run_carries_decisions_and_never_writes_the_store(tmp_path, store):
    first = write_review_run(tmp_path / "run", {0: range(0, 10), 1: range(10, 16), 2: range(16, 22)})
    decide(first, store, 0, "accepted")
    accepted_code = load_decisions(store)[0].code_id
    decide(first, store, 1, "rejected", memo="small talk")
    snapshot = store.read_bytes()
    # A rerun with other clusters: cluster 0 loses two members, 1 and 2 are split differently.
    rerun = write_review_run(tmp_path / "run", {0: range(0, 8), 1: range(8, 13), 2: range(13, 22)},
                             overrides={"clustering": {"umap_n_neighbors": 10}})
    assert store.read_bytes() == snapshot
    document = json.loads((rerun / "clusters.json").read_text())
    by_id = {c["cluster_id"]: c["decision"] for c in document["clusters"]}
    assert by_id[0]["status"] == "accepted" and by_id[0]["code_id"] == accepted_code
    assert by_id[0]["carried"] is True and by_id[0]["overlap"] == 0.8
    assert by_id[1] is None and by_id[2] is None  # cluster 1's segments are spread too thin now
    orphans = orphaned_decisions(rerun, store)
    assert [d.cluster_id for d in orphans] == [1] and orphans[0].memo == "small talk"
    manifest = json.loads((rerun / "manifest.json").read_text())
    assert [o["from"] for o in manifest["orphaned_decisions"]] == [orphans[0].cluster_key]
    assert decisions_for_run(rerun, store) == {0: by_id[0]}


def test_decisions_made_with_another_taxonomy_do_not_apply_but_what_they_replaced_stays_replaced(tmp_path, store):
    from pipeline.taxonomy import load_taxonomy
    from pipeline.config import resolve_taxonomy_path

    groups = {0: range(0, 10), 1: range(10, 16)}
    base = write_review_run(tmp_path / "run", groups)
    kept = decide(base, store, 0, "accepted")  # the top suggestion: a nakanishi2021 code
    decide(base, store, 1, "rejected", memo="small talk")
    # The same clusters with another taxonomy: the accepted code is not CHIME's, so it is not
    # carried; it is listed as made with another taxonomy. The rejection carries.
    chime = write_review_run(tmp_path / "run", groups, taxonomy="chime")
    applied = decisions_for_run(chime, store)
    assert 0 not in applied and applied[1]["status"] == "rejected"
    (orphan,) = orphaned_decisions(chime, store)
    assert orphan == kept
    document = json.loads((chime / "clusters.json").read_text())
    assert document["clusters"][0]["decision"] is None  # the run itself agrees
    (view,) = json.loads((chime / "manifest.json").read_text())["orphaned_decisions"]
    assert view["from"] == kept.cluster_key and view["other_taxonomy"] is True
    assert "Made with another taxonomy" in (chime / "report.html").read_text()
    chime_code = load_taxonomy(resolve_taxonomy_path("chime")).leaves[0].id
    decide(chime, store, 0, "accepted", code_id=chime_code)
    decide(chime, store, 1, "accepted", code_id=chime_code)  # over the carried rejection
    # Back to the first config: the same run, with its own decisions, but for the rejection the
    # CHIME accept replaced: the CHIME accept does not apply here, and the rejection stays
    # overridden (rule 3), so cluster 1 is undecided.
    back = write_review_run(tmp_path / "run", groups)
    applied = decisions_for_run(back, store)
    assert applied[0]["code_id"] == kept.code_id and applied[0]["carried"] is False
    assert 1 not in applied
    assert {d.code_id for d in orphaned_decisions(back, store)} == {chime_code}
    # Another clustering with the first taxonomy carries the first taxonomy's decisions.
    other = write_review_run(tmp_path / "run", groups, overrides={"clustering": {"min_cluster_size": 5}})
    applied = decisions_for_run(other, store)
    assert applied[0]["code_id"] == kept.code_id and applied[0]["carried"] is True
    assert 1 not in applied
    # A run without a taxonomy carries no accepted code, so a memo there is a memo.
    inductive = write_review_run(tmp_path / "run", groups, taxonomy="none")
    assert 0 not in decisions_for_run(inductive, store)
    with pytest.raises(ThemesError, match="decide first"):
        decide(inductive, store, 0, None, memo="a note")
    decide(inductive, store, 0, "new", name="Waiting", memo="a note")


def test_a_runs_codes_are_those_it_ran_with_whatever_happens_to_the_codebook_file(tmp_path, store):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("code,definition\nWaiting time,Long waits\nStaff attitude,Kindness\n", encoding="utf-8")
    second.write_text("code,definition\nHope,Optimism\nIdentity,Who I am\n", encoding="utf-8")
    groups = {0: range(0, 10), 1: range(10, 16)}
    run = write_review_run(tmp_path / "run", groups, taxonomy=str(first))
    kept = decide(run, store, 0, "accepted", code_id="waiting_time")
    # The codebook is edited after the run: its own decision still applies, and takes a memo.
    first.write_text("code,definition\nWaiting times,Long waits\nStaff attitude,Kindness\n", encoding="utf-8")
    assert decisions_for_run(run, store)[0]["code_id"] == "waiting_time"
    assert decide(run, store, 0, None, memo="ask about weekends").code_id == "waiting_time"
    # A run with the second codebook, whose file is then gone: the first's code still does not
    # apply there, so a decision made there replaces nothing.
    other = write_review_run(tmp_path / "other", groups, taxonomy=str(second))
    second.unlink()
    assert 0 not in decisions_for_run(other, store)
    assert [d.cluster_key for d in orphaned_decisions(other, store)] == [kept.cluster_key]
    assert decide(other, store, 0, "accepted", code_id="hope").replaces is None
    assert decisions_for_run(run, store)[0]["code_id"] == "waiting_time"


def test_a_code_renamed_in_the_runs_own_taxonomy_is_not_taken_for_another_taxonomy(tmp_path, store):
    from pipeline.review import decisions_report

    book, other_book = tmp_path / "book.csv", tmp_path / "other.csv"
    book.write_text("code,definition\nWaiting time,Long waits\nStaff attitude,Kindness\n", encoding="utf-8")
    other_book.write_text("code,definition\nHope,Optimism\n", encoding="utf-8")
    groups = {0: range(0, 10), 1: range(10, 16)}
    first = write_review_run(tmp_path / "run", groups, taxonomy=str(book))
    kept = decide(first, store, 0, "accepted", code_id="waiting_time")
    assert kept.taxonomy == "book" and json.loads(store.read_text())["taxonomy"] == "book"
    legacy = dataclasses.replace(decide(first, store, 1, "accepted", code_id="staff_attitude"), taxonomy=None)
    append_decision(store, legacy)  # as saved before decisions recorded their taxonomy
    # The codebook is revised: one code renamed, the other removed; the run is made again.
    book.write_text("code,definition\nWaiting times,Long waits\n", encoding="utf-8")
    again = write_review_run(tmp_path / "run", groups, taxonomy=str(book))
    report = decisions_report(store, again)
    removed, unknown = report.data["orphaned"]
    assert (removed["from"], removed["code_removed"], removed["other_taxonomy"]) == (kept.cluster_key, True, False)
    assert (unknown["code_removed"], unknown["other_taxonomy"]) == (False, True)  # nothing says which
    assert ("accepted waiting_time  10 segments" in report.text and "its code is no longer in taxonomy book (renamed "
            "or removed since), so it will not apply again: decide the cluster again; now mostly in cluster 0 (10)"
            in report.text)
    assert "applies again when" not in report.text.split(kept.cluster_key)[1].split("\n")[0]
    # The run itself says the same in its manifest, which the report page shows.
    listed = json.loads((again / "manifest.json").read_text())["orphaned_decisions"]
    assert [(v["from"], v["code_removed"], v["other_taxonomy"]) for v in listed] == [
        (kept.cluster_key, True, False), (legacy.cluster_key, False, True)]
    page = (again / "report.html").read_text()
    assert page.count('<div class="now-in">Its code is no longer in this taxonomy (renamed or removed since)') == 1
    # With another codebook it was made with another taxonomy, and applies again with its own.
    other = write_review_run(tmp_path / "other", groups, taxonomy=str(other_book))
    view = decisions_report(store, other).data["orphaned"][0]
    assert (view["from"], view["code_removed"], view["other_taxonomy"]) == (kept.cluster_key, False, True)
    assert "made with another taxonomy (its code is not in this run's): it applies again" in decisions_report(
        store, other).text


def test_a_manifest_with_a_strange_taxonomy_value_is_read_without_a_traceback(tmp_path, store):
    run = write_review_run(tmp_path / "run", {0: range(0, 10)})
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "taxonomy": 5, "taxonomy_codes": "x"}))
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "decisions", "show", "--run", str(run)],
                            cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "THEMES_DECISIONS": str(store)})
    assert result.returncode == 0 and "Traceback" not in result.stderr
