"""Stage 6, report: one self-contained HTML file for reviewing the clusters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from jinja2 import Environment, PackageLoader, select_autoescape

from .artifacts import UNCLUSTERED, Clustering, Mapping, Segment
from .taxonomy import Taxonomy


@dataclass
class ReportData:
    """Everything the report shows, gathered from the run's artifacts."""

    title: str
    segments: list[Segment]
    clustering: Clustering
    mapping: Mapping
    taxonomy: Taxonomy | None
    notes: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True,
    )


def cluster_views(data: ReportData) -> list[dict]:
    by_id = {s.segment_id: s for s in data.segments}
    views = []
    for cluster in data.clustering.clusters:
        members = [by_id[sid] for sid in cluster.segment_ids]
        views.append({
            "cluster": cluster,
            "size": len(members),
            "roles": Counter(s.role for s in members).most_common(),
            "sources": Counter(s.source for s in members).most_common(),
            "quotes": [by_id[sid] for sid in cluster.representative_ids],
            "members": members,
            "suggestions": data.mapping.clusters.get(cluster.cluster_id, []),
        })
    return views


def render_report(data: ReportData) -> str:
    """Render the report; every transcript text is HTML-escaped by the template engine."""
    clusterable = [s for s in data.segments if s.clusterable]
    unclustered = sum(1 for s in clusterable if data.clustering.assignments.get(s.segment_id) == UNCLUSTERED)
    coverage = []
    if data.taxonomy is not None:
        suggested = Counter(
            data.mapping.clusters[c.cluster_id][0].code_id
            for c in data.clustering.clusters if data.mapping.clusters.get(c.cluster_id)
        )
        coverage = [(leaf, suggested.get(leaf.id, 0)) for leaf in data.taxonomy.walk() if leaf.is_leaf]
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=data.title, clusters=cluster_views(data), taxonomy=data.taxonomy, coverage=coverage,
        n_segments=len(data.segments), n_clusterable=len(clusterable), n_unclustered=unclustered,
        roles=Counter(s.role for s in data.segments).most_common(),
        notes=data.notes + data.clustering.notes, manifest=data.manifest,
        threshold=data.mapping.threshold,
    )
