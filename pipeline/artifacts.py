"""The typed artifacts every stage speaks, defined once.

ingest -> list[Transcript]; segment -> list[Segment]; embed -> Embeddings (float32 array);
cluster -> Clustering; match -> TokenMatch; mapping -> Mapping; report -> HTML text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

UNCLUSTERED = -1


@dataclass(frozen=True)
class Turn:
    """One speaker turn as read from a source.

    ``start``/``end`` are character offsets in the decoded source text (``Transcript.text``).
    ``text`` is the speech view of ``transcript.text[start:end]``: just as long, with what is
    not speech (cue timings, voice tags, a repeated speaker label) blanked to spaces, so
    offset ``i`` in ``text`` is offset ``start + i`` in the source. Noise markers such as
    ``[inaudible]`` are still in it; segmentation moves them to annotations.
    ``timestamp`` is ``HH:MM:SS[.mmm]`` where the source gives one; ``times`` holds
    ``(offset in text, time)`` for later timed parts of the turn (each cue of a subtitle
    file). ``annotations`` are notes on the whole turn that are not in its text (a row id,
    ``id=101``; the description its speaker's label gave, ``description=nurse``).
    """

    turn_id: int
    speaker: str
    text: str
    start: int
    end: int
    line: int
    timestamp: str = ""
    annotations: tuple[str, ...] = ()
    times: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Transcript:
    """A source file read into turns. ``source`` is its name relative to the input root."""

    source: str
    path: str
    text: str
    turns: tuple[Turn, ...]
    metadata: tuple[str, ...] = ()
    sha256: str = ""
    notices: tuple[str, ...] = ()  # what the reader chose for the user (a table's text column), said once a run


@dataclass(frozen=True)
class Source:
    """What a run needs of a transcript once it is split into segments: where it came from,
    its hash, how many turns it had and its speakers (in order of their first turn), with the
    description each one's label gave."""

    source: str
    path: str
    sha256: str
    turns: int
    speakers: tuple[str, ...]
    notices: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()  # each speaker's description ("nurse" for "Jane (nurse):"), or ""

    @classmethod
    def of(cls, transcript: Transcript) -> "Source":
        from .formats.turns import description_of

        first = {}  # speaker -> their first turn
        for turn in transcript.turns:
            first.setdefault(turn.speaker, turn)
        return cls(transcript.source, transcript.path, transcript.sha256, len(transcript.turns), tuple(first),
                   transcript.notices, tuple(description_of(turn) for turn in first.values()))


@dataclass(frozen=True)
class Segment:
    """A unit of speech that gets embedded and clustered (one or a few sentences)."""

    segment_id: str
    source: str
    turn_id: int
    speaker: str
    role: str
    text: str
    start: int
    end: int
    timestamp: str = ""
    annotations: tuple[str, ...] = ()
    backchannel: bool = False
    clusterable: bool = True


@dataclass(frozen=True)
class Suggestion:
    """A taxonomy code suggested for a cluster or segment, best first in a list.

    ``score`` is in [0, 1]; ``path`` lists the ancestors' ids, theme first. ``words``: words
    of the segment (for a cluster, of the members it is first for) that the code's profile
    uses too, as written, most telling first.
    """

    code_id: str
    score: float
    label: str = ""
    path: tuple[str, ...] = ()
    rationale: str = ""
    evidence: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cluster:
    cluster_id: int
    segment_ids: tuple[str, ...]
    keywords: tuple[str, ...]
    representative_ids: tuple[str, ...]
    label: str = ""


@dataclass
class Clustering:
    """Cluster assignment for the clusterable segments.

    ``assignments`` maps segment_id -> cluster_id (``UNCLUSTERED`` for outliers); segments left
    out of clustering (facilitators, backchannels) are absent. ``coords`` is an (n, 2) map of
    the clusterable segments in ``order`` for the report's overview, or None.
    """

    clusters: list[Cluster]
    assignments: dict[str, int]
    order: list[str] = field(default_factory=list)
    coords: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Mapping:
    """Ranked suggestions per cluster id and per segment id (empty list = no suggestion).

    ``closest``: for a cluster with no suggestion, the codes that came nearest, all below the
    threshold. They are evidence of how far the taxonomy is from the cluster, not suggestions.
    """

    taxonomy_id: str
    clusters: dict[int, list[Suggestion]]
    segments: dict[str, list[Suggestion]]
    threshold: float
    closest: dict[int, list[Suggestion]] = field(default_factory=dict)


@dataclass
class TokenMatch:
    """Token-level similarity (MaxSim, ``pipeline.maxsim``) of the segments to each text of
    the taxonomy's code profiles, in the order of ``profile_texts``: ``segments`` (segments,
    texts), and ``background`` (the generic sentences of ``mapping.BACKGROUND``, texts)."""

    profile_texts: list[str]
    segments: np.ndarray
    background: np.ndarray
