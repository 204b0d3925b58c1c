"""Stage 7, export: a run's accepted themes in the formats the analyst's next tools read.

``export(run_dir, fmt, out)`` reads the run folder and the decisions, codes the segments of
every accepted cluster (``model.code_run``), renders one format, and replaces ``out``
atomically. Formats:

- ``qdpx``: a REFI-QDA project (QDA-XML 1.0) for NVivo, ATLAS.ti, MAXQDA, QualCoder
- ``qdc``: the REFI-QDA codebook alone
- ``csv``, ``xlsx``: coded segments, one row a segment and code (the xlsx adds the codebook)
- ``codebook-csv``, ``codebook-md``: the codebook with definitions and counts by role
- ``md``, ``docx``: a Results-section draft with attributed quotes
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ThemesError
from ..files import write_atomic
from ..words import plural
from .model import CodedRun, code_run, current_decisions, read_run
from .place import check_out, check_out_for_run

QDPX_PRIVATE = ("this run is pseudonymised, but a REFI-QDA project holds the transcripts themselves, with "
                "their speakers' real labels: share it only as you would share the transcripts")
FORMATS = ("qdpx", "qdc", "csv", "xlsx", "codebook-csv", "codebook-md", "md", "docx")
CODEBOOK_FORMATS = ("qdc", "codebook-csv", "codebook-md")


@dataclass(frozen=True)
class ExportSummary:
    out: Path
    fmt: str
    codes: int
    segments: int
    clusters: int
    suggested: int
    notes: tuple[str, ...] = ()
    in_codebook: int = 0  # every code and group written, used or not

    def __str__(self) -> str:
        if self.fmt in CODEBOOK_FORMATS:  # the codes alone, no coded segments
            text = (f"{self.out}: a codebook of {plural(self.in_codebook, 'code')} and groups, "
                    f"{self.codes} of them used (in {plural(self.clusters, 'cluster')})")
        else:
            text = (f"{self.out}: {plural(self.segments, 'coded segment')} in {plural(self.clusters, 'cluster')}, "
                    f"{plural(self.codes, 'code')} used")
        return text + (f" ({plural(self.suggested, 'segment')} suggested, not reviewed)" if self.suggested else "")


def render(coded: CodedRun, fmt: str, author: str) -> bytes:
    """The bytes of the export in format ``fmt``: the same run and decisions give the same bytes."""
    from . import draft, qdpx, tables

    renderers = {
        "qdpx": lambda: qdpx.project_qdpx(coded, author),
        "qdc": lambda: qdpx.codebook_qdc(coded),
        "csv": lambda: tables.segments_csv(coded),
        "xlsx": lambda: tables.segments_xlsx(coded),
        "codebook-csv": lambda: tables.codebook_csv(coded),
        "codebook-md": lambda: tables.codebook_md(coded),
        "md": lambda: draft.draft_md(coded),
        "docx": lambda: draft.draft_docx(coded, author),
    }
    data = renderers[fmt]()
    return steady_office_file(data) if fmt in ("xlsx", "docx") else data


# One time for every zip entry and for an Office file's own created/modified stamps, so that an
# export made again is the same file (the QDPX writer uses it too).
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_STAMP = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def steady_office_file(data: bytes) -> bytes:
    """An Office file (a zip) written again with every entry at ``FIXED_TIME`` and the created
    and modified stamps of docProps/core.xml at that time: openpyxl stamps the time of saving,
    python-docx its template's date and each entry's zip time."""
    stamp = b"%04d-%02d-%02dT%02d:%02d:%02dZ" % FIXED_TIME
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "docProps/core.xml":
                body = _STAMP.sub(lambda m: m.group(1) + stamp + m.group(3), body)
            target.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def analyst(author: str | None) -> str:
    """The analyst's name for the project and the draft: ``author`` (``--author``), else
    $THEMES_AUTHOR or the login name, as for decisions. A name no file can hold (half of an
    emoji, a byte that is not UTF-8, a control character) is refused in one line naming where
    it came from, by ``themes decide``'s own check and words."""
    from ..review import analyst_name

    return analyst_name(author)


def export(run_dir: Path, fmt: str, out: Path, include_suggestions: bool = False,
           author: str | None = None, store: Path | None = None) -> ExportSummary:
    """Export run ``run_dir`` as ``fmt`` to ``out`` (replaced if it exists), with the decisions
    in ``store`` (default: the run's own decision store, ``decisions.run_store``)."""
    from ..decisions import run_store

    if fmt not in FORMATS:
        raise ThemesError(f"--format: unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    out = Path(out)
    check_out(out)
    author = analyst(author)
    run = read_run(Path(run_dir))
    store = Path(store) if store is not None else run_store(run.path)
    check_out_for_run(out, run, store)
    coded = code_run(run, current_decisions(run, store), include_suggestions)
    data = render(coded, fmt, author)
    try:
        write_atomic(out, data)
    except OSError as err:  # a folder that cannot be written, a full disk
        raise ThemesError(f"{out}: cannot write the export ({err.strerror or err}); "
                          "an existing file there is as it was") from None
    return ExportSummary(
        out=out, fmt=fmt, codes=len({c.code for c in coded.codings}), segments=len(coded.codings),
        clusters=len({c.cluster_id for c in coded.codings}),
        suggested=sum(1 for c in coded.codings if c.status == "suggested"),
        notes=tuple(coded.notes) + ((QDPX_PRIVATE,) if fmt == "qdpx" and coded.run.config.privacy.pseudonymise else ()),
        in_codebook=len(coded.codes),
    )
