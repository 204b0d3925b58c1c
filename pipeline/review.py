"""The analyst's review: deciding on clusters (from the CLI, the browser, or a file downloaded
from a static report), the codebook of accepted themes, and the localhost review server.

Every way of deciding ends in ``make_decision`` and ``append_decided``, so a decision is
validated the same way whatever made it, and is built from the store as it is when it is
appended (one locked step), however many writers decide at once.
"""

from __future__ import annotations

import getpass
import hmac
import json
import os
import re
import secrets
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .decisions import (FORMAT_VERSION, STATUSES, UNDECIDED, Decision, InvalidDecision, RunFolder, StoreState,
                        append_decided, decision_from_dict, decision_to_dict, load_decisions,
                        moment, name_problem, read_run, read_store)
from .errors import ThemesError

# --- making decisions ----------------------------------------------------------------------


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_author() -> str:
    """$THEMES_AUTHOR, else the login name, else "analyst" (decisions and exports alike)."""
    try:
        return os.environ.get("THEMES_AUTHOR", "").strip() or getpass.getuser() or "analyst"
    except (KeyError, OSError):
        return "analyst"


def analyst_name(author: str | None) -> str:
    """Who decides (or is named in an export): ``author`` (``--author``) when it holds a name,
    else $THEMES_AUTHOR or the login name; spaces evened out. A name no file can hold (a
    control character, half of an emoji, a byte that is not UTF-8) is refused in one line
    naming where it came from."""
    if author and (name_problem(author) or _line(author)):
        name, where = author, "--author"
    else:
        name = default_author()
        where = "THEMES_AUTHOR" if os.environ.get("THEMES_AUTHOR", "").strip() else "the login name"
    problem = name_problem(name)
    if problem:
        raise ThemesError(f"{where}: {problem}")
    return _line(name) or "analyst"


def leaf_codes(folder: RunFolder) -> dict[str, tuple[str, str]] | None:
    """The run's codable codes, ``code_id -> (label, description)``, in taxonomy order; None for
    a run without a taxonomy. The codes are those the run had (its manifest's
    ``taxonomy_codes``), labelled from the taxonomy file where it still reads, else from the
    run's suggestions, so a moved or edited file changes no decision."""
    from .taxonomy import load_taxonomy

    if not folder.taxonomy_path:
        return None
    described: dict[str, tuple[str, str]] = {}
    try:
        taxonomy = load_taxonomy(Path(folder.taxonomy_path))
        described = {leaf.id: (leaf.label, leaf.description) for leaf in taxonomy.leaves}
    except (ThemesError, OSError):
        pass  # moved or broken since the run
    suggested = {s["code_id"]: (s.get("label", ""), "") for c in folder.clusters for s in c.get("suggestions", [])}
    if folder.codes is None:  # a run folder from before runs listed their codes
        return described or suggested
    return {code: described.get(code) or suggested.get(code) or ("", "") for code in folder.codes}


def _line(value: str | None) -> str | None:
    """A name: one line, spaces collapsed; empty -> None."""
    return " ".join((value or "").split()) or None


def _block(value: str | None) -> str | None:
    """A definition or memo: line breaks kept (Windows' and old Macs' as ``\\n``, as a browser's
    text box gives them, so the page can tell a saved memo from a draft), ends trimmed;
    empty -> None."""
    return re.sub(r"\r\n?", "\n", value or "").strip() or None


def make_decision(folder: RunFolder, cluster_id: int, status: str | None, *, code_id: str | None = None,
                  name: str | None = None, definition: str | None = None, merge_into: int | None = None,
                  memo: str | None = None, author: str | None = None, current: dict | None = None,
                  codes: dict | None = None) -> Decision:
    """Build a validated decision on one cluster of a run.

    ``status`` None adds ``memo`` to the cluster's current decision. ``memo`` None keeps the
    current memo, "" clears it. ``current`` is the cluster's decision field (own or carried);
    deciding over a carried decision records that it replaces it. ``codes``: ``leaf_codes``.
    """
    cluster = folder.cluster(cluster_id)
    here = f"{folder.path} (cluster {cluster_id})"
    if status == UNDECIDED and current is None:
        raise ThemesError(f"{here}: the cluster is undecided already")
    if status is None:
        if current is None:
            raise ThemesError(f"{here}: no decision to add a memo to; decide first "
                              "(accept, reject, new theme or merge)")
        status, code_id, name = current["status"], current["code_id"], current["name"]
        definition, merge_into = current["definition"], current["merge_into"]
        if status == "merged" and merge_into is None:
            raise ThemesError(f"{here}: the cluster it was merged into is not in this run; decide again")
    if status not in STATUSES:
        raise ThemesError(f"{here}: unknown decision '{status}' (one of {', '.join(STATUSES)})")
    memo = None if status == UNDECIDED else _block(memo) if memo is not None else (current or {}).get("memo")
    merge_segment_ids: tuple[str, ...] = ()
    if status == "accepted":
        if codes is None:
            raise ThemesError(f"{here}: this run has no taxonomy, so there is no code to accept; "
                              "name the theme instead (new theme)")
        if not code_id:
            if not cluster.get("suggestions"):
                raise ThemesError(f"{here}: no suggestion to accept; name a code (--accept CODE_ID)")
            code_id = cluster["suggestions"][0]["code_id"]
        if code_id not in codes:
            raise ThemesError(f"{here} ({code_id}): not a code of the run's taxonomy")
        name = definition = merge_into = None
    elif status == "new":
        problem = name_problem(name or "")
        if problem:
            raise ThemesError(f"{here} (name): {problem}")
        name, definition = _line(name), _block(definition)
        if not name:
            raise ThemesError(f"{here}: a new theme needs a name")
        code_id = merge_into = None
    elif status == "merged":
        if merge_into is None or merge_into == cluster_id:
            raise ThemesError(f"{here}: merge into another cluster of this run")
        merge_segment_ids = tuple(folder.cluster(merge_into)["members"])
        code_id = name = definition = None
    else:
        code_id = name = definition = merge_into = None
    return Decision(
        cluster_key=f"{folder.run}:{cluster_id}", run=folder.run, cluster_id=cluster_id, status=status,
        code_id=code_id, name=name, definition=definition, merge_into=merge_into, memo=memo,
        segment_ids=tuple(cluster["members"]), author=analyst_name(author), timestamp=now_utc(),
        merge_segment_ids=merge_segment_ids,
        replaces=current["from"] if current and current.get("carried") else None,
        taxonomy=folder.taxonomy_id if status == "accepted" else None,
    )


def current_memo(run_dir: Path | str, store: Path | str, cluster_id: int) -> str | None:
    """The memo of a cluster's current decision (own or carried), if any."""
    folder = read_run(run_dir)
    applied, _ = folder.match(read_store(store).decisions) if Path(store).is_file() else ({}, [])
    return (applied.get(cluster_id) or {}).get("memo")


def decide(run_dir: Path | str, store: Path | str, cluster_id: int, status: str | None, **fields) -> Decision:
    """Decide on one cluster of a run and append the decision to the store."""
    folder = read_run(run_dir)
    codes = leaf_codes(folder)

    def build(state: StoreState) -> list[Decision]:
        applied, _ = folder.match(state.decisions)
        return [make_decision(folder, cluster_id, status, current=applied.get(cluster_id), codes=codes, **fields)]

    (decision,) = append_decided(store, build)[1]
    return decision


# --- decisions downloaded from a static report ---------------------------------------------

DOWNLOAD_FORMAT = "themes-decisions"


@dataclass
class ImportResult:
    run: str
    imported: int
    unchanged: int
    checked_against: Path | None
    superseded: int = 0  # older than a decision the store already holds on their cluster: left out
    earlier: bool = False  # made in an earlier run of the run folder given (not checked against it)


def import_decisions(file: Path | str, store: Path | str, run_dir: Path | str | None = None,
                     must_match: bool = True) -> ImportResult:
    """Append the decisions of a file downloaded from a static report.

    With ``run_dir`` holding the same run, every cluster must exist there with the same
    members. A different run is refused when ``must_match``; otherwise the file stands on its
    own and its decisions carry forward by their segments. Nothing is written unless the whole
    file is valid, and a decision already in the store is not appended twice.
    """
    file = Path(file)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThemesError(f"{file}: file not found") from None
    except UnicodeDecodeError:
        raise ThemesError(f"{file}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise ThemesError(f"{file}:{err.lineno}: not JSON ({err.msg})") from None
    if not isinstance(document, dict) or document.get("format") != DOWNLOAD_FORMAT:
        raise ThemesError(f"{file} (format): not a decisions file downloaded from a themes report")
    for key in document:
        if key not in {"format", "version", "run", "exported", "decisions"}:
            raise ThemesError(f"{file} ({key}): unknown key")
    if document.get("version") != FORMAT_VERSION:
        raise ThemesError(f"{file} (version): version {document.get('version')!r} is not supported (expected 1)")
    run = document.get("run")
    if not isinstance(run, str) or not run:
        raise ThemesError(f"{file} (run): missing run id")
    if not isinstance(document.get("decisions"), list):
        raise ThemesError(f"{file} (decisions): must be a list")
    decisions = []
    for i, item in enumerate(document["decisions"]):
        try:
            decision = decision_from_dict({"v": FORMAT_VERSION, **item} if isinstance(item, dict) else item)
        except InvalidDecision as err:
            raise ThemesError(f"{file} (decisions[{i}]{'.' + err.key if err.key else ''}): {err.message}") from None
        if decision.run != run:
            raise ThemesError(f"{file} (decisions[{i}].run): '{decision.run}' is not the file's run '{run}'")
        decisions.append(decision)

    checked, earlier = None, False
    if run_dir is not None:
        folder = read_run(run_dir)
        if folder.run == run:
            checked = folder.path
            _check_against_run(file, decisions, folder)
        elif _earlier_run_of(run, folder):
            earlier = True  # the page's "kept from an earlier run of this folder": carried by segments
        elif must_match:
            raise ThemesError(f"{file} (run): downloaded from run {run}, but {folder.path} holds run "
                              f"{folder.run}; leave out --run to import it on its own, into the store --config or "
                              "THEMES_DECISIONS names (not the one that folder's runs read)")

    superseded: list[Decision] = []

    def build(state: StoreState) -> list[Decision]:
        stored = {(d.cluster_key, d.timestamp): d for d in state.events}
        latest: dict[str, datetime] = {}
        for d in state.events:
            when = moment(d.timestamp)
            latest[d.cluster_key] = max(latest.get(d.cluster_key, when), when)
        new = [d for d in decisions if stored.get((d.cluster_key, d.timestamp)) != d]
        # A decision made in a page and replaced since (decided again on the command line or in
        # `themes review`) must not come back over the newer one: the store's last event wins.
        superseded[:] = [d for d in new if d.cluster_key in latest and latest[d.cluster_key] > moment(d.timestamp)]
        return [d for d in new if d not in superseded]

    fresh = append_decided(store, build)[1]
    return ImportResult(run, len(fresh), len(decisions) - len(fresh) - len(superseded), checked, len(superseded),
                        earlier)


def _earlier_run_of(run: str, folder: RunFolder) -> bool:
    """Whether ``run`` is an earlier run of ``folder``: a run id of the folder's name
    (``NAME-<digest>``) other than the run it holds now."""
    names = {Path(folder.path).name, Path(folder.path).resolve().name}
    return run != folder.run and any(re.fullmatch(re.escape(name) + r"-[0-9a-f]{10}", run) for name in names)


def _check_against_run(file: Path, decisions: list[Decision], folder: RunFolder) -> None:
    clusters = {c["cluster_id"]: c for c in folder.clusters}
    codes = leaf_codes(folder)
    for i, d in enumerate(decisions):
        if d.cluster_id not in clusters:
            raise ThemesError(f"{file} (decisions[{i}].cluster_id): cluster {d.cluster_id} is not in run "
                              f"{folder.run} ({folder.path})")
        if set(d.segment_ids) != set(clusters[d.cluster_id]["members"]):
            raise ThemesError(f"{file} (decisions[{i}].segment_ids): not the members of cluster "
                              f"{d.cluster_id} in {folder.path}")
        if d.status == "accepted" and codes is not None and d.code_id not in codes:
            raise ThemesError(f"{file} (decisions[{i}].code_id): '{d.code_id}' is not a code of the "
                              f"taxonomy of run {folder.run}")
        if d.status == "accepted" and codes is None:
            raise ThemesError(f"{file} (decisions[{i}].code_id): run {folder.run} has no taxonomy, "
                              "so there is no code to accept")
        if d.status == "merged" and d.merge_into not in clusters:
            raise ThemesError(f"{file} (decisions[{i}].merge_into): cluster {d.merge_into} is not in "
                              f"run {folder.run}")


# --- showing decisions --------------------------------------------------------------------


def describe(decision: Decision | dict) -> str:
    """One line for a decision (a Decision or a decision field)."""
    get = decision.get if isinstance(decision, dict) else lambda key: getattr(decision, key)
    status = get("status")
    if status == "accepted":
        text = f"accepted {get('code_id')}"
    elif status == "new":
        text = f"new theme “{get('name')}”"
    elif status == "merged":
        target = get("merge_into")
        text = f"merged into cluster {target}" if target is not None else "merged into a cluster not in this run"
    elif status == UNDECIDED:
        text = "taken back: undecided"
    else:
        text = "rejected (not a theme)"
    memo = get("memo")
    return text + (f"; memo: {' '.join(memo.split())}" if memo else "")


@dataclass
class DecisionsReport:
    text: str
    data: object


def decisions_report(store: Path | str, run_dir: Path | str | None = None) -> DecisionsReport:
    """The store's current decisions, or how they apply to a run (with the orphaned ones)."""
    decisions = load_decisions(store)
    if run_dir is None:
        rows = [f"{len(decisions)} decision(s) in {store}"]
        for d in decisions:
            rows.append(f"  {d.cluster_key}  {describe(d)}  ({d.author}, {d.timestamp})")
        return DecisionsReport("\n".join(rows), [decision_to_dict(d) for d in decisions])
    folder = read_run(run_dir)
    applied, orphaned = folder.match(decisions)
    carried = sum(1 for d in applied.values() if d["carried"])
    rows = [f"run {folder.run}: {len(applied)} of {len(folder.clusters)} clusters decided ({carried} carried)"]
    for c in folder.clusters:
        d = applied.get(c["cluster_id"])
        origin = f"  [carried from {d['from']}, overlap {d['overlap']:.2f}]" if d and d["carried"] else ""
        rows.append(f"  {c['cluster_id']:>3}  {c.get('label', '')[:40]:<40}  {describe(d) if d else 'undecided'}{origin}")
    rows.append(f"orphaned decisions (no cluster of this run overlaps them by half, shared segments over all in "
                f"either, or their code is not in this run's taxonomy): {len(orphaned)}")
    views = [folder.orphan_view(d) for d in orphaned]
    for d, view in zip(orphaned, views):
        now = ", ".join(f"cluster {cid} ({n})" for cid, n in view["now_in"][:3])
        rows.append(f"  {d.cluster_key}  {describe(d)}  {len(d.segment_ids)} segments  ({d.author}, {d.timestamp})"
                    + _orphan_note(view, folder.taxonomy_id, now))
    data = {"run": folder.run,
            "clusters": [{"cluster_id": c["cluster_id"], "label": c.get("label", ""), "size": len(c["members"]),
                          "decision": applied.get(c["cluster_id"])} for c in folder.clusters],
            "orphaned": views}
    return DecisionsReport("\n".join(rows), data)


def _orphan_note(view: dict, taxonomy_id: str | None, now: str) -> str:
    """Why an orphaned decision no longer applies, and what to do about it."""
    where = f"; now mostly in {now}" if now else "; none of them in a cluster now"
    if view["other_taxonomy"]:
        return "; made with another taxonomy (its code is not in this run's): it applies again in a run with that taxonomy"
    if view["code_removed"]:
        return (f"; its code is no longer in taxonomy {taxonomy_id} (renamed or removed since), so it will not "
                f"apply again: decide the cluster again{where}")
    return where


# --- the codebook -------------------------------------------------------------------------


def codebook(run_dir: Path | str, store: Path | str) -> dict:
    """The accepted themes of a run: codes and new themes, with their clusters and members.

    A cluster merged into another counts toward the theme its target ends up with.
    """
    folder = read_run(run_dir)
    applied, orphaned = folder.match(load_decisions(store))
    codes = leaf_codes(folder) or {}
    members = {c["cluster_id"]: set(c["members"]) for c in folder.clusters}

    def final(cid: int) -> int | None:
        seen = set()
        while cid is not None and cid not in seen and (applied.get(cid) or {}).get("status") == "merged":
            seen.add(cid)
            cid = applied[cid]["merge_into"]
        return None if cid is None or cid in seen else cid

    themes: dict[tuple, dict] = {}
    rejected, undecided, memos = [], [], []
    for cluster in folder.clusters:
        cid = cluster["cluster_id"]
        target = final(cid)
        d = applied.get(target) if target is not None else None
        if d is None or d["status"] in ("merged", "rejected"):
            if d is not None and d["status"] == "rejected":
                rejected.append(cid)
            else:
                undecided.append(cid)
            # A memo on a cluster in no theme (rejected, or merged into one left undecided) is kept.
            own = applied.get(cid) or {}
            if own.get("memo"):
                memos.append({key: own[key] for key in ("status", "merge_into", "memo")} | {"cluster_id": cid})
            continue
        key = ("code", d["code_id"]) if d["status"] == "accepted" else ("new", d["name"].casefold())
        theme = themes.setdefault(key, {
            "kind": key[0], "code_id": d["code_id"], "name": d["name"] if key[0] == "new" else None,
            "label": codes.get(d["code_id"], ("", ""))[0] if key[0] == "code" else d["name"],
            "definition": codes.get(d["code_id"], ("", ""))[1] if key[0] == "code" else d["definition"],
            "clusters": [], "segments": set(), "memos": []})
        theme["clusters"].append(cid)
        theme["segments"] |= members[cid]
        if applied[cid].get("memo"):
            theme["memos"].append(f"cluster {cid}: {applied[cid]['memo']}")
    entries = []
    for theme in themes.values():
        theme["members"] = len(theme.pop("segments"))
        entries.append(theme)
    entries.sort(key=lambda t: (t["kind"] != "code", -t["members"], t["code_id"] or t["name"] or ""))
    return {"run": folder.run, "themes": entries, "rejected": rejected, "undecided": undecided,
            "memos": memos, "orphaned": [folder.orphan_view(d) for d in orphaned]}


def format_codebook(book: dict) -> str:
    rows = [f"Codebook of run {book['run']}"]
    for kind, heading in (("code", "Accepted codes"), ("new", "New themes")):
        themes = [t for t in book["themes"] if t["kind"] == kind]
        rows.append(f"\n{heading} ({len(themes)})")
        if not themes:
            rows.append("  none")
        for t in themes:
            title = f"{t['code_id']} — {t['label']}" if kind == "code" else f"“{t['name']}”"
            rows.append(f"  {title}")
            rows.append(f"    {t['members']} members in cluster(s) {', '.join(map(str, t['clusters']))}")
            if t["definition"]:
                rows.append(f"    definition: {' '.join(t['definition'].split())}")
            for memo in t["memos"]:
                rows.append(f"    memo, {' '.join(memo.split())}")
    rows.append("")
    rows.append(f"Rejected clusters: {', '.join(map(str, book['rejected'])) or 'none'}")
    rows.append(f"Undecided clusters: {', '.join(map(str, book['undecided'])) or 'none'}")
    if book["memos"]:
        rows.append("Memos on clusters in no theme:")
    for m in book["memos"]:
        rows.append(f"  cluster {m['cluster_id']}, {describe({**m, 'memo': None})}: {' '.join(m['memo'].split())}")
    if book["orphaned"]:
        rows.append(f"Orphaned decisions: {len(book['orphaned'])} (themes decisions show --run RUN lists them)")
    return "\n".join(rows)


# --- the review server --------------------------------------------------------------------

MAX_BODY = 64 * 1024
BARE = "\0bare"  # the token without a trailing slash
DECIDE_KEYS = {"cluster_id", "status", "code_id", "name", "definition", "merge_into", "memo", "author"}


class ReviewServer(ThreadingHTTPServer):
    """Serves one run's report on 127.0.0.1 behind an unguessable token; every decision posted
    by the page is appended to the store before the answer goes back."""

    daemon_threads = True

    def __init__(self, run_dir: Path | str, store: Path | str, author: str | None = None, port: int = 0):
        from .report import served_html

        self.folder = read_run(run_dir)
        self._made = self._stamp()
        report = self.folder.path / "report.html"
        if not report.is_file():
            raise ThemesError(f"{self.folder.path}: no report.html in this run folder")
        try:
            page, self.csp = served_html(report.read_text(encoding="utf-8"))
            self.html = page.encode("utf-8")
        except ValueError as err:
            raise ThemesError(f"{report}: {err}") from None
        self.store = Path(store)
        self.author = analyst_name(author)
        self.codes = leaf_codes(self.folder)
        self.token = secrets.token_urlsafe(24)
        self._saving = 0  # decisions being written now (Ctrl-C waits for them)
        self._saved = threading.Condition()
        read_store(self.store)  # a broken store is reported now, not at the first click
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as err:
            raise ThemesError(f"127.0.0.1:{port}: cannot listen ({err.strerror})") from None

    def _stamp(self) -> tuple | None:
        """What tells the run folder's clusters.json apart from one a rerun writes there."""
        try:
            stat = (self.folder.path / "clusters.json").stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def check_same_run(self) -> None:
        """Refuse to save when the run folder has been made again since the server started: its
        clusters (and their ids) may be others than the page shows."""
        if self._stamp() == self._made:
            return
        try:
            now = read_run(self.folder.path).run
        except ThemesError:
            now = None
        if now == self.folder.run:
            self._made = self._stamp()  # the same run, written again: no need to read it each time
            return
        raise ThemesError(f"the run folder has been made again ({'run ' + now if now else 'being written'}) since "
                          f"this page was served (run {self.folder.run}); nothing was saved: stop `themes review` "
                          "and start it again to decide on the clusters as they are now")

    def finish_saves(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the decisions being written; -> how many are
        still being written (the store's lock may be held by another command)."""
        with self._saved:
            self._saved.wait_for(lambda: self._saving == 0, timeout)
            return self._saving

    def handle_error(self, request, client_address) -> None:
        # A page that went away, or a request that stalled past the handler's timeout: nothing
        # to tell the analyst. Anything else is a fault, shown as usual.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}/"

    def state(self, decisions: list[Decision] | None = None) -> dict:
        if decisions is None:
            decisions = load_decisions(self.store)
        applied, orphaned = self.folder.match(decisions)
        return {"run": self.folder.run, "author": self.author,
                "decisions": {str(k): v for k, v in applied.items()},
                "orphaned": [self.folder.orphan_view(d) for d in orphaned]}

    def decide(self, body: object) -> dict:
        """Validate a posted decision, append it to the store, return the new state."""
        if not isinstance(body, dict) or not set(body) <= DECIDE_KEYS or type(body.get("cluster_id")) is not int:
            raise ThemesError("a decision is a JSON object with cluster_id, status and its fields")
        for key in ("status", "code_id", "name", "definition", "memo", "author"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ThemesError(f"({key}): must be text")
        if body.get("merge_into") is not None and type(body["merge_into"]) is not int:
            raise ThemesError("(merge_into): must be a cluster id")
        problem = name_problem(body["author"]) if body.get("author") else None
        if problem:  # the page's "Your name", named as the page names it (not --author)
            raise ThemesError(f"(author): {problem}")
        self.check_same_run()

        def build(state: StoreState) -> list[Decision]:
            applied, _ = self.folder.match(state.decisions)
            return [make_decision(
                self.folder, body["cluster_id"], body.get("status"), code_id=body.get("code_id"),
                name=body.get("name"), definition=body.get("definition"), merge_into=body.get("merge_into"),
                memo=body.get("memo"), author=body.get("author") or self.author,
                current=applied.get(body["cluster_id"]), codes=self.codes)]

        with self._saved:
            self._saving += 1
        try:
            state, (decision,) = append_decided(self.store, build)  # the store's lock orders the page's threads too
        finally:
            with self._saved:
                self._saving -= 1
                self._saved.notify_all()
        # The state as of this write (a decision another process adds meanwhile shows on the next load).
        return self.state([d for d in state.decisions if d.cluster_key != decision.cluster_key] + [decision])


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "themes-review"
    sys_version = ""
    timeout = 60  # seconds a request may stall before its connection is closed

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the terminal shows the URL and errors, not a line per request

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", self.server.csp + "; frame-ancestors 'none'")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

    def _route(self) -> str | None:
        """The path after the token, or None once a refusal has been sent."""
        port = self.server.port
        if self.headers.get("Host") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            self._json(403, {"error": "unexpected Host"})
            return None
        origin = self.headers.get("Origin")
        if origin is not None and origin not in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
            self._json(403, {"error": "requests from other sites are refused"})
            return None
        path = self.path.split("?", 1)[0]
        if ".." in path or "\\" in path or "%" in path or "//" in path:
            self._json(400, {"error": "bad path"})
            return None
        parts = path.split("/", 2)
        token = parts[1] if len(parts) > 1 else ""
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            self._json(403, {"error": "missing or wrong token: open the URL themes review printed"})
            return None
        return parts[2] if len(parts) > 2 else BARE

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        route = self._route()
        if route is None:
            return
        if route == BARE:  # /TOKEN -> /TOKEN/, so the page's relative API paths resolve
            self.send_response(301)
            self.send_header("Location", f"/{self.server.token}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route in ("", "index.html"):
            self._send(200, self.server.html, "text/html; charset=utf-8")
        elif route == "api/state":
            self._guarded(self.server.state)
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        route = self._route()
        if route is None:
            return
        if route != "api/decisions":
            self._json(404, {"error": "not found"})
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._json(415, {"error": "send JSON (Content-Type: application/json)"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._json(413 if length > MAX_BODY else 400, {"error": "bad request body size"})
            return
        try:
            body = json.loads(self.rfile.read(length).decode("utf-8"))
        except ValueError:  # not UTF-8, not JSON, or a number past Python's digit limit
            self._json(400, {"error": "the body is not JSON"})
            return
        cluster_id = body.get("cluster_id") if isinstance(body, dict) else None
        self._guarded(lambda: self.server.decide(body), cluster_id)

    def _guarded(self, action, cluster_id: object = None) -> None:
        try:
            self._json(200, action())
        except ThemesError as err:
            # The page shows this under the cluster: without the run folder's path the CLI
            # needs, nor the cluster's number when it is that cluster (not, say, a merge target).
            message = str(err).removeprefix(f"{self.server.folder.path} ")
            self._json(400, {"error": message.removeprefix(f"(cluster {cluster_id}): ")})

    def _refuse(self) -> None:
        self._json(405, {"error": "method not allowed"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815


def open_in_browser(url: str) -> Path:
    """Open ``url`` in the web browser through a page that redirects to it, kept in a folder
    only this user can read: the token in the URL never appears on the browser's command line,
    which every local user can read. -> the folder, to remove when the server stops."""
    import html
    import tempfile
    import webbrowser

    folder = Path(tempfile.mkdtemp(prefix="themes-review-"))  # mode 0700
    page = folder / "open.html"
    fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    target = html.escape(url, quote=True)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={target}">'
                     f'<title>themes review</title><p><a href="{target}">Open the review page</a></p>\n')
    webbrowser.open(page.as_uri())
    return folder


def serve(server: ReviewServer, wait: float = 10.0) -> int:
    """Serve until Ctrl-C; every decision is already on disk when it is acknowledged. After
    Ctrl-C, decisions being written get up to ``wait`` seconds to finish; -> how many did not
    (their pages say "Not saved")."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    try:
        return server.finish_saves(wait)
    except KeyboardInterrupt:
        return server.finish_saves(0)
    finally:
        server.server_close()
