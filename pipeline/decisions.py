"""Decisions: the analyst's verdicts on clusters, kept in one append-only store per project.

The store is a JSON-lines file (format in docs/review.md): one event per line, appended under
an exclusive ``fcntl.flock``, flushed and fsynced; a decision made from the current state
is read, built and appended under one hold of that lock (``append_decided``). The current
state is the last event per ``cluster_key`` in file order. Runs read the store and never
write it; nothing ever rewrites a complete line. A run's clusters pick up earlier decisions
by the segments they share (Jaccard overlap of member segment ids, see ``match_decisions``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from .errors import ThemesError
from .runfolder import set_aside, wait_for_lock, within

Status = Literal["accepted", "rejected", "new", "merged", "undecided"]
STATUSES = ("accepted", "rejected", "new", "merged", "undecided")
# "undecided" takes a decision back: the cluster has none again, and the decision it replaced
# (its own, or one carried from an earlier run) does not come back.
UNDECIDED = "undecided"
ENV_VAR = "THEMES_DECISIONS"
FORMAT_VERSION = 1
# A cluster inherits an earlier decision when their members overlap at least this much.
CARRY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Decision:
    """One decision on one cluster of one run.

    ``cluster_key`` is ``"{run}:{cluster_id}"`` of the run where it was made; ``segment_ids``
    are that cluster's members then, used to carry the decision to later runs.
    ``merge_segment_ids`` are the merge target's members (same purpose); ``replaces`` names the
    carried decision this one overrode. ``taxonomy``: for an accept, the id of the taxonomy
    of the run where it was made (None when not recorded: made before themes recorded it, or
    in a static page), which tells a code since removed from that taxonomy from a code of
    another taxonomy.
    """

    cluster_key: str
    run: str
    cluster_id: int
    status: Status
    code_id: str | None = None
    name: str | None = None
    definition: str | None = None
    merge_into: int | None = None
    memo: str | None = None
    segment_ids: tuple[str, ...] = ()
    author: str = ""
    timestamp: str = ""
    merge_segment_ids: tuple[str, ...] = ()
    replaces: str | None = None
    taxonomy: str | None = None


BROKEN_TEXT = "holds a broken character (half of an emoji, or a byte that is not UTF-8 text); type or paste it again"


def writable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8. Half of an emoji (a lone surrogate, as a
    cut-off paste can leave) or a byte that is not UTF-8 in a command's argument cannot: named
    where it came from (``BROKEN_TEXT``), not a crash."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# A name or an author is one line of text: tabs and line breaks in one are evened out to
# spaces, but any other control character (C0, DEL, C1, and U+FFFE/U+FFFF, which XML refuses
# too) is what a stray key or a paste left, and no project or document an export writes can
# hold it.
_NOT_IN_NAME = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def name_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name or an author (a new theme's name, who decided, the analyst
    an export names), or None when it can. Memos and definitions keep their line breaks and
    tabs and need only be ``writable``."""
    if not writable(text):
        return BROKEN_TEXT
    control = _NOT_IN_NAME.search(text)
    if control:
        return (f"holds a control character (U+{ord(control.group()):04X}), which a project or document "
                "cannot hold; type it again")
    return None


class _Event(BaseModel):
    """One line of the store, validated strictly: a hand edit that breaks it is named."""

    model_config = ConfigDict(extra="forbid", strict=True)

    v: Literal[1]
    cluster_key: str
    run: str = Field(min_length=1)
    cluster_id: int = Field(ge=0)
    status: Status
    code_id: str | None = None
    name: str | None = None
    definition: str | None = None
    merge_into: int | None = None
    memo: str | None = None
    segment_ids: list[str] = Field(min_length=1)
    author: str
    timestamp: str
    merge_segment_ids: list[str] = Field(default_factory=list)
    replaces: str | None = None
    taxonomy: str | None = None

    @field_validator("*")
    @classmethod
    def _writable_text(cls, value: object) -> object:
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and not writable(text):
                raise ValueError(BROKEN_TEXT)
        return value

    @field_validator("name", "author")
    @classmethod
    def _one_line_name(cls, value: object, info: ValidationInfo) -> object:
        if info.context and info.context.get("stored"):
            return value  # saved before names were checked: read, never written again
        problem = name_problem(value) if isinstance(value, str) else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("timestamp")
    @classmethod
    def _iso_timestamp(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 time such as 2026-01-31T12:00:00.000Z") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "_Event":
        if self.cluster_key != f"{self.run}:{self.cluster_id}":
            raise ValueError(f"cluster_key must be '{self.run}:{self.cluster_id}' (run:cluster_id)")
        if self.status == "accepted" and not self.code_id:
            raise ValueError("an accepted decision needs a code_id")
        if self.status == "new" and not (self.name or "").strip():
            raise ValueError("a new theme needs a name")
        if self.status == "merged" and self.merge_into is None:
            raise ValueError("a merge needs merge_into (the other cluster's id)")
        return self


class InvalidDecision(ValueError):
    """A stored or downloaded decision that does not validate; ``key`` names the field."""

    def __init__(self, key: str, message: str):
        super().__init__(f"({key}): {message}" if key else message)
        self.key, self.message = key, message


def decision_from_dict(value: object, stored: bool = False) -> Decision:
    """Validate one store event (a JSON object) and return it as a Decision. ``stored``: a line
    already in the store, whose name or author may hold a control character that earlier
    versions let through (a store must stay readable; nothing new is written with one)."""
    if not isinstance(value, dict):
        raise InvalidDecision("", "not a JSON object")
    try:
        event = _Event.model_validate(value, context={"stored": stored})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise InvalidDecision(key, message.removeprefix("Value error, ")) from None
    data = event.model_dump()
    data.pop("v")
    data["segment_ids"] = tuple(data["segment_ids"])
    data["merge_segment_ids"] = tuple(data["merge_segment_ids"])
    return Decision(**data)


def decision_to_dict(decision: Decision) -> dict:
    """A decision as a store event (JSON-ready)."""
    data = {"v": FORMAT_VERSION, **{k: getattr(decision, k) for k in Decision.__dataclass_fields__}}
    data["segment_ids"] = list(decision.segment_ids)
    data["merge_segment_ids"] = list(decision.merge_segment_ids)
    return data


def encode_decision(decision: Decision) -> bytes:
    """The store line for a decision (validated, newline-terminated UTF-8)."""
    data = decision_to_dict(decision)
    try:
        decision_from_dict(data)
    except InvalidDecision as err:
        raise ThemesError(f"decision on cluster {decision.cluster_id} {err}") from None
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# --- locking the store ------------------------------------------------------------------

# How long a command waits for the store's lock before it says so: another command's
# decision takes milliseconds; a longer wait is a command stuck, or a store on a slow share.
LOCK_NOTICE_AFTER = 1.5


def _lock(fd, operation: int, path: Path) -> None:
    """Take the store's flock (``operation``: LOCK_SH or LOCK_EX), waiting as long as another
    command holds it and saying so once after LOCK_NOTICE_AFTER seconds. Every lock on the
    store is taken here."""
    # The notice is printed there, not by the CLI: the wait happens inside a locked step (read,
    # build, append) that the command cannot see from outside.
    wait_for_lock(fd, operation, f"the decision store {path}", LOCK_NOTICE_AFTER)


# --- reading the store ------------------------------------------------------------------


@dataclass
class StoreState:
    """A parsed store: every event in file order, the current decisions (last event per
    cluster_key, in the order of those last events), and a note when the last line is an
    unfinished write."""

    events: list[Decision] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    torn_tail: str | None = None


_HAND_FIX = "; the store is never rewritten by themes: fix or remove this line by hand"


def parse_store(data: bytes, path: Path) -> StoreState:
    """Parse store bytes; raise ThemesError naming FILE:LINE for any broken complete line.

    A last line without a newline that is the start of a line as themes writes it, cut short
    (``_is_torn``), is an interrupted write: it is reported in ``torn_tail``, not raised, so
    everything written before it stays readable. Any other last line (a hand edit saved
    without a final newline) is read like any other line, so a broken one is an error too.
    """
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    events: list[Decision] = []
    state = StoreState()

    def parse(raw: bytes, lineno: int) -> Decision:
        try:
            return decision_from_dict(json.loads(raw.decode("utf-8")), stored=True)
        except UnicodeDecodeError:
            raise ThemesError(f"{path}:{lineno}: not UTF-8 text{_HAND_FIX}") from None
        except json.JSONDecodeError as err:
            raise ThemesError(f"{path}:{lineno}: not a JSON object ({err.msg}){_HAND_FIX}") from None
        except InvalidDecision as err:
            key = f" ({err.key})" if err.key else ""
            raise ThemesError(f"{path}:{lineno}{key}: {err.message}{_HAND_FIX}") from None

    for index, raw in enumerate(lines):
        if raw.strip():
            events.append(parse(raw, index + 1))
    if tail.strip():
        if not _is_torn(tail):
            events.append(parse(tail, len(lines) + 1))
        else:
            state.torn_tail = (f"{path}:{len(lines) + 1}: incomplete last line ({len(tail)} bytes) left by an "
                               f"interrupted write; it holds no decision and is moved to {path}.torn at the next save")
    current: dict[str, Decision] = {}
    overridden: dict[str, str] = {}  # cluster_key -> the carried decision it was decided over
    for event in events:
        if event.replaces:
            overridden[event.cluster_key] = event.replaces
        elif event.cluster_key in overridden:
            # A later decision on the same cluster (a memo, another choice, an undo) overrides
            # what the first one did: the carried decision never comes back.
            event = dataclasses.replace(event, replaces=overridden[event.cluster_key])
        current.pop(event.cluster_key, None)
        current[event.cluster_key] = event
    state.events = events
    state.decisions = list(current.values())
    return state



def read_store(path: Path | str) -> StoreState:
    """Read the store under a shared lock (a missing store is empty)."""
    path = Path(path)
    if path.is_dir():
        raise ThemesError(f"{path}: the decision store is a folder; decisions.path must name a file")
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return StoreState()
    except OSError as err:
        raise ThemesError(f"{path}: cannot read the decision store ({err.strerror})") from None
    with handle:
        _lock(handle, fcntl.LOCK_SH, path)
        data = handle.read()
    return parse_store(data, path)


def load_decisions(path: Path | str) -> list[Decision]:
    """The current decisions: the last event per cluster_key wins. Never writes the file."""
    return read_store(path).decisions


# --- writing the store ------------------------------------------------------------------


def _last_line(fd: int) -> tuple[int, bytes]:
    """The offset and bytes of what follows the file's last newline (b"" when it ends with one)."""
    end = os.fstat(fd).st_size
    start, chunk = end, 1 << 16
    tail = b""
    while start > 0:
        start = max(0, start - chunk)
        tail = os.pread(fd, end - start, start)
        newline = tail.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1, tail[newline + 1:]
    return 0, tail


# How every line themes writes starts (``encode_decision``: "v" first, then the fields in order,
# no spaces).
_LINE_START = b'{"v":1,"cluster_key":"'
# A \u escape at the very end of a text, whole or cut short (the writer escapes control
# characters so).
_END_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{0,4}\Z")


def _is_torn(line: bytes) -> bool:
    """Whether a last line without a newline is what a writer killed mid-write left: a strict
    prefix of one line as ``encode_decision`` writes it. Such a prefix starts as every line
    does and is JSON cut short (``_cut_short``), maybe inside a character. A line that is
    anything else is a hand edit, read like any other line (so a broken one is an error)."""
    if not (line.startswith(_LINE_START) or _LINE_START.startswith(line)):
        return False
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.reason != "unexpected end of data" or err.end != len(line):
            return False
        text = line[:err.start].decode("utf-8")  # cut inside a character
    return _cut_short(text)


def _cut_short(text: str) -> bool:
    """Whether JSON text fails to parse only because it runs out: the decoder stops at its very
    end, in a string that is never closed, or inside a word (``nul``) or an escape the end cut
    short. A text that parses, or fails anywhere else, is not cut short."""
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg.startswith("Invalid \\uXXXX"):
            escape = _END_ESCAPE.search(text)
            return escape is not None and _cut_short(text[:escape.start()])
        rest = text[err.pos:]
        return (err.pos >= len(text) or err.msg.startswith("Unterminated string")
                or (err.msg == "Expecting value" and any(w.startswith(rest) for w in ("null", "true", "false", "-"))))
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """The store open for appending (created if need be), under its exclusive flock (released
    on close). Every writer locks the store file itself, so writers of any version exclude
    each other."""
    if path.is_dir():
        raise ThemesError(f"{path}: the decision store is a folder; decisions.path must name a file")
    created = not path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as err:
        raise ThemesError(f"{path}: cannot write the decision store ({err.strerror})") from None
    try:
        _lock(fd, fcntl.LOCK_EX, path)
        yield fd
    except OSError as err:
        raise ThemesError(f"{path}: the decision was not saved ({err.strerror}); everything saved before "
                          "is intact") from None
    finally:
        os.close(fd)
    if created:
        _fsync_dir(path.parent)


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    parts, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


def _append_locked(fd: int, path: Path, lines: bytes) -> None:
    """Append whole lines to the store open at ``fd``, whose exclusive lock the caller holds.

    Complete lines are never touched. An unfinished last line (a writer killed mid-write) is
    copied to ``PATH.torn`` and only then cut off, so the new lines start clean and no byte is
    lost; a complete last line without a newline (a hand edit) gets its newline first.
    """
    offset, tail = _last_line(fd)
    prefix = b""
    if tail.strip() and _is_torn(tail):
        _save_torn(path, tail)
        os.ftruncate(fd, offset)
    elif tail:
        prefix = b"\n"
    _write_all(fd, prefix + lines)
    os.fsync(fd)


def append_decision(path: Path | str, decision: Decision) -> None:
    """Append one decision durably: exclusive flock, one write, fsync.

    This does not read the store: a decision built from the current state goes through
    ``append_decided``. Readers refuse a store with a broken complete line, so the commands
    that decide never append to one.
    """
    path = Path(path)
    line = encode_decision(decision)
    with _locked(path) as fd:
        _append_locked(fd, path, line)


def append_decided(path: Path | str, build: Callable[[StoreState], list[Decision]]
                   ) -> tuple[StoreState, list[Decision]]:
    """Append the decisions ``build`` makes from the store's current state, reading that state
    and appending under one hold of the store's exclusive flock: no other writer can append in
    between, so a decision never rests on a state another one has already changed (a memo
    added to a decision just replaced would bring the replaced one back). Returns the state
    read and the decisions appended, in one write and one fsync.

    A broken complete line raises before ``build`` runs, and nothing is written; ``build``
    raises ThemesError to write nothing. ``build`` first runs on the store as it is, read
    without the exclusive lock, so a refused decision, or one with nothing to append, needs no
    write access and creates no file; then again under the lock, on what is there by then.
    """
    path = Path(path)
    state = read_store(path)
    if not build(state):
        return state, []
    with _locked(path) as fd:  # created if need be
        state = parse_store(_read_all(fd), path)
        decisions = build(state)
        if decisions:
            _append_locked(fd, path, b"".join(encode_decision(d) for d in decisions))
        return state, decisions


def _save_torn(path: Path, fragment: bytes) -> None:
    torn = path.with_name(path.name + ".torn")
    with open(torn, "ab") as handle:
        handle.write(fragment + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


# --- runs and carry-forward ---------------------------------------------------------------


def store_path(config) -> Path:
    """The decision store: $THEMES_DECISIONS if set, else ``decisions.path`` of the config."""
    override = os.environ.get(ENV_VAR, "").strip()
    return Path(override) if override else Path(config.decisions.path)


def check_outside(store: Path, run_dir: Path | str) -> None:
    """Refuse a decision store inside a run folder: a rerun replaces the folder, and would
    delete decisions with it (one saved while the rerun writes would be lost unsaid)."""
    if within(store, run_dir):
        raise ThemesError(f"decisions.path: {store} is inside the run folder {run_dir}, which a rerun "
                          f"replaces; keep the decision store outside run folders (set {ENV_VAR} or "
                          "decisions.path)")


def run_store(run_dir: Path | str) -> Path:
    """The decision store of a run folder, for commands given no --config: $THEMES_DECISIONS if
    set; else the store the run was made with, recorded in its manifest relative to the run
    folder (so it is found from any folder, and a copied project finds its own copy), when that
    store exists; else ``decisions.path`` of the run's config.yaml, relative to the current
    folder. A recorded path that names no store is never created: a run folder received from
    someone else cannot make ``themes`` write outside the project."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override)
    folder = Path(run_dir)
    try:
        recorded = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("decision_store")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if isinstance(recorded, str) and recorded and (folder / recorded).is_file():
        return Path(os.path.normpath(folder / recorded))
    from .config import load_config

    return store_path(load_config(folder / "config.yaml" if (folder / "config.yaml").is_file() else None,
                                  saved_run=True))


def run_id(name: str, clusters: list[dict], fingerprint: object = None) -> str:
    """A run's identity: its folder name and a digest of its clusters' members and, when
    given, of its config and inputs. Same input and config give the same id."""
    digest = hashlib.sha256(json.dumps(
        {"clusters": [[c["cluster_id"], sorted(c["members"])] for c in clusters], "of": fingerprint},
        sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{name}-{digest[:10]}"


@dataclass
class RunFolder:
    """What decisions need from a run folder: its id, clusters, taxonomy file, the transcripts
    it read (``sources``, from its manifest) and the codes its taxonomy had when it ran
    (``codes``: empty for a run without a taxonomy, None for a run folder that does not say)."""

    path: Path
    run: str
    clusters: list[dict]
    taxonomy_path: str | None
    sources: frozenset[str] = frozenset()
    codes: tuple[str, ...] | None = None
    taxonomy_id: str | None = None  # its taxonomy's id (clusters.json's ``taxonomy``)

    def match(self, decisions: list[Decision]) -> tuple[dict[int, dict], list[Decision]]:
        """``match_decisions`` for this run."""
        return match_decisions(self.run, self.clusters, decisions, self.sources, self.codes)

    def orphan_view(self, d: Decision) -> dict:
        """``orphan_view`` for this run."""
        return orphan_view(d, self.clusters, self.codes, self.taxonomy_id)

    def cluster(self, cluster_id: int) -> dict:
        for cluster in self.clusters:
            if cluster["cluster_id"] == cluster_id:
                return cluster
        known = ", ".join(str(c["cluster_id"]) for c in self.clusters) or "none"
        raise ThemesError(f"{self.path} (cluster {cluster_id}): no such cluster in this run (clusters: {known})")


def _texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def clusters_problem(document: object) -> str | None:
    """What makes a clusters.json document unusable, or None: it needs a list of clusters, each
    with an integer cluster_id, its members (and representatives, segment_ids) as segment ids
    and suggestions each with a code_id. A hand edit can leave valid JSON of another shape;
    every command on a run folder refuses it with the same words."""
    if not isinstance(document, dict) or not isinstance(document.get("clusters"), list):
        return "no list of clusters"
    for index, cluster in enumerate(document["clusters"]):
        if not isinstance(cluster, dict) or type(cluster.get("cluster_id")) is not int:
            return f"clusters[{index}] has no integer cluster_id"
        if not _texts(cluster.get("members")) or not _texts(cluster.get("segment_ids", [])):
            return f"cluster {cluster['cluster_id']}: members and segment_ids must be lists of segment ids"
        suggestions = cluster.get("suggestions", [])
        if not isinstance(suggestions, list) or not all(
                isinstance(s, dict) and isinstance(s.get("code_id"), str) for s in suggestions):
            return f"cluster {cluster['cluster_id']}: every suggestion needs a code_id"
    return None


def read_run(run_dir: Path | str) -> RunFolder:
    run_dir = Path(run_dir)
    clusters_file = run_dir / "clusters.json"
    if not clusters_file.is_file():
        aside = set_aside(run_dir)
        hint = (f"; an interrupted run left the earlier one in {aside[0].name}, which the next `themes run` "
                "on this folder puts back") if aside else ""
        raise ThemesError(f"{run_dir}: not a run folder (no clusters.json); give the folder `themes run` wrote{hint}")
    try:
        document = json.loads(clusters_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ThemesError(f"{clusters_file}: not a clusters.json written by themes ({err})") from None
    problem = clusters_problem(document)
    if problem:
        raise ThemesError(f"{clusters_file}: not a clusters.json written by themes ({problem})")
    clusters = document["clusters"]
    taxonomy_path, sources, codes = None, frozenset(), None
    manifest_file = run_dir / "manifest.json"
    if manifest_file.is_file():
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise ThemesError(f"{manifest_file}: not valid JSON") from None
        if not isinstance(manifest, dict):
            raise ThemesError(f"{manifest_file}: not a manifest.json written by themes")
        taxonomy_path = manifest.get("taxonomy") if isinstance(manifest.get("taxonomy"), str) else None
        sources = run_sources(manifest)
        listed = manifest.get("taxonomy_codes")
        if isinstance(listed, list) and all(isinstance(code, str) for code in listed):
            codes = tuple(listed)
    run = document.get("run") or run_id(run_dir.resolve().name, clusters)
    taxonomy_id = document.get("taxonomy") if isinstance(document.get("taxonomy"), str) else None
    return RunFolder(run_dir, run, clusters, taxonomy_path, sources, codes, taxonomy_id)


def run_sources(manifest: dict) -> frozenset[str]:
    """The transcripts a run read, as its manifest lists them (none from an older manifest)."""
    inputs = manifest.get("inputs")
    if not isinstance(inputs, list):
        return frozenset()
    return frozenset(i["source"] for i in inputs if isinstance(i, dict) and isinstance(i.get("source"), str))


def jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a or b else 0.0


def _best_cluster(segment_ids, clusters: list[dict]) -> tuple[dict | None, float]:
    best, best_overlap = None, 0.0
    for cluster in clusters:
        overlap = jaccard(segment_ids, cluster["members"])
        if overlap > best_overlap:
            best, best_overlap = cluster, overlap
    return best, best_overlap


def _decision_field(d: Decision, carried: bool, overlap: float, clusters: list[dict]) -> dict:
    merge_into = d.merge_into
    if d.status == "merged" and carried:
        target, target_overlap = _best_cluster(d.merge_segment_ids, clusters)
        merge_into = target["cluster_id"] if target and target_overlap >= CARRY_THRESHOLD else None
    return {
        "status": d.status, "code_id": d.code_id, "name": d.name, "definition": d.definition,
        "memo": d.memo, "merge_into": merge_into, "carried": carried, "overlap": round(overlap, 4),
        "from": d.cluster_key, "author": d.author, "timestamp": d.timestamp,
    }


def _source(segment_id: str) -> str:
    """The transcript a segment id (``SOURCE#TURN.N``) comes from."""
    return segment_id.rpartition("#")[0]


def applies(d: Decision, codes: Collection[str] | None) -> bool:
    """Whether a decision can apply under a taxonomy with these codes (None: any): all but an
    accepted code the taxonomy lacks (one made with another taxonomy)."""
    return codes is None or d.status != "accepted" or d.code_id in codes


def match_decisions(run: str, clusters: list[dict], decisions: list[Decision], sources: Iterable[str] = (),
                    codes: Collection[str] | None = None) -> tuple[dict[int, dict], list[Decision]]:
    """Apply the store's current decisions to a run's clusters.

    The rule: a decision made on this run's cluster applies to it. Otherwise the cluster takes
    the earlier decision whose members overlap its own most (Jaccard >= CARRY_THRESHOLD; on a
    tie the later decision), marked carried with that overlap. A decision made on a cluster
    that showed a carried decision replaces that one, so the overridden one never comes back.
    Returns ``{cluster_id: decision field}`` for decided clusters, and the orphaned decisions:
    those matching no cluster of this run, among those on this run's transcripts (a store may
    hold other studies' decisions too): ``sources`` names the run's transcripts, to which those
    of its clusters' members are added. ``decisions`` must be in store order.

    ``codes``: the run's codable codes (None: any). A decision accepting a code the run's
    taxonomy lacks (made with another taxonomy) does not apply here; it is listed as orphaned,
    and applies again in a run with that taxonomy. What it replaced stays replaced all the same:
    the analyst overrode that decision, whatever taxonomy this run has. A decision made on this
    run applies to it whatever ``codes`` say.
    """
    codes = frozenset(codes) if codes is not None else None
    position = {d.cluster_key: i for i, d in enumerate(decisions)}
    replaced_at: dict[str, int] = {}
    for i, d in enumerate(decisions):
        if d.replaces:
            replaced_at[d.replaces] = max(replaced_at.get(d.replaces, -1), i)
    live = [d for d in decisions if replaced_at.get(d.cluster_key, -1) < position[d.cluster_key]]
    foreign = [d for d in live if d.run != run and not applies(d, codes)]
    live = [d for d in live if d.run == run or applies(d, codes)]
    own = {d.cluster_id: d for d in live if d.run == run}
    cluster_ids = {c["cluster_id"] for c in clusters}
    earlier = [d for d in live if d.run != run]

    applied: dict[int, dict] = {}
    for cluster in clusters:
        members = cluster["members"]
        if cluster["cluster_id"] in own:
            d = own[cluster["cluster_id"]]
            if d.status != UNDECIDED:  # taken back: no decision, and none carried over it
                applied[cluster["cluster_id"]] = _decision_field(d, False, jaccard(d.segment_ids, members), clusters)
            continue
        scored = [(jaccard(d.segment_ids, members), moment(d.timestamp), position[d.cluster_key], d) for d in earlier]
        scored = [item for item in scored if item[0] >= CARRY_THRESHOLD]
        if scored:
            # On a tie, the decision made later wins (in time: one imported from an older page
            # is not newer for being appended later), then the later in the store.
            overlap, _, _, d = max(scored, key=lambda item: item[:3])
            if d.status != UNDECIDED:  # the closest earlier cluster was left undecided: so is this one
                applied[cluster["cluster_id"]] = _decision_field(d, True, overlap, clusters)

    # A decision on other transcripts (another study sharing the store) is not this run's
    # orphan: only those with a transcript in common with this run are listed, even when
    # none of its segments was clustered.
    sources = set(sources) | {_source(sid) for cluster in clusters for sid in cluster["members"]}
    orphaned = [d for d in own.values() if d.cluster_id not in cluster_ids and d.status != UNDECIDED]
    orphaned += [d for d in earlier if d.status != UNDECIDED
                 and _best_cluster(d.segment_ids, clusters)[1] < CARRY_THRESHOLD
                 and any(_source(sid) in sources for sid in d.segment_ids)]
    orphaned += [d for d in foreign if d.run == run or any(_source(sid) in sources for sid in d.segment_ids)]
    orphaned.sort(key=lambda d: position[d.cluster_key])
    return applied, orphaned


def moment(timestamp: str) -> datetime:
    """A decision's time, comparable whatever its notation: ``Z`` or an offset, with or
    without milliseconds (a time without a zone is taken as UTC)."""
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def decisions_for_run(run_dir: Path | str, store_path: Path | str) -> dict[int, dict]:
    """For each decided cluster of the run, its ``decision`` field (own or carried)."""
    return read_run(run_dir).match(load_decisions(store_path))[0]


def orphaned_decisions(run_dir: Path | str, store_path: Path | str) -> list[Decision]:
    """Current decisions that match no cluster of the run: listed, never dropped."""
    return read_run(run_dir).match(load_decisions(store_path))[1]


def attach_decisions(document: dict, name: str, decisions: list[Decision], fingerprint: object,
                     sources: Iterable[str] = (), codes: Collection[str] | None = None) -> list[Decision]:
    """At run time: give the clusters document its ``run`` id and every cluster its
    ``decision`` field (or None) from the store's current ``decisions``; return the orphaned
    decisions on the run's transcripts (``sources``), its taxonomy having ``codes``."""
    document["run"] = run_id(name, document["clusters"], fingerprint)
    applied, orphaned = match_decisions(document["run"], document["clusters"], decisions, sources, codes)
    for cluster in document["clusters"]:
        cluster["decision"] = applied.get(cluster["cluster_id"])
    return orphaned


def decision_times(decisions: list[Decision], run: str) -> dict[int, str]:
    """When each cluster of ``run`` was last decided on in that run (``decisions``: the store's
    current ones), an undo included: a static page drops the decisions it kept that are older
    (see report.js)."""
    return {d.cluster_id: d.timestamp for d in decisions if d.run == run}


def orphan_view(d: Decision, clusters: list[dict] | None = None, codes: Collection[str] | None = None,
                taxonomy_id: str | None = None) -> dict:
    """An orphaned decision as plain data for the report, the manifest and the CLI; with the
    run's ``clusters``, ``now_in`` says where its segments are now: [cluster id, how many of
    them], largest first (so the analyst knows which clusters to decide on again).

    When its code is not among the run's ``codes``: ``code_removed`` if it was made with the
    run's own taxonomy (``taxonomy_id``), whose code has since been renamed or removed, so it
    never applies again; else ``other_taxonomy`` (made with another taxonomy, or one not
    recorded), and it applies again in a run with that taxonomy."""
    missing = not applies(d, codes)
    removed = missing and d.taxonomy is not None and d.taxonomy == taxonomy_id
    view = {"from": d.cluster_key, "run": d.run, "cluster_id": d.cluster_id, "status": d.status,
            "code_id": d.code_id, "name": d.name, "definition": d.definition, "memo": d.memo,
            "size": len(d.segment_ids), "author": d.author, "timestamp": d.timestamp,
            "other_taxonomy": missing and not removed, "code_removed": removed}
    if clusters is not None:
        mine = set(d.segment_ids)
        held = [(c["cluster_id"], len(mine.intersection(c["members"]))) for c in clusters]
        view["now_in"] = [[cid, n] for cid, n in sorted(held, key=lambda item: (-item[1], item[0])) if n]
    return view

