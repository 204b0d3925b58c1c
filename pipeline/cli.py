"""The `themes` command line: parses arguments, loads the config, calls the stages.

Heavy libraries (torch, BERTopic, spaCy) are imported inside the commands that use them, so
`themes --help` and config errors answer at once.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import List, Optional

import typer

from .errors import ThemesError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find candidate themes in transcripts and suggest codes from a taxonomy.")
taxonomy_app = typer.Typer(no_args_is_help=True, help="Check and print taxonomies (codebooks).")
app.add_typer(taxonomy_app, name="taxonomy")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly(fn):
    """Turn ThemesError into one line on stderr and exit code 2; Ctrl-C into exit code 130."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ThemesError as err:
            fail(str(err), err.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; earlier runs and decisions are untouched", 130)
    return wrapper


class ConsoleProgress:
    """Rich progress bars on a terminal; plain log lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._progress = None
        self._task = None

    def start(self, stage: str, total: int | None = None) -> None:
        if self.tty and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(stage, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def done(self, stage: str, detail: str = "") -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        typer.echo(f"{stage}: {detail}", err=True)

    def warn(self, message: str) -> None:
        typer.echo(f"warning: {message}", err=True)


def _load(config: Optional[Path], inputs: Optional[List[Path]] = None, taxonomy: Optional[str] = None,
          out: Optional[Path] = None):
    from .config import load_config

    overrides: dict = {}
    if inputs:
        overrides["input"] = {"paths": [str(p) for p in inputs]}
    if taxonomy:
        overrides["taxonomy"] = taxonomy
    if out:
        overrides["output"] = {"dir": str(out)}
    return load_config(config, overrides)


@app.command()
@friendly
def run(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml."),
    input: Optional[List[Path]] = typer.Option(None, "--input", "-i", help="Transcript file or folder (repeatable); replaces input.paths."),
    taxonomy: Optional[str] = typer.Option(None, "--taxonomy", "-t", help="Shipped taxonomy name, YAML file, or 'none'."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder to write (replaces output.dir)."),
) -> None:
    """Run the whole pipeline and write a run folder with report.html."""
    from .runner import execute, write_run

    cfg = _load(config, input, taxonomy, out)
    outputs = execute(cfg, progress=ConsoleProgress())
    folder = write_run(outputs, Path(cfg.output.dir))
    typer.echo(f"report: {folder / 'report.html'}")


@app.command()
@friendly
def speakers(
    paths: List[Path] = typer.Argument(..., help="Transcript files or folders."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml."),
) -> None:
    """List every speaker label found, its turn count and the role it will get."""
    from .ingest import ingest
    from .speakers import speaker_table

    cfg = _load(config)
    transcripts, skipped = ingest(paths, cfg.input.on_error)
    rows = speaker_table(transcripts, cfg.speakers)
    width = max(len("speaker"), *(len(r[0]) for r in rows))
    typer.echo(f"{'speaker'.ljust(width)}  turns  sources  role")
    for speaker, turns, role, sources in rows:
        typer.echo(f"{speaker.ljust(width)}  {turns:>5}  {sources:>7}  {role}")
    for problem in skipped:
        typer.echo(f"skipped: {problem}", err=True)


@taxonomy_app.command("check")
@friendly
def taxonomy_check(path: str = typer.Argument(..., help="A taxonomy YAML file or a shipped name.")) -> None:
    """Validate a taxonomy and print its tree."""
    from .config import resolve_taxonomy_path
    from .taxonomy import load_taxonomy, render_tree

    resolved = resolve_taxonomy_path(path)
    if resolved is None:
        fail("'none' is not a taxonomy file")
    typer.echo(render_tree(load_taxonomy(resolved)))


@app.command()
@friendly
def doctor(config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config merged over configs/default.yaml.")) -> None:
    """Print versions, where the embedding model is loaded from, and the offline switches."""
    from .doctor import diagnose

    cfg = _load(config)
    rows = diagnose(cfg.embedding.model)
    width = max(len(item) for item, _ in rows)
    for item, value in rows:
        typer.echo(f"{item.ljust(width)}  {value}")


def main() -> None:
    import os

    from .doctor import set_offline

    # Transcripts are confidential: everything written is for the owner only, and no library
    # may reach the network.
    os.umask(0o077)
    set_offline()
    app()


if __name__ == "__main__":
    main()
