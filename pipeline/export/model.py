"""What every export writes: a run folder read back, and the codebook and codings that the
analyst's decisions make of it.

A run folder holds segments, clusters and (as of run time) decisions; decisions made later
live in the decision store. ``code_run`` turns both into a ``CodedRun``: a code tree (the
taxonomy, plus new themes, plus suggestions when asked for) and one ``Coding`` per segment
of every coded cluster. The writers (qdpx, tables, draft) only render a ``CodedRun``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from ..artifacts import Segment, Transcript
from ..config import Config, load_config, resolve_taxonomy_path
from ..decisions import clusters_problem, moment
from ..errors import ThemesError
from ..segment import normalise
from ..taxonomy import Taxonomy, load_taxonomy

# Every GUID is a uuid5 under this namespace, from ids that do not change between exports,
# so importing a re-export replaces codes, sources and codings instead of duplicating them.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:themes:refi-qda")

# Okabe-Ito colours (distinguishable with colour-blindness): one per theme, inherited below.
THEME_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#F0E442")
NEW_COLOUR, SUGGESTED_COLOUR, OTHER_COLOUR = "#CC79A7", "#999999", "#000000"

NEW_GROUP, SUGGESTED_GROUP, OTHER_GROUP = "group:new", "group:suggested", "group:other"
CODED_STATUSES = ("accepted", "new", "merged")
SUGGESTED = "suggested"


def guid(*parts: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, "/".join(parts)))


@dataclass
class RunFolder:
    """A run folder read back: ``clusters`` are the dicts of clusters.json by cluster id,
    ``inputs`` are manifest.json's [{source, path, sha256, turns}]."""

    path: Path
    config: Config
    taxonomy: Taxonomy | None
    segments: dict[str, Segment]
    clusters: dict[int, dict]
    inputs: list[dict]

    @property
    def name(self) -> str:
        return self.path.resolve().name


def _read_json(path: Path):
    if not path.is_file():
        raise ThemesError(f"{path}: file not found; is {path.parent} a run folder written by `themes run`?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        line = f":{err.lineno}" if isinstance(err, json.JSONDecodeError) else ""
        raise ThemesError(f"{path}{line}: not valid JSON ({err})") from None


def _read_segments(path: Path) -> dict[str, Segment]:
    if not path.is_file():
        raise ThemesError(f"{path}: file not found; is {path.parent} a run folder written by `themes run`?")
    segments: dict[str, Segment] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                segment = Segment(
                    segment_id=row["segment_id"], source=row["source"], turn_id=int(row["turn_id"]),
                    speaker=row["speaker"], role=row["role"], text=row["text"], start=int(row["start"]),
                    end=int(row["end"]), timestamp=row.get("timestamp") or "",
                    annotations=tuple(json.loads(row["annotations"])) if row.get("annotations") else (),
                    backchannel=row.get("backchannel") == "1", clusterable=row.get("clusterable") == "1",
                )
            except (KeyError, TypeError, ValueError) as err:  # JSONDecodeError is a ValueError
                raise ThemesError(f"{path}:{line}: unreadable segment row ({err})") from None
            segments[segment.segment_id] = segment
    return segments


def read_run(run_dir: Path) -> RunFolder:
    """Read segments.csv, clusters.json, config.yaml and manifest.json of a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ThemesError(f"{run_dir}: run folder not found")
    config = load_config(run_dir / "config.yaml", saved_run=True)
    taxonomy_path = resolve_taxonomy_path(config.taxonomy)
    taxonomy = load_taxonomy(taxonomy_path) if taxonomy_path is not None else None
    segments = _read_segments(run_dir / "segments.csv")
    clusters = _clusters(run_dir / "clusters.json")
    for cluster in clusters.values():
        missing = [sid for sid in cluster["members"] if sid not in segments]
        if missing:
            raise ThemesError(f"{run_dir / 'clusters.json'} (cluster {cluster['cluster_id']}): segment "
                              f"{missing[0]} is not in segments.csv")
    return RunFolder(run_dir, config, taxonomy, segments, clusters, _inputs(run_dir / "manifest.json"))


def _clusters(path: Path) -> dict[int, dict]:
    """clusters.json's clusters by id, refused in one line unless each has what exports read
    (``decisions.clusters_problem``, the check every command on a run folder makes)."""
    document = _read_json(path)
    problem = clusters_problem(document)
    if problem:
        raise ThemesError(f"{path}: not a clusters.json written by themes ({problem})")
    return {cluster["cluster_id"]: cluster for cluster in document["clusters"]}


def _inputs(path: Path) -> list[dict]:
    """manifest.json's inputs, [{source, path, sha256, turns}], refused in one line unless each
    names its source and path."""
    manifest = _read_json(path)
    inputs = manifest.get("inputs", []) if isinstance(manifest, dict) else None
    if not isinstance(inputs, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("source"), str) and isinstance(entry.get("path"), str)
            and isinstance(entry.get("sha256", ""), (str, type(None))) for entry in inputs):
        raise ThemesError(f"{path}: not a manifest.json written by themes (its inputs need a source and a path each)")
    return inputs


def current_decisions(run: RunFolder, store: Path | None = None) -> dict[int, dict]:
    """The analyst's decision for each decided cluster, as the decision store (default: the
    run's own, ``decisions.run_store``) holds them now (clusters.json has them only as of run
    time)."""
    from ..decisions import decisions_for_run, run_store

    return decisions_for_run(run.path, store if store is not None else run_store(run.path))


@dataclass(frozen=True)
class Source:
    """A transcript read again for export. ``guid`` follows the file's content (and, for a
    table read as several transcripts, the transcript's part of it), not its name or place."""

    transcript: Transcript
    guid: str


def read_sources(run: RunFolder) -> list[Source]:
    """Read the run's transcripts again, in manifest order, refusing any file that changed
    since the run: segment offsets index the text as it was then."""
    from ..ingest import read_transcripts

    by_path: dict[str, list[dict]] = {}
    for entry in run.inputs:
        by_path.setdefault(entry["path"], []).append(entry)
    found: dict[str, Source] = {}
    for path_name, entries in by_path.items():
        path = Path(path_name)
        if not path.is_file():
            raise ThemesError(f"{path}: transcript of run {run.path} not found (manifest.json inputs, "
                              f"source {entries[0]['source']}); export from the folder the run was made in")
        if entries[0].get("sha256") and hashlib.sha256(path.read_bytes()).hexdigest() != entries[0]["sha256"]:
            raise ThemesError(f"{path}: changed since run {run.path} was made (sha256 differs from "
                              f"manifest.json); restore it or run `themes run` again")
        # Read under an empty source name: a table split by a source column then names its
        # parts "/VALUE", which the manifest's names end with.
        parts = read_transcripts(path, "", run.config.input.columns.model_dump(), run.config.input.max_file_mb)
        for entry in entries:
            matches = [t for t in parts if entry["source"].endswith(t.source)]
            if not matches:
                raise ThemesError(f"{path}: no part {entry['source']} in it any more; run `themes run` again")
            part = max(matches, key=lambda t: len(t.source))
            found[entry["source"]] = Source(replace(part, source=entry["source"]),
                                            guid("source", part.sha256, *([part.source] if part.source else [])))
    return [found[entry["source"]] for entry in run.inputs]


def check_offsets(segment: Segment, text: str, path: str) -> None:
    """A coding must cut its segment out of the source text. The cut is the segment's text
    up to whitespace, or, where the segment had noise markers or markup removed (annotations,
    subtitle timings), holds the segment's text in order with those in between."""
    cut = text[segment.start:segment.end] if 0 <= segment.start <= segment.end <= len(text) else None
    if cut is None or (normalise(cut) != segment.text and not _in_order("".join(segment.text.split()), cut)):
        raise ThemesError(f"{path} ({segment.segment_id}): offsets {segment.start}-{segment.end} do not cut "
                          f"the segment's text out of the source; run `themes run` again")


def _in_order(wanted: str, text: str) -> bool:
    """Is every character of ``wanted`` in ``text``, in order?"""
    characters = iter(text)
    return all(char in characters for char in wanted)


def respondent(segment: Segment) -> tuple:
    """Who said ``segment``, for counting speakers: its speaker label within its transcript. A
    row without a label (a survey answer) is a respondent of its own, never one speaker ``""``
    with every other such row (docs/input.md)."""
    if segment.speaker.strip():
        return segment.source, segment.speaker
    return segment.source, "", segment.turn_id


@dataclass
class ExportCode:
    """A code of the exported codebook. ``key`` is a taxonomy code id, or ``new:<name>``,
    ``suggested:<code id>`` and ``group:...`` for what the taxonomy does not hold."""

    key: str
    name: str
    definition: str
    parent: str | None
    guid: str
    colour: str
    origin: str  # taxonomy | new | suggested | other
    codable: bool
    children: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Coding:
    """One segment coded with one code. ``status`` is the decision that coded it: accepted,
    new, merged, or suggested (not reviewed)."""

    segment: Segment
    code: str
    cluster_id: int
    status: str
    carried: bool = False


@dataclass(frozen=True)
class Memo:
    """The analyst's memo on a cluster decision; ``code`` is the code that cluster is coded
    with (None when it is not coded). ``guid`` follows the cluster's members, not its id."""

    cluster_id: int
    status: str
    text: str
    code: str | None
    guid: str


@dataclass
class CodedRun:
    run: RunFolder
    codes: dict[str, ExportCode]  # in tree order: parents before children, siblings in file order
    roots: list[str]
    codings: list[Coding]
    memos: list[Memo]
    notes: list[str] = field(default_factory=list)

    def codings_of(self, key: str) -> list[Coding]:
        """Codings of ``key`` and every code below it."""
        keys = set(self.subtree(key))
        return [c for c in self.codings if c.code in keys]

    def subtree(self, key: str) -> list[str]:
        out = [key]
        for child in self.codes[key].children:
            out.extend(self.subtree(child))
        return out

    def walk(self, keys: list[str] | None = None, depth: int = 0):
        """Yield (depth, code) depth-first in tree order."""
        for key in self.roots if keys is None else keys:
            yield depth, self.codes[key]
            yield from self.walk(self.codes[key].children, depth + 1)

    def path(self, key: str) -> list[str]:
        """Names from the theme down to the code itself."""
        names = []
        while key is not None:
            names.append(self.codes[key].name)
            key = self.codes[key].parent
        return names[::-1]

    @property
    def roles(self) -> list[str]:
        return sorted({c.segment.role for c in self.codings})


def _slug(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


class _Builder:
    """Builds the code tree of a ``CodedRun``; see ``code_run``."""

    def __init__(self, run: RunFolder) -> None:
        self.run = run
        self.taxonomy_id = run.taxonomy.id if run.taxonomy else "none"
        self.codes: dict[str, ExportCode] = {}
        self.roots: list[str] = []
        self._defined_at: dict[str, datetime] = {}  # new theme -> when its definition was given
        if run.taxonomy is not None:
            for index, root in enumerate(run.taxonomy.roots):
                self._add_taxonomy_code(root, THEME_COLOURS[index % len(THEME_COLOURS)])

    def _add(self, code: ExportCode) -> str:
        self.codes[code.key] = code
        if code.parent is None:
            self.roots.append(code.key)
        else:
            self.codes[code.parent].children.append(code.key)
        return code.key

    def _add_taxonomy_code(self, code_id: str, colour: str) -> None:
        code = self.run.taxonomy.codes[code_id]
        self._add(ExportCode(code_id, code.label, code.description, code.parent,
                             guid("code", self.taxonomy_id, code_id), colour, "taxonomy", code.is_leaf))
        for child in code.children:
            self._add_taxonomy_code(child, colour)

    def group(self, key: str, name: str, definition: str, colour: str) -> str:
        if key not in self.codes:
            self._add(ExportCode(key, name, definition, None, guid("group", key), colour, key[6:], False))
        return key

    def taxonomy_code(self, code_id: str, name: str = "") -> str:
        """A code the decision names; one the taxonomy lacks goes into a group of its own."""
        if code_id not in self.codes:
            parent = self.group(OTHER_GROUP, f"Codes not in taxonomy {self.taxonomy_id}",
                                "Codes that decisions name but the run's taxonomy does not hold.", OTHER_COLOUR)
            self._add(ExportCode(code_id, name or code_id, "", parent, guid("code", self.taxonomy_id, code_id),
                                 OTHER_COLOUR, "other", True))
        self.codes[code_id].codable = True
        return code_id

    def new_code(self, name: str, definition: str, when: datetime) -> str:
        """The code of a new theme; clusters given the same name share it, with the definition
        of the latest decision (by ``when`` it was made) that gives one."""
        key = f"new:{_slug(name)}"
        if key not in self.codes:
            parent = self.group(NEW_GROUP, "New themes", "Themes the analyst found that the taxonomy does not name.",
                                NEW_COLOUR)
            self._add(ExportCode(key, name, "", parent, guid("new", _slug(name)), NEW_COLOUR, "new", True))
        if definition and (key not in self._defined_at or when > self._defined_at[key]):
            self.codes[key].definition, self._defined_at[key] = definition, when
        return key

    def suggested_code(self, suggestion: dict) -> str:
        code_id = suggestion["code_id"]
        key = f"suggested:{code_id}"
        if key not in self.codes:
            parent = self.group(SUGGESTED_GROUP, "Suggested, not reviewed",
                                "Codes suggested for clusters nobody has reviewed yet.", SUGGESTED_COLOUR)
            known = self.run.taxonomy.codes.get(code_id) if self.run.taxonomy else None
            name = known.label if known else suggestion.get("label") or code_id
            self._add(ExportCode(key, f"{name} (suggested)", known.description if known else "", parent,
                                 guid("suggested", self.taxonomy_id, code_id), SUGGESTED_COLOUR, "suggested", True))
        return key


def _decision_code(builder: _Builder, decision: dict) -> str:
    if decision["status"] == "new":
        return builder.new_code(decision["name"].strip(), (decision.get("definition") or "").strip(),
                                moment(decision["timestamp"]))
    return builder.taxonomy_code(decision["code_id"], (decision.get("name") or "").strip())


def code_run(run: RunFolder, decisions: dict[int, dict], include_suggestions: bool = False) -> CodedRun:
    """Code every segment of every accepted, new or merged cluster (and, with
    ``include_suggestions``, of every undecided cluster with a suggestion)."""
    if not any(d.get("status") in CODED_STATUSES for d in decisions.values()) and not include_suggestions:
        if decisions:
            raise ThemesError(f"{run.path}: none of the {len(decisions)} decided cluster(s) is accepted, so "
                              f"nothing is coded; accept clusters in report.html, or pass --include-suggestions")
        raise ThemesError(f"{run.path}: no decisions yet; review the clusters in report.html first, or pass "
                          f"--include-suggestions to export the suggestions, marked as not reviewed")
    builder = _Builder(run)
    notes: list[str] = []
    uncoded: dict[int, str] = {}  # decided cluster id -> why it is not coded
    code_of: dict[int, tuple[str, str]] = {}  # cluster id -> (code key, status)

    for cluster_id, decision in decisions.items():
        if cluster_id in run.clusters and decision.get("status") in ("accepted", "new"):
            code_of[cluster_id] = (_decision_code(builder, decision), decision["status"])
    if include_suggestions:
        for cluster_id, cluster in run.clusters.items():
            if cluster_id not in decisions and cluster.get("suggestions"):
                code_of[cluster_id] = (builder.suggested_code(cluster["suggestions"][0]), SUGGESTED)
    for cluster_id, decision in decisions.items():
        if decision.get("status") == "merged" and cluster_id in run.clusters:
            target = _merge_target(decision, decisions, code_of)
            if target is None:
                into = decision.get("merge_into")
                into = "a cluster not in this run" if into is None else f"cluster {into}, which is not coded"
                uncoded[cluster_id] = f"cluster {cluster_id} is merged into {into}"
                notes.append(f"{uncoded[cluster_id]}; its segments are left uncoded")
            else:  # merged into an undecided cluster's suggestion: the code is still not reviewed
                code, status = target
                code_of[cluster_id] = (code, SUGGESTED if status == SUGGESTED else "merged")
    memos = []
    for cluster_id, decision in sorted(decisions.items()):
        memo = (decision.get("memo") or "").strip()
        if memo:
            memos.append(Memo(cluster_id, decision["status"], memo, code_of.get(cluster_id, (None,))[0],
                              guid("memo", *sorted(run.clusters[cluster_id]["members"]))))

    codings = []
    for cluster_id in sorted(code_of):
        key, status = code_of[cluster_id]
        carried = bool(decisions.get(cluster_id, {}).get("carried"))
        for segment_id in run.clusters[cluster_id].get("members", []):
            codings.append(Coding(run.segments[segment_id], key, cluster_id, status, carried))
    if not codings and decisions:  # every coded decision is a merge into a cluster that is not coded
        why = "; ".join(uncoded.get(cluster_id, f"cluster {cluster_id} is {decision.get('status')}")
                        for cluster_id, decision in sorted(decisions.items()))
        raise ThemesError(f"{run.path}: none of the {len(decisions)} decided cluster(s) is coded ({why}); accept "
                          "clusters in report.html" + ("" if include_suggestions else ", or pass --include-suggestions"))
    if not codings:
        raise ThemesError(f"{run.path}: no cluster has a decision or a suggestion to export")
    codings.sort(key=lambda c: (c.segment.source, c.segment.start, c.segment.end))
    return CodedRun(run, builder.codes, builder.roots, codings, memos, notes)


def _merge_target(decision: dict, decisions: dict[int, dict], code_of: dict) -> tuple[str, str] | None:
    """The (code, status) of the cluster a merged cluster was merged into, following chains of merges."""
    seen: set[int] = set()
    target = decision.get("merge_into")
    while target is not None and target not in seen:
        seen.add(target)
        if target in code_of:
            return code_of[target]
        following = decisions.get(target, {})
        target = following.get("merge_into") if following.get("status") == "merged" else None
    return None


def load_coded_run(run_dir: Path, include_suggestions: bool = False, store: Path | None = None) -> CodedRun:
    run = read_run(run_dir)
    return code_run(run, current_decisions(run, store), include_suggestions)
