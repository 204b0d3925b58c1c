"""Speaker roles: glob patterns over speaker names (or the description after a name), with
per-source overrides."""

from __future__ import annotations

import unicodedata
from collections import Counter
from fnmatch import fnmatchcase

from .artifacts import Segment, Source, Transcript
from .config import SpeakersConfig
from .formats.turns import description_of, stated_role

UNLABELLED_ROLE = "respondent"


def role_of(speaker: str, source: str, config: SpeakersConfig, description: str = "", stated: str = "") -> str:
    """The role for ``speaker`` in ``source``: the first matching pattern wins.

    Overrides are keyed by a glob over source names; a matching override's roles are tried
    before the general ones. A role a table's role column states for the row (``stated``,
    ``Service user``, see ``stated_role``) is tried first; where it matches no pattern, a row
    without a speaker label gets ``unknown_role``, one with a label goes on as below. Where the
    name matches no pattern, the description its label gave (``nurse`` for ``Jane (nurse):``,
    see ``description_of``) is tried the same way. A turn without a speaker label (a survey
    answer, a feedback comment) gets ``respondent`` unless a role lists the empty pattern ``""``.
    """
    found = matched_role(speaker, source, config, description, stated)
    return config.unknown_role if found is None else found


def matched_role(speaker: str, source: str, config: SpeakersConfig, description: str = "",
                 stated: str = "") -> str | None:
    """``role_of``'s role, None where no pattern matched (``unknown_role`` then, which may also
    be a role that patterns give: "match no role" is told by this, not by the role)."""
    # Source names are in composed form (ingest): so is a pattern typed or pasted from a Mac.
    tables = [roles for pattern, roles in config.overrides.items()
              if fnmatchcase(source, unicodedata.normalize("NFC", pattern))]
    tables.append(config.roles)
    label = speaker.strip().lower()
    stated = stated.strip().lower()
    if stated and (found := _first_role(stated, tables)):
        return found
    if not label and stated:
        return None
    if not label:
        return next((role for table in tables for role, patterns in table.items() if "" in patterns), UNLABELLED_ROLE)
    described = description.strip().lower()
    return _first_role(label, tables) or (described and _first_role(described, tables)) or None


def _first_role(text: str, tables: list[dict[str, list[str]]]) -> str | None:
    """The first role, table by table, with a pattern matching ``text`` (in lower case)."""
    return next((role for table in tables for role, patterns in table.items()
                 if any(fnmatchcase(text, pattern.lower()) for pattern in patterns)), None)


def speaker_table(transcripts: list[Transcript], config: SpeakersConfig) -> list[tuple[str, int, str, int]]:
    """Every (speaker label, turn count, role, number of sources) found, most turns first. Rows
    without a speaker are listed by the role their table states, if any: ``(no speaker: Carer)``."""
    turns: Counter = Counter()
    roles: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    for transcript in transcripts:
        for turn in transcript.turns:
            stated = stated_role(turn)
            label = turn.speaker or (f"(no speaker: {stated})" if stated else "")
            turns[label] += 1
            role = role_of(turn.speaker, transcript.source, config, description_of(turn), stated)
            roles.setdefault(label, set()).add(role)
            sources.setdefault(label, set()).add(transcript.source)
    return [
        (speaker, count, "/".join(sorted(roles[speaker])), len(sources[speaker]))
        for speaker, count in sorted(turns.items(), key=lambda item: (-item[1], item[0]))
    ]


def unknown_speakers(sources: list[Source], config: SpeakersConfig) -> list[str]:
    """The speakers of ``sources`` whose name (and description) match no role."""
    return sorted({
        speaker for source in sources
        for speaker, description in zip(source.speakers, source.descriptions or [""] * len(source.speakers))
        if matched_role(speaker, source.source, config, description) is None
    })


def unstated_roles(segments: list[Segment], config: SpeakersConfig) -> list[str]:
    """The values of a table's role column that match no role (their rows without a speaker
    got ``unknown_role``)."""
    return sorted({stated for segment in segments if (stated := stated_role(segment))
                   and matched_role("", segment.source, config, stated=stated) is None})


def _listed(values: list[str]) -> str:
    return ", ".join(values[:10]) + (" ..." if len(values) > 10 else "")


def role_warnings(sources: list[Source], segments: list[Segment], config: SpeakersConfig,
                  private: bool) -> list[tuple[str, str]]:
    """What a run says about roles, as (for the run folder, for the console) pairs: speaker
    labels that match no role (less those whose rows a table's role column gave one), role
    column values that leave rows out of clustering, and role column values that match no
    role. With ``private`` (pseudonyms), labels, which may be names, reach the console only."""
    warnings = []
    # Labels matching no role, less those a table's role column gave a role on every row.
    unknown_rows = {s.speaker for s in segments if s.role == config.unknown_role}
    unknown = [label for label in unknown_speakers(sources, config) if label in unknown_rows]
    if unknown:
        message = (f"{len(unknown)} speaker label(s) match no role in speakers.roles and get the role "
                   f"'{config.unknown_role}'")
        listed = f": {_listed(unknown)}"
        warnings.append((message + ("; `themes speakers` lists them (not here: privacy.pseudonymise is on)"
                                    if private else listed), message + listed))
    excluded = sorted({stated for s in segments
                       if (stated := stated_role(s)) and s.role in config.exclude_from_clustering})
    if excluded:
        message = (f"rows whose role column says {', '.join(excluded[:10])} get a role left out of clustering "
                   "(speakers.exclude_from_clustering); give those values another role in speakers.roles to "
                   "cluster them")
        warnings.append((message, message))
    unmatched = unstated_roles(segments, config)
    if unmatched:
        message = (f"{len(unmatched)} value(s) of the role column (input.columns.role) match no role in "
                   f"speakers.roles and get the role '{config.unknown_role}' where the row has no "
                   f"speaker: {_listed(unmatched)}")
        warnings.append((message, message))
    return warnings


NO_LABEL = "(no speaker)"


def render_speaker_table(rows: list[tuple[str, int, str, int]]) -> str:
    """The table ``themes speakers`` prints: speaker, turns, sources, role."""
    names = [speaker or NO_LABEL for speaker, _, _, _ in rows]
    width = max([len("speaker"), *(len(name) for name in names)])
    lines = [f"{'speaker'.ljust(width)}  turns  sources  role"]
    for name, (_, turns, role, sources) in zip(names, rows):
        lines.append(f"{name.ljust(width)}  {turns:>5}  {sources:>7}  {role}")
    return "\n".join(lines)
