"""Run the stages in order and write the run folder, atomically."""

from __future__ import annotations

import csv
import functools
import inspect
import io
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from . import __version__
from .artifacts import UNCLUSTERED, Clustering, Mapping, Segment, Source, Suggestion, TokenMatch, Transcript
from .config import Config, EmbeddingConfig, dump_config, resolve_taxonomy_path
from .embed import Embedder, embed, embedder_record, make_embedder, resolve_model
from .errors import ThemesError
from .privacy import Finding, PseudonymKey, load_names, privacy_flags, pseudonymise, scan, without_identifiers
from .runfolder import within
from .taxonomy import Taxonomy, load_taxonomy
from .words import plural

SEGMENT_COLUMNS = [
    "segment_id", "source", "turn_id", "speaker", "role", "start", "end", "timestamp", "text",
    "annotations", "backchannel", "clusterable", "cluster_id", "code_id", "code_score", "suggestions",
    "privacy_flags",
]


class Progress:
    """Receives stage progress; the CLI shows it. The default shows nothing."""

    def start(self, stage: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def done(self, stage: str, detail: str = "") -> None: ...
    def warn(self, message: str) -> None: ...
    def note(self, message: str) -> None: ...


@dataclass
class RunOutputs:
    config: Config
    sources: list[Source]
    segments: list[Segment]
    embeddings: np.ndarray
    clustering: Clustering
    mapping: Mapping
    taxonomy: Taxonomy | None
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    flags: dict[str, list[str]] | None = None  # segment_id -> kinds of identifier; None: not scanned yet
    embedder: dict[str, str] = field(default_factory=dict)  # what made the vectors (embed.embedder_record)


def _check_cache_outside(config: Config, out_dir: Path) -> None:
    """A stage cache inside the run folder would make it no run folder (a rerun refuses it),
    and its copies of the transcripts would go wherever the folder is sent."""
    from .cache import CACHE_ENV, cache_dir

    folder = cache_dir(config.cache.dir)
    if config.cache.enabled and within(folder, out_dir):
        key = CACHE_ENV if os.environ.get(CACHE_ENV) else "cache.dir"
        raise ThemesError(f"{key}: {folder} is inside the run folder {config.output.dir}, which a rerun replaces "
                          "and people receive; keep the cache outside run folders")


def load_run_taxonomy(config: Config) -> Taxonomy | None:
    path = resolve_taxonomy_path(config.taxonomy)
    return load_taxonomy(path) if path is not None else None


def execute(config: Config, embedder: Embedder | None = None, progress: Progress | None = None) -> RunOutputs:
    """Run every stage on the configured inputs and return the artifacts (writes nothing)."""
    from .cluster import UMAP_SETTINGS, cluster, reduce
    from .ingest import ingest
    from .mapping import embed_and_match_tokens, map_to_taxonomy, match_tokens, no_mapping
    from .maxsim import can_embed_and_match, can_match
    from .segment import segment
    from .speakers import role_warnings

    progress = progress or Progress()
    timings: dict[str, float] = {}
    notes: list[str] = []
    if not config.input.paths:
        raise ThemesError("input.paths: no input given (set input.paths or pass --input)")
    taxonomy = load_run_taxonomy(config)  # fail on a bad taxonomy before the slow stages
    if embedder is None:  # ... and on a model that is not installed (a name or folder)
        resolve_model(config.embedding.model)
    if config.privacy.names_file:  # ... and on a names file that cannot be read
        load_names(Path(config.privacy.names_file))
    out_dir = Path(config.output.dir).resolve()
    if config.privacy.pseudonymise and within(config.privacy.key_path, out_dir):
        raise ThemesError(f"privacy.key_path: {config.privacy.key_path} is inside the run folder {config.output.dir}, "
                          "which a rerun replaces and people receive; keep the key outside run folders")
    _check_cache_outside(config, out_dir)
    from .decisions import check_outside, read_store, store_path

    check_outside(store_path(config), out_dir)
    store = read_store(store_path(config))  # ... and on a broken decision store (read only)
    if store.torn_tail:
        notes.append(store.torn_tail)
        progress.warn(store.torn_tail)

    def timed(name, fn, *args, total=None):
        progress.start(name, total)
        started = time.perf_counter()
        result = fn(*args)
        timings[name] = round(time.perf_counter() - started, 3)
        return result

    from .cache import StageCache, cache_dir, files_digest, sha256_bytes
    from .embed import embedder_fingerprint

    cache = StageCache(cache_dir(config.cache.dir) if config.cache.enabled else None, progress.warn)
    cached: dict[str, bool] = {}

    def stage(name, kind, inputs, sections, fn, *args, total=None, module=None, lazy=False):
        """Run a stage or take its output from the cache -> Result (output, content hash).
        ``inputs`` None (an input the cache cannot identify): always run. ``lazy``: a cached
        output is decoded only when asked for."""
        started = time.perf_counter()
        key = cache.key(name, inputs, sections, module) if inputs is not None else None

        def compute():
            return cache.save(name, key, timed(name, fn, *args, total=total))

        hit = cache.load(name, key, kind, recompute=(lambda: compute().value) if lazy else None) if key else None
        if hit is not None:
            progress.start(name)
            timings[name] = round(time.perf_counter() - started, 3)
        result = hit or compute()
        cached[name] = result.cached
        return result

    def kept(name, kind, inputs, compute, module):
        """A part of a stage kept in the cache on its own: not timed or reported as a stage."""
        key = cache.key(name, inputs, {}, module)
        hit = cache.load(name, key, kind)
        return hit.value if hit else cache.save(name, key, compute()).value

    def keep_tree(inputs, compute):
        """HDBSCAN's single-linkage tree (see cluster.TreeMemory), part of the cluster stage."""
        return kept("tree", tuple[np.ndarray, np.ndarray | None], inputs, compute, "cluster")

    def tag(name):
        return " (cached)" if cached.get(name) else ""

    files = files_digest(config.input.paths)
    # The transcripts themselves are read from the cache only when segments must be made
    # again; the run needs only what ``Source`` keeps of them (a cached entry of its own).
    ingested = stage("ingest", tuple[list[Transcript], list[str]], files and {"files": files},
                     {"input": config.input}, ingest, config.input.paths, config.input.on_error,
                     config.input.columns.model_dump(), config.input.max_file_mb, lazy=True)
    sources, skipped = kept("sources", tuple[list[Source], list[str]], {"transcripts": ingested.digest},
                            lambda: ([Source.of(t) for t in ingested.value[0]], ingested.value[1]), "ingest")
    private = config.privacy.pseudonymise
    for problem in skipped:
        progress.warn(f"skipped: {problem}")
    if private:  # a reason may quote the file, a speaker's real label with it: the console only
        skipped = [private_problem(problem) for problem in skipped]
    notes.extend(f"skipped: {problem}" for problem in skipped)
    for notice in dict.fromkeys(n for s in sources for n in s.notices):  # a table split by source: once
        notes.append(private_notice(notice) if private else notice)  # it may quote the file, as a reason may
        progress.warn(notice)
    progress.done("ingest", f"{plural(len(sources), 'transcript')}, {plural(sum(s.turns for s in sources), 'turn')}"
                            f"{tag('ingest')}")
    segmented = stage("segment", list[Segment], {"transcripts": ingested.digest},
                      {"segmentation": config.segmentation, "speakers": config.speakers},
                      lambda: segment(ingested.value[0], config.segmentation, config.speakers))
    segments = segmented.value
    plain = [*language_warnings(segments, config), *long_segments(segments, config.segmentation.max_chars)]
    for note, said in [*role_warnings(sources, segments, config.speakers, private), *((note, note) for note in plain)]:
        notes.append(note)
        progress.warn(said)
    if config.privacy.pseudonymise:
        # Speaker labels become stable role codes (U1, P2, F1) before anything is shown or
        # written; the label -> code key stays in its own owner-only file.
        with PseudonymKey.held(Path(config.privacy.key_path)) as key:
            segments = pseudonymise(segments, key)
            key.save()
    findings = scan_findings(segments, config)
    flags = privacy_flags(findings)
    if flags:
        notes.append(f"{len(flags)} segment(s) may identify someone (e-mail, phone, postcode, URL or a listed "
                     "name): see the privacy_flags column of segments.csv, and redact before sharing")
    progress.done("segment", f"{len(segments)} segments, {sum(s.clusterable for s in segments)} to cluster{tag('segment')}")

    injected = embedder is not None and not hasattr(embedder, "fingerprint")
    embedder = embedder or make_embedder(config.embedding)
    texts = [s.text for s in segments]
    texts_digest = sha256_bytes(json.dumps(texts, ensure_ascii=False).encode())
    # With a taxonomy, the mapping's word matches need the model over the segments too: where
    # the embedder can, one run of the model gives both, kept for the match stage below.
    fused: dict[str, TokenMatch] = {}

    def embed_stage(texts, embedder, advance):
        if taxonomy is None or not can_embed_and_match(embedder):
            return embed(texts, embedder, advance)
        vectors, fused["match"] = embed_and_match_tokens(texts, taxonomy, embedder, advance)
        return vectors

    embedded = stage("embed", np.ndarray,
                     None if injected else {"texts": texts_digest, "embedder": embedder_fingerprint(embedder)},
                     {"embedding": config.embedding}, embed_stage, texts, embedder, progress.advance,
                     total=len(segments))
    embeddings = embedded.value
    progress.done("embed", f"{len(segments)} segments{tag('embed')}")

    # UMAP's map is a stage of its own, so a rerun that changes only HDBSCAN or keyword settings
    # does not compute it again.
    clustered_inputs = {"segments": segmented.digest, "embeddings": embedded.digest}
    umap_settings = {key: getattr(config.clustering, key) for key in UMAP_SETTINGS}
    if "reduced" in inspect.signature(cluster).parameters:  # else a stand-in that cannot take a map
        reduced = stage("reduce", np.ndarray | None, clustered_inputs, {"umap": umap_settings},
                        reduce, segments, embeddings, config.clustering, module="cluster")
        if reduced.value is not None:
            progress.done("reduce", f"UMAP map of {len(reduced.value)} segments{tag('reduce')}")
        clustered_inputs |= {"reduced": reduced.digest}
        cluster = functools.partial(cluster, reduced=reduced.value)
    if "keep" in inspect.signature(cluster).parameters:
        cluster = functools.partial(cluster, keep=keep_tree)
    if config.clustering.representation != "c-tf-idf":  # keywords embedded with the run's model
        clustered_inputs |= {"embedder": embedder_fingerprint(embedder)}
        cluster = functools.partial(cluster, embedder=embedder)
    clustering = stage("cluster", Clustering, clustered_inputs, {"clustering": config.clustering},
                       cluster, segments, embeddings, config.clustering).value
    clustering, left_out = without_identifiers(clustering, findings)
    if left_out:
        notes.append(f"{plural(left_out, 'keyword')} left out of the clusters' keywords and labels: "
                     "each held a word of an identifier the privacy scan flagged")
    progress.done("cluster", f"{plural(len(clustering.clusters), 'cluster')}{tag('cluster')}")
    for note in clustering.notes:  # why there are no clusters, or which size `auto` chose
        progress.note(note)

    if taxonomy is None:
        mapping = no_mapping(segments, clustering)
    else:
        tokens = None
        if can_match(embedder):  # a stand-in without token vectors is mapped on sentences alone
            # Token-level matches: a stage of its own, so a rerun that changes clustering or
            # mapping settings takes them from the cache; made by the embedding stage when it ran.
            tokens = stage("match", TokenMatch | None,
                           None if injected else {"texts": texts_digest, "embedder": embedder_fingerprint(embedder),
                                                  "taxonomy": taxonomy.digest},
                           {}, lambda *args: fused.pop("match") if fused else match_tokens(*args), texts,
                           taxonomy, embedder, progress.advance, total=len(segments), module="mapping").value
            progress.done("match", f"{plural(len(segments), 'segment')} with "
                                   f"{plural(len(tokens.profile_texts), 'code text')}{tag('match')}")
        mapping = timed("mapping", map_to_taxonomy, segments, embeddings, clustering, taxonomy, embedder,
                        config.mapping, tokens)
    if taxonomy is None:
        progress.done("mapping", "no taxonomy: name the clusters in the report")
    else:
        mappable = [s.segment_id for s in segments if not s.backchannel]
        with_one = sum(1 for sid in mappable if mapping.segments.get(sid))
        suggested = sum(1 for listed in mapping.clusters.values() if listed)
        new = len(mapping.clusters) - suggested
        clusters = (f"{suggested} of {len(mapping.clusters)} clusters with a suggestion; "
                    f"{new} candidate new theme{'' if new == 1 else 's'}" if mapping.clusters else "no clusters")
        progress.done("mapping", f"{taxonomy.id}, {with_one} of {len(mappable)} segments with a suggestion; {clusters}")
    notes.extend(cache.notes)
    return RunOutputs(config, sources, segments, embeddings, clustering, mapping, taxonomy,
                      notes, skipped, timings, cached, flags, embedder_record(embedder))


# One encoder for every row: json.dumps with options builds a new one on each call.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _suggestions_json(suggestions) -> str:
    return _to_json([{"code_id": s.code_id, "score": s.score, **({"words": list(s.words)} if s.words else {})}
                     for s in suggestions]) if suggestions else "[]"


# Where the embedding model stops reading a text (all-MiniLM-L6-v2's tokenizer).
MODEL_PIECES = 256


def long_segments(segments: list[Segment], max_chars: int) -> list[str]:
    """Segments longer than the model reads: ``segmentation.max_chars`` set above it (for
    Chinese or Japanese the default is): the model reads only each one's start."""
    from .segment import word_pieces

    long = [s for s in segments if s.clusterable and word_pieces(s.text) > MODEL_PIECES]
    if not long:
        return []
    longest = max(long, key=lambda s: len(s.text))
    return [f"{plural(len(long), 'segment')} longer than the embedding model reads (about {MODEL_PIECES} word "
            f"pieces: some 1,150 characters of English, 250 of Japanese; the longest {longest.segment_id}, "
            f"{len(longest.text):,} characters): the rest of each counts for nothing in clusters and suggestions; "
            f"a lower segmentation.max_chars (now {max_chars:,}) cuts them shorter"]


def language_warnings(segments: list[Segment], config: Config) -> list[str]:
    """Chinese or Japanese segments in a run set up for another language, or embedded with the
    English model: clustered and mapped poorly, with nothing else to say so."""
    from .segment import CJK_LANGUAGES, cjk_count

    count = cjk_count(segments)
    if not count:
        return []
    found = f"{count} of the {len(segments)} segments {'is' if count == 1 else 'are'} in Chinese or Japanese"
    out = []
    if config.segmentation.language not in CJK_LANGUAGES:
        out.append(f"{found}, but segmentation.language is '{config.segmentation.language}': set it to ja or zh "
                   "for their sentences and keywords (docs/input.md)")
    if config.embedding.model == EmbeddingConfig.model_fields["model"].default:
        out.append(f"{found}, and the embedding model {config.embedding.model} knows English only: they are "
                   "clustered and mapped poorly; set embedding.model to a multilingual model installed locally "
                   "(docs/input.md)")
    return out


def scan_findings(segments: list[Segment], config: Config) -> list[Finding]:
    """The privacy scan of the segments, with the configured list of names."""
    return scan(segments, load_names(Path(config.privacy.names_file) if config.privacy.names_file else None))


def segments_csv(outputs: RunOutputs) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SEGMENT_COLUMNS)
    flags, assignments = outputs.flags or {}, outputs.clustering.assignments
    for s in outputs.segments:
        suggestions = outputs.mapping.segments.get(s.segment_id, [])
        top = suggestions[0] if suggestions else None
        writer.writerow([
            s.segment_id, s.source, s.turn_id, s.speaker, s.role, s.start, s.end, s.timestamp, s.text,
            _to_json(list(s.annotations)) if s.annotations else "",
            int(s.backchannel), int(s.clusterable), assignments.get(s.segment_id, UNCLUSTERED),
            top.code_id if top else "", f"{top.score:.4f}" if top else "", _suggestions_json(suggestions),
            ";".join(flags.get(s.segment_id, ())),
        ])
    return buffer.getvalue()


def _cluster_suggestion_json(s: Suggestion) -> dict:
    """A cluster's suggestion as clusters.json holds it."""
    return {"code_id": s.code_id, "score": s.score, "label": s.label, "path": list(s.path),
            "rationale": s.rationale, "evidence": list(s.evidence), "words": list(s.words)}


def clusters_document(outputs: RunOutputs) -> dict:
    by_id = {s.segment_id: s for s in outputs.segments}
    clusters = []
    for c in outputs.clustering.clusters:
        members = [by_id[sid] for sid in c.segment_ids]
        roles: dict[str, int] = {}
        sources: dict[str, int] = {}
        for s in members:
            roles[s.role] = roles.get(s.role, 0) + 1
            sources[s.source] = sources.get(s.source, 0) + 1
        clusters.append({
            "cluster_id": c.cluster_id, "label": c.label, "size": len(members),
            "keywords": list(c.keywords), "segment_ids": list(c.representative_ids),
            "members": list(c.segment_ids),
            "role_counts": dict(sorted(roles.items())), "source_counts": dict(sorted(sources.items())),
            "suggestions": [_cluster_suggestion_json(s) for s in outputs.mapping.clusters.get(c.cluster_id, [])],
            # With no suggestion: the codes that came closest, all below the threshold.
            "closest": [_cluster_suggestion_json(s) for s in outputs.mapping.closest.get(c.cluster_id, [])],
            "decision": None,
        })
    clusterable = [s for s in outputs.segments if s.clusterable]
    unclustered = sum(1 for s in clusterable if outputs.clustering.assignments.get(s.segment_id) == UNCLUSTERED)
    return {
        "taxonomy": outputs.mapping.taxonomy_id or None,
        "threshold": outputs.mapping.threshold,
        "n_segments": len(outputs.segments), "n_clusterable": len(clusterable), "n_unclustered": unclustered,
        "clusters": clusters,
    }


def private_problem(problem: str) -> str:
    """What a run folder keeps of why a file was skipped, with pseudonyms on: the file (and
    line), not the reason, which may quote the file."""
    where = problem.split(": ", 1)[0]
    return f"{where}: could not be read (the reason, which may quote the file, was shown on the console only)"


def private_notice(notice: str) -> str:
    """What a run folder keeps of a notice on how a file was read, with pseudonyms on: the
    file, not the notice, which may quote it (a title above a table's columns, "Interview with
    Kwame Mensah"; a sheet's name)."""
    where = notice.split(": ", 1)[0]
    return f"{where}: read with a notice (which may quote the file, so it was shown on the console only)"


def saved_config(config: Config) -> dict:
    """The config a run folder keeps. With pseudonyms on, the label patterns of speakers.roles
    and speakers.overrides (often names: "Sarah*") are left out, each list replaced by one
    line that says so; the config file you ran with keeps them."""
    dumped = dump_config(config)
    if config.privacy.pseudonymise:
        speakers = dumped["speakers"]
        hidden = lambda patterns: [f"({len(patterns)} label pattern(s) left out: privacy.pseudonymise)"]  # noqa: E731
        speakers["roles"] = {role: hidden(patterns) for role, patterns in speakers["roles"].items()}
        speakers["overrides"] = {glob: {role: hidden(patterns) for role, patterns in table.items()}
                                 for glob, table in speakers["overrides"].items()}
    return dumped


def manifest(outputs: RunOutputs) -> dict:
    from .cache import installed_version, machine  # importlib.metadata took 0.06 s for these

    versions = {"pipeline": __version__, "python": platform.python_version()}
    for package in ("sentence-transformers", "onnxruntime", "bertopic", "hdbscan", "umap-learn", "pynndescent",
                    "numba", "spacy", "torch", "transformers", "tokenizers", "scikit-learn", "scipy", "numpy"):
        if version := installed_version(package):
            versions[package] = version
    return {
        "versions": versions,
        # What else the clusters depend on: the same versions give other clusters on another
        # kind of processor, or with the fp32 model on a GPU (docs/performance.md, Determinism).
        "embedder": outputs.embedder,
        "machine": machine(),
        "inputs": [{"source": s.source, "path": s.path, "sha256": s.sha256, "turns": s.turns}
                   for s in outputs.sources],
        "skipped": outputs.skipped,
        "taxonomy": outputs.taxonomy.path if outputs.taxonomy else None,
        # The codes decisions could accept in this run, as they were when it ran.
        "taxonomy_codes": [leaf.id for leaf in outputs.taxonomy.leaves] if outputs.taxonomy else [],
        "stage_seconds": outputs.timings,
        "cached": outputs.cached,
        "notes": outputs.notes + outputs.clustering.notes,
    }


def write_run(outputs: RunOutputs, out_dir: Path, report_html: str | None = None) -> Path:
    """Write the run folder into a temporary sibling, then swap it in with renames, so a failed
    or interrupted run leaves any earlier folder at ``out_dir`` as it was. A folder that is not
    an earlier run (``runfolder.prepare_out_dir``) is refused, never replaced."""
    from .runfolder import writing

    out_dir = Path(out_dir)
    with writing(out_dir):  # another run writing the same folder finishes first
        return _write_run(outputs, out_dir, report_html)


def _write_run(outputs: RunOutputs, out_dir: Path, report_html: str | None) -> Path:
    from .decisions import attach_decisions, decision_times, load_decisions, orphan_view, store_path
    from .report import ReportData, render_report
    from .runfolder import cannot_write, prepare_out_dir, swap_in, temp_folder

    prepare_out_dir(out_dir)  # again: the folder may have changed while the stages ran
    tmp = temp_folder(out_dir)

    def put(name: str, text: str) -> None:
        try:
            (tmp / name).write_text(text, encoding="utf-8")
        except OSError as err:  # a full disk, a folder made read-only meanwhile
            raise cannot_write(out_dir, err) from None

    try:
        run_manifest = manifest(outputs)
        if outputs.flags is None:
            outputs.flags = privacy_flags(scan_findings(outputs.segments, outputs.config))
        put("segments.csv", segments_csv(outputs))
        document = clusters_document(outputs)
        # Each cluster's `decision` from the store (own or carried by shared segments); the
        # run only reads the store. The run id covers the config and inputs that shaped it.
        settings = {k: v for k, v in dump_config(outputs.config).items()
                    if k not in ("output", "decisions", "cache")}  # the cache never changes results
        # Transcripts and taxonomy count by content, not by how their paths are spelled (a
        # relative path, an absolute one, a copied folder).
        settings["input"] = {k: v for k, v in settings["input"].items() if k != "paths"}
        settings["taxonomy"] = outputs.taxonomy.digest if outputs.taxonomy else None
        fingerprint = {"config": settings, "inputs": [s.sha256 for s in outputs.sources]}
        codes = frozenset(run_manifest["taxonomy_codes"])
        store = store_path(outputs.config)
        decisions = load_decisions(store)  # read once, never written by a run
        orphaned = attach_decisions(document, out_dir.name, decisions, fingerprint,
                                    [s.source for s in outputs.sources], codes)
        run_manifest["run"] = document["run"]
        # Commands on this run folder find its decisions here, relative to the run folder (so from
        # any folder, and a copied project finds its own store).
        run_manifest["decision_store"] = os.path.relpath(store.resolve(), out_dir.resolve())
        run_manifest["orphaned_decisions"] = [orphan_view(d, document["clusters"], codes, document.get("taxonomy"))
                                            for d in orphaned]
        put("clusters.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        put("config.yaml", yaml.safe_dump(saved_config(outputs.config), sort_keys=False, allow_unicode=True))
        if report_html is None:
            report_html = render_report(ReportData(
                title=out_dir.name, segments=outputs.segments, clustering=outputs.clustering,
                mapping=outputs.mapping, taxonomy=outputs.taxonomy, notes=outputs.notes,
                manifest=run_manifest, run=document["run"],
                decisions={c["cluster_id"]: c["decision"] for c in document["clusters"] if c["decision"]},
                orphaned=run_manifest["orphaned_decisions"], flags=outputs.flags,
                decided_at=decision_times(decisions, document["run"])))
        put("report.html", report_html)
        put("manifest.json", json.dumps(run_manifest, indent=2, ensure_ascii=False) + "\n")
        swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
