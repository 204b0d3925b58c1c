"""Transcript noise: what a transcriber adds that nobody said.

Square-bracketed notes (``[inaudible]``, ``[crosstalk]``, footnote markers ``[1]``,
``[00:01:02]``, editorial insertions), parenthesised sounds and events (``(laughs)``,
``(pause)``, ``（笑）``), parenthesised times, and a time at the start of a line. They are kept
out of the speech that is embedded and clustered, and kept as annotations on the segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .turns import TIME, normalise_time

_SOUNDS = (
    "laugh", "laughs", "laughter", "laughing", "chuckles", "giggles", "inaudible", "unclear", "indistinct",
    "unintelligible", "crosstalk", "cross talk", "overtalk", "overlapping", "pause", "long pause", "silence",
    "sigh", "sighs", "cough", "coughs", "coughing", "clears throat", "cries", "crying", "tearful", "sniffs",
    "noise", "background noise", "phone rings", "music", "applause", "interruption", "interrupted",
    "redacted", "name redacted", "break in recording", "recording paused", "recording resumes",
    "笑", "笑い", "苦笑", "沈黙", "間", "聞き取れず", "聞き取り不能", "不明", "咳", "ため息",
)
_SOUND = "|".join(sorted((re.escape(s) for s in _SOUNDS), key=len, reverse=True))
_BREAK = r"\r\n\x0b\x0c\x85\u2028\u2029"
_MARKER = re.compile(
    rf"\[[^\[\]{_BREAK}]{{1,80}}\]"          # [inaudible], [1], [00:01:02], [the ward]
    rf"|［[^［］{_BREAK}]{{1,80}}］|【[^【】{_BREAK}]{{1,80}}】"
    rf"|\((?:{_SOUND})\b[^(){_BREAK}]{{0,40}}\)"  # (laughs), (pause 5s), (inaudible 00:01:02)
    rf"|（(?:{_SOUND})[^（）{_BREAK}]{{0,20}}）"
    rf"|\({TIME}\)|（{TIME}）"
    rf"|(?:\A|(?<=[{_BREAK}]))[ \t]*\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,3}})?(?=[ \t{_BREAK}]|\Z)",
    re.IGNORECASE)
_BARE_TIME = re.compile(rf"[\[［【(（]?\s*({TIME})\s*[\]］】)）]?")


@dataclass(frozen=True)
class Marker:
    start: int  # offsets in the text searched
    end: int
    text: str
    time: str = ""  # HH:MM:SS[.mmm] when the marker is just a time


def find_markers(text: str) -> list[Marker]:
    """Every noise marker in ``text``, in order."""
    out = []
    for match in _MARKER.finditer(text):
        raw = match.group(0)
        stripped = raw.strip()
        start = match.start() + raw.index(stripped[0])
        time = _BARE_TIME.fullmatch(stripped)
        out.append(Marker(start, start + len(stripped), stripped, normalise_time(time.group(1)) if time else ""))
    return out


def without_markers(text: str, markers: list[Marker]) -> str:
    """``text`` with the markers blanked to spaces (same length, offsets unchanged)."""
    if not markers:
        return text
    parts, at = [], 0
    for marker in markers:
        parts.append(text[at:marker.start])
        parts.append(" " * (marker.end - marker.start))
        at = marker.end
    parts.append(text[at:])
    return "".join(parts)


_GAP = "\x00"
_BEFORE_PUNCTUATION = re.compile(r"\s*\x00\s*(?=[.,;:!?…。、，．！？：；)\]」』）])")
_SPACED_GAP = re.compile(r"\s+\x00\s*|\s*\x00\s+")


def clean_speech(text: str, markers: list[Marker], start: int, end: int) -> str:
    """The speech in ``text[start:end]`` without the markers, whitespace collapsed. Where a
    marker stood, a space is kept only if the transcript had one there, and never before
    punctuation: "the ward [1]." -> "the ward.", "大変でした[1]。" -> "大変でした。"."""
    parts, at = [], start
    for marker in markers:
        if start <= marker.start and marker.end <= end:
            parts.append(text[at:marker.start])
            at = marker.end
    parts.append(text[at:end])
    joined = " ".join(_GAP.join(parts).split())
    joined = _BEFORE_PUNCTUATION.sub("", joined)
    joined = _SPACED_GAP.sub(" ", joined)
    return " ".join(joined.replace(_GAP, "").split())
