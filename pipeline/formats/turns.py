"""What every format reader shares: lines with their offsets, timestamps, and assembling
speaker turns from pieces of speech in the source text.

A turn's ``text`` is a *speech view* of ``source[turn.start:turn.end]``: the same length,
character for character, with everything that is not speech (cue timings, voice tags, a
repeated speaker label, markup) blanked to spaces. So offset ``i`` in ``turn.text`` is offset
``turn.start + i`` in ``Transcript.text``, and a quote is always found again where it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterator

from ..artifacts import Turn

# LF, CRLF, bare CR (classic Mac, some Windows exports), and the rarer breaks Word and web
# tools leave behind (vertical tab, form feed, NEL, line and paragraph separators).
_LINE = re.compile(r"[^\r\n\x0b\x0c\x85\u2028\u2029]*(?:\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]|$)")
_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"

TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_TIME_PARTS = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?")
# A description in parentheses after a speaker's name ("Jane (nurse)", "P1 (female, 45)",
# "看護師（主任）"). It holds no colon, so a time ("Jane (00:01:02)") is never one.
_DESCRIBED = re.compile(r"(?P<name>.+?)\s*[(（](?P<description>[^()（）:：]{1,30})[)）]")
# How a turn's annotations keep it, like a table row's "id=VALUE": a key of its own tells it
# from a kept "(laughs)", so pseudonymisation can leave it out ("Interviewer (Sarah)").
DESCRIPTION = "description="


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    start: int   # offset of the line's first character in the source text
    text: str    # without its line break


def iter_lines(text: str) -> Iterator[Line]:
    for number, match in enumerate(_LINE.finditer(text), start=1):
        line = match.group(0).rstrip(_BREAKS)
        if match.start() == len(text) and not line:
            break
        yield Line(number, match.start(), line)


def normalise_time(value: str) -> str:
    """``1:02`` -> ``00:01:02``; ``00:01:02,5`` -> ``00:01:02.500``; other text unchanged."""
    match = _TIME_PARTS.fullmatch(value.strip())
    if not match:
        return value.strip()
    hours, minutes, seconds, fraction = match.groups()
    out = f"{int(hours or 0):02d}:{int(minutes):02d}:{int(seconds):02d}"
    if fraction:
        out += "." + fraction.ljust(3, "0")
    return out


def split_description(label: str) -> tuple[str, str]:
    """A speaker label -> (the speaker's name, the description in parentheses after it, or "").

    ``"P1 (female, 45)"`` -> ``("P1", "female, 45")``: the name alone is the speaker, so
    ``P1 (female, 45):`` on the first turn and ``P1:`` later are one person.
    """
    match = _DESCRIBED.fullmatch(label)
    return (match.group("name"), match.group("description").strip()) if match else (label, "")


def description_of(turn: Turn) -> str:
    """The description a label gave the turn's speaker (``nurse`` for ``Jane (nurse):``), or
    "": the first of the ``description=...`` annotations that readers put on every turn of a
    speaker described anywhere in the source."""
    return next((note[len(DESCRIPTION):] for note in turn.annotations if note.startswith(DESCRIPTION)), "")


def blank(text: str) -> str:
    """Every character that is not whitespace becomes a space; line breaks stay."""
    return re.sub(r"\S", " ", text)


@dataclass
class _Open:
    speaker: str
    line: int
    timestamp: str
    annotations: tuple[str, ...]
    pieces: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, view)
    times: list[tuple[int, str]] = field(default_factory=list)        # (absolute offset, time)


class TurnBuilder:
    """Collects speech pieces into turns.

    ``begin`` opens a turn for a speaker (with ``merge``, the same speaker again continues the
    open turn); a description after the name (``Jane (nurse)``) is not part of the speaker but
    describes the person, so every turn of theirs, not only the one it came with, starts its
    annotations with ``description=nurse``; ``add`` appends a piece of speech given by its
    offsets in the source text, optionally with a same-length view of it (markup blanked);
    ``turns`` closes the last one.
    Turns without any speech are dropped: a label with nothing said is not a turn.
    """

    def __init__(self, source_text: str, merge: bool = True) -> None:
        self.text = source_text
        self.merge = merge
        self._turns: list[Turn] = []
        self._open: _Open | None = None
        self._descriptions: dict[str, list[str]] = {}  # speaker -> "description=..." notes, in order

    @property
    def speaker(self) -> str | None:
        return self._open.speaker if self._open else None

    def begin(self, speaker: str, line: int, timestamp: str = "", annotations: tuple[str, ...] = ()) -> None:
        speaker, description = split_description(speaker)
        notes = self._descriptions.setdefault(speaker, [])
        if description and DESCRIPTION + description not in notes:
            notes.append(DESCRIPTION + description)
        if self.merge and self._open and self._open.speaker == speaker:
            if timestamp:
                self._open.times.append((-1, timestamp))  # placed at the next piece
            return
        self._close()
        self._open = _Open(speaker, line, timestamp, annotations)

    def add(self, start: int, end: int, view: str | None = None, time: str = "") -> None:
        """Add ``source[start:end]`` as speech (trimmed of surrounding whitespace)."""
        if self._open is None:
            raise RuntimeError("add() before begin()")
        chunk = self.text[start:end] if view is None else view
        if len(chunk) != end - start:
            raise ValueError("a view must be as long as the text it stands for")
        stripped = chunk.strip()
        if not stripped:
            return
        lead = len(chunk) - len(chunk.lstrip())
        start, end = start + lead, start + lead + len(stripped)
        piece_view = stripped if view is not None else self.text[start:end]
        times = self._open.times
        # A time announced by a repeated label belongs where its speech starts.
        self._open.times = [(start if at == -1 else at, t) for at, t in times]
        if time:
            self._open.times.append((start, time))
        self._open.pieces.append((start, end, piece_view))

    def _close(self) -> None:
        current, self._open = self._open, None
        if current is None or not current.pieces:
            return
        start, end = current.pieces[0][0], current.pieces[-1][1]
        parts: list[str] = []
        at = start
        for piece_start, piece_end, view in current.pieces:
            parts.append(blank(self.text[at:piece_start]))
            parts.append(view)
            at = piece_end
        times = tuple(sorted({(offset - start, t) for offset, t in current.times if offset >= start}))
        timestamp = current.timestamp or (times[0][1] if times and times[0][0] == 0 else "")
        self._turns.append(Turn(
            turn_id=len(self._turns) + 1, speaker=current.speaker, text="".join(parts),
            start=start, end=end, line=current.line, timestamp=timestamp,
            annotations=current.annotations, times=times,
        ))

    def turns(self) -> tuple[Turn, ...]:
        self._close()
        return tuple(replace(turn, annotations=(*self._descriptions.get(turn.speaker, ()), *turn.annotations))
                     for turn in self._turns)
