"""Stage 6, report: one self-contained HTML file for reviewing the clusters.

Everything is inline (styles, script, the map as SVG drawn by the script), so the page opens
from disk and loads nothing. Transcript text reaches the page only through the template
engine's escaping or inside a JSON block whose ``<``, ``>`` and ``&`` are escaped; the script
writes it with ``textContent``, never as markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from .artifacts import UNCLUSTERED, Clustering, Mapping, Segment, Suggestion
from .mapping import MIN_SUPPORTERS
from .taxonomy import Taxonomy

# The page as a file: nothing may be fetched, and no script runs but the page's own, named by
# its hash (so markup that got in by some fault could not run one). `themes review` serves it
# with one addition, connect-src 'self', so its script can save decisions to the local server.
CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">')
SERVED = "; connect-src 'self'"


def page_csp(script: str) -> str:
    """The policy of a report whose one inline script holds ``script``, exactly."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:; "
            "base-uri 'none'; form-action 'none'")

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d")
UNCLUSTERED_COLOUR = "#b8b8b8"
# A quote longer than this is shown cut, with a way to open the whole text (no script needed).
LONG_QUOTE = 600
EXCERPT = 480


@dataclass
class ReportData:
    """Everything the report shows, gathered from the run's artifacts.

    ``decisions`` maps cluster id -> the cluster's decision field (see pipeline.decisions);
    ``orphaned`` lists decisions that match no cluster of this run.
    """

    title: str
    segments: list[Segment]
    clustering: Clustering
    mapping: Mapping
    taxonomy: Taxonomy | None
    notes: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    run: str = ""
    decisions: dict[int, dict] = field(default_factory=dict)
    orphaned: list[dict] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)  # segment_id -> possible identifiers
    decided_at: dict[int, str] = field(default_factory=dict)  # cluster id -> this run's last decision on it


def colour(cluster_id: int) -> str:
    return UNCLUSTERED_COLOUR if cluster_id == UNCLUSTERED else PALETTE[cluster_id % len(PALETTE)]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["colour"] = colour
    env.filters["when"] = readable_time
    env.filters["reason"] = reason
    env.globals["quotes"] = quotes_html
    return env


# A cluster suggestion's rationale starts with its count, which the report shows beside the score.
COUNT_PREFIX = re.compile(r"^first suggestion for \d+ of \d+ members; ")


def reason(rationale: str) -> str:
    """A suggestion's rationale without the member count the report already shows."""
    return COUNT_PREFIX.sub("", rationale or "")


def readable_time(stamp: str | None) -> str:
    """An ISO 8601 timestamp as "29 Nov 2026, 05:03 UTC"; anything else as it is."""
    try:
        moment = datetime.fromisoformat((stamp or "").replace("Z", "+00:00"))
    except ValueError:
        return stamp or ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def quote_text(text: str) -> str:
    """A quote's text as markup: escaped, and a long one cut with the whole text one click away
    (details/summary: no script). Its ends are quotation marks."""
    if len(text) <= LONG_QUOTE:
        return f"“{escape(text)}”"
    cut = text[:EXCERPT]
    space = cut.rfind(" ")
    if space > EXCERPT * 3 // 4:
        cut = cut[:space]
    return (f'<details class="long"><summary><span class="excerpt">“{escape(cut.rstrip())}…”</span>'
            f'<span class="open-more">show the whole quote ({len(text):,} characters)</span>'
            f'<span class="open-less">show less</span></summary>“{escape(text)}”</details>')


def quotes_html(segments: list[Segment], flags: dict[str, list[str]]) -> Markup:
    """The segments as quotes with who said them where, and a marker on any that may identify
    someone; each carries its role and source for the page's filters. Built here rather than in
    the template: a report of 10,000 segments spent most of its time rendering these lines."""
    parts = []
    who: dict[tuple[str, str, str], tuple[str, str]] = {}  # few speakers, roles and sources: escaped once
    for s in segments:
        found = flags.get(s.segment_id)
        flag = (f' <span class="privacy-flag" title="may identify someone: redact before sharing">'
                f'⚑ may identify: {escape(", ".join(found))}</span>') if found else ""
        if (s.speaker, s.role, s.source) not in who:
            # <bdi>: a right-to-left mark left open in a name cannot turn the rest of the line.
            who[s.speaker, s.role, s.source] = (f"<bdi>{escape(s.speaker)}</bdi> (<bdi>{escape(s.role)}</bdi>) · "
                                                f"<bdi>{escape(s.source)}</bdi>",
                                                f' data-role="{escape(s.role)}" data-source="{escape(s.source)}"')
        speaker, filters = who[s.speaker, s.role, s.source]
        parts.append(f'<blockquote class="quote"{filters}>{quote_text(s.text)}<div class="who">'
                     f'{speaker}, turn {s.turn_id}{flag}</div></blockquote>\n')
    return Markup("".join(parts))


def script_json(value) -> Markup:
    """JSON safe inside a <script> element: no character can close it or start markup."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return Markup(text)


# How the template holds the script (report.html.j2: <script>, a line break, the script, a line
# break): what the policy's hash is computed over.
SCRIPT_AROUND = "\n{}\n"


def _asset(name: str) -> Markup:
    text = resources.files("pipeline").joinpath("templates", name).read_text(encoding="utf-8")
    if "</" in text:  # would end the inline <script>/<style> early
        raise ValueError(f"templates/{name} must not contain '</'")
    return Markup(text)


def lone_first(closest: list[Suggestion], size: int, threshold: float) -> int | None:
    """For a cluster with no suggestion: how many members the closest code is first for, when
    that reaches the share ``threshold`` but is under ``MIN_SUPPORTERS`` (the reason the cluster
    got none); None when the share is what fell short."""
    if not closest or not size:
        return None
    count = round(closest[0].score * size)
    return count if count / size >= threshold and count < MIN_SUPPORTERS else None


def cluster_views(data: ReportData) -> list[dict]:
    by_id = {s.segment_id: s for s in data.segments}
    views = []
    for cluster in data.clustering.clusters:
        members = [by_id[sid] for sid in cluster.segment_ids]
        suggestions = data.mapping.clusters.get(cluster.cluster_id, [])
        views.append({
            "cluster": cluster,
            "size": len(members),
            "roles": Counter(s.role for s in members).most_common(),
            "sources": Counter(s.source for s in members).most_common(),
            "quotes": [by_id[sid] for sid in cluster.representative_ids],
            "members": members,
            "suggestions": suggestions,
            "closest": data.mapping.closest.get(cluster.cluster_id, []),
            "lone_first": lone_first(data.mapping.closest.get(cluster.cluster_id, []), len(members),
                                     data.mapping.threshold),
            "codes": [s.code_id for s in suggestions],
            "decision": data.decisions.get(cluster.cluster_id),
        })
    return views


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def page_data(data: ReportData, views: list[dict]) -> dict:
    """What the page's script needs: decisions, members (for downloads), codes, the map, and
    each cluster's label and keywords for the search (which reads the texts from the cards)."""
    by_id = {s.segment_id: s for s in data.segments}
    points = []
    coords = data.clustering.coords
    if coords is not None and len(data.clustering.order) == len(coords):
        for sid, (x, y) in zip(data.clustering.order, coords):
            s = by_id[sid]
            cid = data.clustering.assignments.get(sid, UNCLUSTERED)
            points.append([round(float(x), 4), round(float(y), 4), cid,
                           f"{s.speaker} ({s.role}), {s.source} turn {s.turn_id}: {_short(s.text)}"])
    codes = []
    if data.taxonomy is not None:
        for leaf in data.taxonomy.leaves:
            codes.append({"id": leaf.id, "label": leaf.label,
                          "group": " › ".join(c.label for c in data.taxonomy.ancestors(leaf.id))})
    return {
        "run": data.run, "title": data.title,
        "taxonomy": {"id": data.taxonomy.id, "label": data.taxonomy.label} if data.taxonomy else None,
        "codes": codes,
        "clusters": [{"id": v["cluster"].cluster_id, "label": v["cluster"].label, "size": v["size"],
                      "colour": colour(v["cluster"].cluster_id), "members": list(v["cluster"].segment_ids),
                      "suggestions": v["codes"], "decision": v["decision"],
                      "keywords": list(v["cluster"].keywords)} for v in views],
        "points": points,
        "orphaned": data.orphaned,
        "decided_at": {str(cid): when for cid, when in data.decided_at.items()},
    }


def render_report(data: ReportData) -> str:
    """Render the report; every transcript text is HTML-escaped by the template engine."""
    clusterable = [s for s in data.segments if s.clusterable]
    outliers = [s for s in clusterable if data.clustering.assignments.get(s.segment_id) == UNCLUSTERED]
    unclustered = len(outliers)
    views = cluster_views(data)
    coverage = []
    if data.taxonomy is not None:
        suggested: dict[str, list[int]] = {}
        accepted: dict[str, list[int]] = {}
        for v in views:
            cid = v["cluster"].cluster_id
            if v["codes"]:
                suggested.setdefault(v["codes"][0], []).append(cid)
            if v["decision"] and v["decision"]["status"] == "accepted":
                accepted.setdefault(v["decision"]["code_id"], []).append(cid)
        coverage = [{"code": leaf, "group": " › ".join(c.label for c in data.taxonomy.ancestors(leaf.id)),
                     "suggested": suggested.get(leaf.id, []), "accepted": accepted.get(leaf.id, [])}
                    for leaf in data.taxonomy.leaves]
    segment_roles = Counter(s.role for s in data.segments)
    template = _environment().get_template("report.html.j2")
    script = _asset("report.js")
    return template.render(
        title=data.title, run=data.run, clusters=views, taxonomy=data.taxonomy, coverage=coverage,
        n_segments=len(data.segments), n_clusterable=len(clusterable), n_unclustered=unclustered,
        roles=segment_roles.most_common(),
        all_roles=sorted({s.role for v in views for s in v["members"]}),
        all_sources=sorted({s.source for s in data.segments}),
        notes=data.notes + data.clustering.notes, manifest=data.manifest,
        threshold=data.mapping.threshold, orphaned=data.orphaned, outliers=outliers,
        max_size=max([v["size"] for v in views] + [unclustered, 1]),  # one scale for every bar, unclustered too
        code_labels={leaf.id: leaf.label for leaf in data.taxonomy.leaves} if data.taxonomy else {},
        csp=Markup(page_csp(SCRIPT_AROUND.format(script))), data_json=script_json(page_data(data, views)),
        style=_asset("report.css"), script=script, flags=data.flags, min_supporters=MIN_SUPPORTERS,
    )


def served_html(html: str) -> tuple[str, str]:
    """The report as `themes review` serves it: the same page, allowed to talk to its server
    -> (page, its policy, which the server sends as a header too). A report made by an earlier
    version keeps its own policy, plus the same addition."""
    found = CSP_META.search(html)
    if not found:
        raise ValueError("this report.html has no recognised Content-Security-Policy; rerun to rebuild it")
    policy = found.group(1) + SERVED
    return html[:found.start(1)] + policy + html[found.end(1):], policy
