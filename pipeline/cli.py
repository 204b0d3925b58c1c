"""The `themes` command line: parses arguments, loads the config, calls the stages.

Heavy libraries (torch, BERTopic, spaCy) are imported inside the commands that use them, so
`themes --help` and config errors answer at once.
"""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .errors import ThemesError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find candidate themes in transcripts and suggest codes from a taxonomy.")
taxonomy_app = typer.Typer(no_args_is_help=True, help="Check and print taxonomies (codebooks).")
app.add_typer(taxonomy_app, name="taxonomy")
cache_app = typer.Typer(no_args_is_help=True, help="Manage the stage cache (cache.dir, or THEMES_CACHE_DIR).")
app.add_typer(cache_app, name="cache")
decisions_app = typer.Typer(no_args_is_help=True, help="Show the analyst's decisions; import those downloaded from a report.")
app.add_typer(decisions_app, name="decisions")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def given_path(value: str) -> Path:
    """A path given on the command line. An empty one (an unset shell variable: `--input "$DIR"`)
    is refused: as Path it would be the current folder, and a run would read every file in it."""
    if not value.strip():
        raise typer.BadParameter("an empty path (is a shell variable unset?)")
    return Path(value)


def friendly(fn):
    """Turn ThemesError into one line on stderr and exit code 2; Ctrl-C into exit code 130. An
    OSError no stage explained (a full disk, a folder that cannot be read) also becomes one line
    naming the file, exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ThemesError as err:
            fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            # Ctrl-C may come after a step finished (a decision saved, a run folder swapped in):
            # what holds at any moment is that nothing is left half-written.
            fail("interrupted; nothing is left half-written: a run folder holds the earlier run or the "
                 "new one, and a decision is saved whole or not at all", 130)
        except OSError as err:
            names = " -> ".join(str(name) for name in (err.filename, err.filename2) if name is not None)
            fail(f"{names}: {err.strerror or err}" if names else str(err.strerror or err))
    return wrapper


class ConsoleProgress:
    """Rich progress bars on a terminal; plain log lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._progress = None
        self._task = None

    def start(self, stage: str, total: int | None = None) -> None:
        self._stage, self._total, self._count = stage, total, 0
        self._next_line = (total or 0) // 10
        if self.tty:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn)

            counts = MofNCompleteColumn() if total else TextColumn("")
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), counts,
                                      TimeElapsedColumn(), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(stage, total=total)

    def advance(self, n: int = 1) -> None:
        self._count += n
        if self._progress is not None:
            self._progress.advance(self._task, n)
        elif self._total and self._total >= 1000 and self._count >= self._next_line:
            # Not a terminal (a log file, CI): a plain line every tenth of a long stage.
            typer.echo(f"{self._stage}: {self._count}/{self._total}", err=True)
            self._next_line = self._count + self._total // 10

    def done(self, stage: str, detail: str = "") -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        typer.echo(f"{stage}: {detail}", err=True)

    def warn(self, message: str) -> None:
        typer.echo(f"warning: {message}", err=True)

    def note(self, message: str) -> None:
        typer.echo(f"note: {message}", err=True)


def _load(config: Optional[Path], inputs: Optional[List[Path]] = None, taxonomy: Optional[str] = None,
          out: Optional[Path] = None, text_column: Optional[str] = None):
    from .config import load_config

    overrides: dict = {}
    if inputs:
        overrides["input"] = {"paths": [str(p) for p in inputs]}
    if taxonomy is not None:
        if not taxonomy.strip():  # refused as `taxonomy: ""` is, not dropped for the config's
            raise ThemesError("--taxonomy: must be a taxonomy name, a file path or 'none'")
        overrides["taxonomy"] = taxonomy
    if out:
        overrides["output"] = {"dir": str(out)}
    loaded = load_config(config, overrides)
    if text_column is not None:  # only the text column: the config's other columns stay
        from .config import with_text_column

        loaded = with_text_column(loaded, text_column)
    return loaded


TEXT_COLUMN_OPTION = typer.Option(None, "--text-column", help="Column holding the text in Excel, CSV, TSV or JSONL input (replaces input.columns.text).")


@app.command()
@friendly
def run(
    paths: Optional[List[Path]] = typer.Argument(None, help="Transcript files or folders, as --input gives them (a shell glob: interviews/*.docx).", parser=given_path),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml.", parser=given_path),
    input: Optional[List[Path]] = typer.Option(None, "--input", "-i", help="Transcript file or folder (repeatable); replaces input.paths.", parser=given_path),
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", "-t", help="Shipped taxonomy name; a YAML, Excel, CSV/TSV or REFI-QDA .qdc codebook; or 'none'."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder to write (replaces output.dir).", parser=given_path),
    text_column: Optional[str] = TEXT_COLUMN_OPTION,
    no_cache: bool = typer.Option(False, "--no-cache", help="Recompute every stage; neither read nor write the stage cache."),
) -> None:
    """Run the whole pipeline and write a run folder with report.html."""
    inputs = [*(input or []), *(paths or [])]
    configs = [path for path in paths or [] if path.suffix.lower() in (".yaml", ".yml")]
    if configs:  # `themes run my.yaml` would read the config as a transcript
        fail(f"{configs[0]}: a YAML file given as a transcript; pass a config with --config {configs[0]}")
    cfg = _load(config, inputs, taxonomy, out, text_column)  # before the runner's imports: config errors answer at once
    if taxonomy is None and config is not None:
        _check_taxonomy_of(config, cfg.taxonomy)
    if no_cache:
        cfg.cache.enabled = False
    from .runfolder import prepare_out_dir

    progress = ConsoleProgress()
    for note in prepare_out_dir(Path(cfg.output.dir)):  # a folder that cannot be written: before the slow stages
        progress.note(note)
    from .runner import execute, write_run

    outputs = execute(cfg, progress=progress)
    folder = write_run(outputs, Path(cfg.output.dir))
    typer.echo(f"report: {folder / 'report.html'}")


def _check_taxonomy_of(config: Path, value: str) -> None:
    """A taxonomy named in a config file that names nothing: say so at its line in that file."""
    from .config import resolve_taxonomy_path
    from .errors import ThemesError, where
    from .yamlio import read_yaml

    try:
        resolve_taxonomy_path(value)
    except ThemesError as err:
        _, lines = read_yaml(config)
        if ("taxonomy",) not in lines:
            raise
        raise ThemesError(f"{where(config, lines[('taxonomy',)], 'taxonomy')}: "
                          f"{str(err).removeprefix('taxonomy: ')}") from None


@app.command()
@friendly
def speakers(
    paths: Optional[List[Path]] = typer.Argument(None, help="Transcript files or folders (default: input.paths).", parser=given_path),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml.", parser=given_path),
    text_column: Optional[str] = TEXT_COLUMN_OPTION,
) -> None:
    """List every speaker label found, its turn count and the role it will get."""
    from .ingest import ingest
    from .speakers import render_speaker_table, speaker_table

    cfg = _load(config, paths, text_column=text_column)
    transcripts, skipped = ingest(cfg.input.paths, cfg.input.on_error, cfg.input.columns.model_dump(),
                                  cfg.input.max_file_mb)
    typer.echo(render_speaker_table(speaker_table(transcripts, cfg.speakers)))
    for notice in dict.fromkeys(n for t in transcripts for n in t.notices):
        typer.echo(notice, err=True)
    for problem in skipped:
        typer.echo(f"skipped: {problem}", err=True)


@app.command()
@friendly
def export(
    run_dir: Path = typer.Argument(..., help="A run folder written by `themes run`.", parser=given_path),
    format: str = typer.Option(..., "--format", "-f",
                               help="qdpx | qdc | csv | xlsx | codebook-csv | codebook-md | md | docx"),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (replaced atomically if it exists).", parser=given_path),
    include_suggestions: bool = typer.Option(False, "--include-suggestions",
                                             help="Also code undecided clusters with their top suggestion, "
                                                  "marked 'suggested, not reviewed'."),
    author: Optional[str] = typer.Option(None, "--author", help="The analyst's name in the project (default: $THEMES_AUTHOR or login name)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml (for decisions.path).", parser=given_path),
) -> None:
    """Export accepted themes: a REFI-QDA project, a codebook, coded segments or a results draft."""
    from .export import export as export_run

    summary = export_run(run_dir, format, out, include_suggestions=include_suggestions, author=author,
                         store=_store(config, run_dir))
    for note in summary.notes:
        typer.echo(f"warning: {note}", err=True)
    typer.echo(f"{format}: {summary}")


@cache_app.command("clear")
@friendly
def cache_clear(config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml.", parser=given_path)) -> None:
    """Remove every cached stage output; the next run recomputes everything."""
    from .cache import cache_dir, clear

    folder = cache_dir(_load(config).cache.dir)
    try:
        removed = clear(folder)
    except OSError as err:
        fail(f"{folder}: cannot clear the cache ({err.strerror or err})")
    typer.echo(f"cache: removed {removed} entries from {folder}")


@taxonomy_app.command("check")
@friendly
def taxonomy_check(path: str = typer.Argument(..., help="A taxonomy (YAML), a codebook table (Excel .xlsx, CSV or TSV) or a REFI-QDA codebook (.qdc), or a shipped name.")) -> None:
    """Validate a taxonomy and print its tree."""
    from .config import resolve_taxonomy_path
    from .taxonomy import load_taxonomy, render_tree

    resolved = resolve_taxonomy_path(path)
    if resolved is None:
        fail("'none' is not a taxonomy file")
    typer.echo(render_tree(load_taxonomy(resolved)))


@app.command()
@friendly
def scan(
    paths: Optional[List[Path]] = typer.Argument(None, help="Transcript files or folders (default: input.paths).", parser=given_path),
    names: Optional[Path] = typer.Option(None, "--names", help="Text file of names to flag, one a line (default: privacy.names_file).", parser=given_path),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml.", parser=given_path),
    text_column: Optional[str] = TEXT_COLUMN_OPTION,
) -> None:
    """Flag segments that may identify someone: e-mails, phone numbers, postcodes, URLs, names."""
    from .ingest import ingest
    from .privacy import load_names, scan as scan_segments
    from .segment import segment

    cfg = _load(config, paths, text_column=text_column)
    transcripts, _ = ingest(cfg.input.paths, cfg.input.on_error, cfg.input.columns.model_dump(),
                            cfg.input.max_file_mb)
    segments = segment(transcripts, cfg.segmentation, cfg.speakers)
    names_path = names or (Path(cfg.privacy.names_file) if cfg.privacy.names_file else None)
    findings = scan_segments(segments, load_names(names_path, "--names" if names else "privacy.names_file"))
    by_id = {s.segment_id: s for s in segments}
    for finding in findings:
        typer.echo(f"{finding.segment_id}\t{finding.kind}\t{finding.match}\t{by_id[finding.segment_id].text}")
    typer.echo(f"{len(findings)} possible identifier(s) in {len({f.segment_id for f in findings})} segment(s)", err=True)


@app.command()
@friendly
def doctor(config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml.", parser=given_path)) -> None:
    """Print versions, where the embedding model is loaded from, and the offline switches."""
    from .doctor import diagnose

    cfg = _load(config)
    rows = diagnose(cfg.embedding.model, cfg.embedding.backend)
    width = max(len(item) for item, _ in rows)
    for item, value in rows:
        typer.echo(f"{item.ljust(width)}  {value}")


CONFIG_OPTION = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml (for decisions.path).", parser=given_path)
AUTHOR_OPTION = typer.Option(None, "--author", help="Your name on each decision (default: $THEMES_AUTHOR or login name).")


def _store(config: Optional[Path], run_dir: Optional[Path] = None) -> Path:
    """The decision store ($THEMES_DECISIONS; else decisions.path of --config; else, for a
    command on a run folder, the store that run was made with), after warning about an
    interrupted write."""
    from .decisions import check_outside, read_store, run_store, store_path

    store = run_store(run_dir) if run_dir is not None and config is None else store_path(_load(config))
    if run_dir is not None:
        check_outside(store, run_dir)
    torn = read_store(store).torn_tail
    if torn:
        typer.echo(f"warning: {torn}", err=True)
    return store


@app.command()
@friendly
def review(
    run_dir: Path = typer.Argument(..., help="A run folder written by `themes run`.", parser=given_path),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port on 127.0.0.1 (default: any free one)."),
    author: Optional[str] = AUTHOR_OPTION,
    open_browser: bool = typer.Option(False, "--open", help="Also open the page in your web browser."),
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Serve a run's report on localhost; each decision is saved to the decision store at once."""
    from .review import ReviewServer, open_in_browser, serve

    store = _store(config, run_dir)
    server = ReviewServer(run_dir, store, author, port)
    typer.echo(f"review: {server.url}")
    opener = open_in_browser(server.url) if open_browser else None
    typer.echo(f"decisions are saved to {store} as you click; Ctrl-C stops the server", err=True)
    try:
        cut_off = serve(server)
    finally:
        if opener:
            shutil.rmtree(opener, ignore_errors=True)
    if cut_off:
        typer.echo(f"review stopped while {cut_off} decision(s) were being saved (the store was busy): "
                   "their pages say “Not saved”; every other decision was saved", err=True)
    else:
        typer.echo("review stopped; every decision was saved", err=True)


@app.command("decide")
@friendly
def decide_command(
    run_dir: Path = typer.Argument(..., help="A run folder written by `themes run`.", parser=given_path),
    cluster_id: int = typer.Argument(..., help="The cluster to decide on."),
    code_id: Optional[str] = typer.Argument(None, metavar="[CODE_ID]", help="With --accept: the code (default: the top suggestion)."),
    accept: bool = typer.Option(False, "--accept", help="Accept the top suggestion, or CODE_ID."),
    reject: bool = typer.Option(False, "--reject", help="Not a theme (noise)."),
    new: Optional[str] = typer.Option(None, "--new", metavar="NAME", help="A new theme with this name."),
    definition: Optional[str] = typer.Option(None, "--definition", help="With --new: the theme's definition."),
    merge: Optional[int] = typer.Option(None, "--merge", metavar="OTHER_ID", help="Merge into another cluster of the run."),
    undo: bool = typer.Option(False, "--undo", help="Take the cluster's decision back: undecided again."),
    memo: Optional[str] = typer.Option(None, "--memo", help="A memo with the decision (it replaces the cluster's memo); alone, set on the current decision."),
    author: Optional[str] = AUTHOR_OPTION,
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Decide on one cluster: --accept [CODE_ID] | --reject | --new NAME | --merge OTHER_ID [--memo TEXT] | --undo."""
    from .review import current_memo, decide, describe

    chosen = [flag for flag, given in (("--accept", accept), ("--reject", reject), ("--new", new is not None),
                                       ("--merge", merge is not None), ("--undo", undo)) if given]
    if len(chosen) > 1:
        fail(f"choose one of --accept, --reject, --new, --merge, --undo (got {' and '.join(chosen)})")
    if not chosen and memo is None:
        fail("say what you decide: --accept [CODE_ID] | --reject | --new NAME | --merge OTHER_ID [--memo TEXT] | --undo")
    if undo and memo is not None:
        fail("--undo takes the decision back with its memo; --memo goes with a decision")
    if code_id is not None and not accept:
        fail(f"a code ({code_id}) goes with --accept")
    if definition is not None and new is None:
        fail("--definition goes with --new NAME")
    status = {"--accept": "accepted", "--reject": "rejected", "--new": "new", "--merge": "merged",
              "--undo": "undecided"}.get(
        chosen[0] if chosen else "")
    store = _store(config, run_dir)
    before = current_memo(run_dir, store, cluster_id) if memo else None
    decision = decide(run_dir, store, cluster_id, status, code_id=code_id, name=new, definition=definition,
                      merge_into=merge, memo=memo, author=author)
    typer.echo(f"cluster {cluster_id}: {describe(decision)} (saved to {store})")
    if before and before != decision.memo:  # a cluster has one memo: say which one went
        typer.echo(f"note: this memo replaces “{' '.join(before.split())}” (still in the store's earlier lines)",
                   err=True)


@decisions_app.command("show")
@friendly
def decisions_show(
    run_dir: Optional[Path] = typer.Option(None, "--run", help="Show how the decisions apply to this run folder, and which are orphaned.", parser=given_path),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Print the current decisions (the last per cluster), or how they apply to a run."""
    import json

    from .review import decisions_report

    report = decisions_report(_store(config, run_dir), run_dir)
    typer.echo(json.dumps(report.data, indent=2, ensure_ascii=False) if as_json else report.text)


@decisions_app.command("import")
@friendly
def decisions_import(
    file: Path = typer.Argument(..., help="A decisions file downloaded from a report opened as a file.", parser=given_path),
    run_dir: Optional[Path] = typer.Option(None, "--run", help="The run folder it came from (checked); default: output.dir when it holds that run.", parser=given_path),
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Add the decisions downloaded from a static report to the decision store."""
    from .review import import_decisions

    store = _store(config, run_dir)
    default = Path(_load(config).output.dir)
    folder = run_dir or (default if (default / "clusters.json").is_file() else None)
    result = import_decisions(file, store, folder, must_match=run_dir is not None)
    if result.checked_against:
        where = f"checked against {result.checked_against}"
    elif result.earlier:
        where = f"made in an earlier run of {folder}: they carry to its clusters by their segments"
    else:
        where = "no run folder holds that run: the decisions carry forward by their segments"
    older = (f"; {result.superseded} left out, older than the store's decision on their cluster"
             if result.superseded else "")
    typer.echo(f"imported {result.imported} decision(s) of run {result.run} into {store} "
               f"({result.unchanged} already there{older}; {where})")


@app.command()
@friendly
def codebook(
    run_dir: Path = typer.Argument(..., help="A run folder written by `themes run`.", parser=given_path),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Print the accepted themes of a run: codes and new themes, definitions, member counts."""
    import json

    from .review import codebook as build_codebook, format_codebook

    book = build_codebook(run_dir, _store(config, run_dir))
    typer.echo(json.dumps(book, indent=2, ensure_ascii=False) if as_json else format_codebook(book))


def main() -> None:
    import gc
    import os

    from .doctor import set_offline

    # Transcripts are confidential: everything written is for the owner only, and no library
    # may reach the network.
    os.umask(0o077)
    set_offline()
    try:
        app()
    except SystemExit as done:
        if done.code == 130:  # Ctrl-C, already said in one line
            # Leave at once: native worker threads (onnxruntime's, the tokenizer's) may still be
            # running, and finalizing the interpreter under them aborts the process ("terminate
            # called without an active exception", exit 134). Every file is closed by now.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise
    finally:
        # What is left at exit is freed without the collector's passes over every imported
        # module (about 0.5 s once BERTopic is loaded); finalizers still run.
        gc.freeze()


if __name__ == "__main__":
    main()
