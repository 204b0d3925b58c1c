"""Speaker roles: glob patterns over speaker labels, with per-source overrides."""

from __future__ import annotations

from collections import Counter
from fnmatch import fnmatchcase

from .artifacts import Source, Transcript
from .config import SpeakersConfig

UNLABELLED_ROLE = "respondent"


def role_of(speaker: str, source: str, config: SpeakersConfig) -> str:
    """The role for ``speaker`` in ``source``: the first matching pattern wins.

    Overrides are keyed by a glob over source names; a matching override's roles are tried
    before the general ones. A turn without a speaker label (a survey answer, a feedback
    comment) gets ``respondent`` unless a role lists the empty pattern ``""``.
    """
    tables = [roles for pattern, roles in config.overrides.items() if fnmatchcase(source, pattern)]
    tables.append(config.roles)
    label = speaker.strip().lower()
    for table in tables:
        for role, patterns in table.items():
            if label and any(fnmatchcase(label, pattern.lower()) for pattern in patterns):
                return role
            if not label and "" in patterns:
                return role
    return config.unknown_role if label else UNLABELLED_ROLE


def speaker_table(transcripts: list[Transcript], config: SpeakersConfig) -> list[tuple[str, int, str, int]]:
    """Every (speaker label, turn count, role, number of sources) found, most turns first."""
    turns: Counter = Counter()
    roles: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    for transcript in transcripts:
        for turn in transcript.turns:
            turns[turn.speaker] += 1
            roles.setdefault(turn.speaker, set()).add(role_of(turn.speaker, transcript.source, config))
            sources.setdefault(turn.speaker, set()).add(transcript.source)
    return [
        (speaker, count, "/".join(sorted(roles[speaker])), len(sources[speaker]))
        for speaker, count in sorted(turns.items(), key=lambda item: (-item[1], item[0]))
    ]


def unknown_speakers(sources: list[Source], config: SpeakersConfig) -> list[str]:
    """The speaker labels of ``sources`` that match no role."""
    return sorted({
        speaker for source in sources for speaker in source.speakers
        if role_of(speaker, source.source, config) == config.unknown_role
    })


NO_LABEL = "(no speaker)"


def render_speaker_table(rows: list[tuple[str, int, str, int]]) -> str:
    """The table ``themes speakers`` prints: speaker, turns, sources, role."""
    names = [speaker or NO_LABEL for speaker, _, _, _ in rows]
    width = max([len("speaker"), *(len(name) for name in names)])
    lines = [f"{'speaker'.ljust(width)}  turns  sources  role"]
    for name, (_, turns, role, sources) in zip(names, rows):
        lines.append(f"{name.ljust(width)}  {turns:>5}  {sources:>7}  {role}")
    return "\n".join(lines)
