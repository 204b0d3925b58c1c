"""What every format reader shares: lines with their offsets, timestamps, and assembling
speaker turns from pieces of speech in the source text.

A turn's ``text`` is a *speech view* of ``source[turn.start:turn.end]``: the same length,
character for character, with everything that is not speech (cue timings, voice tags, a
repeated speaker label, markup) blanked to spaces. So offset ``i`` in ``turn.text`` is offset
``turn.start + i`` in ``Transcript.text``, and a quote is always found again where it was.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

from ..artifacts import Segment, Turn

# LF, CRLF, bare CR (classic Mac, some Windows exports), and the rarer breaks Word and web
# tools leave behind (vertical tab, form feed, NEL, line and paragraph separators).
_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"
_LINE = re.compile(f"[^{_BREAKS}]*(?:\r\n|[{_BREAKS}]|$)")
# Every line end but "\n" itself, for a reader that builds its text with "\n" between lines
# and must count lines as ``_LINE`` does (Word text pasted from the web brings U+2028 along).
OTHER_LINE_ENDS = re.compile(f"\r\n|[{_BREAKS.replace(chr(10), '')}]")

TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_TIME_PARTS = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")  # Teams once wrote 0:0:5.72
# A description in parentheses after a speaker's name ("Jane (nurse)", "P1 (female, 45)",
# "看護師（主任）"). It holds no colon, so a time ("Jane (00:01:02)") is never one.
_DESCRIBED = re.compile(r"(?P<name>.+?)\s*[(（](?P<description>[^()（）:：]{1,30})[)）]")
# How a turn's annotations keep it, like a table row's "id=VALUE": a key of its own tells it
# from a kept "(laughs)", so pseudonymisation can leave it out ("Interviewer (Sarah)").
DESCRIPTION = "description="
# A table's role column gives a row's role in the respondents' own words ("Service user"): the
# annotation "role=Service user", matched against speakers.roles (speakers.role_of).
ROLE = "role="
# A table's id column: the annotation "id=17".
ID = "id="


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

    ``"P1 (female, 45)"`` -> ``("P1", "female, 45")``. Whether the name alone is the speaker
    depends on the file's other labels: see ``speakers_of``. The name's spacing is evened out
    (``Jane  Doe``, or with a no-break space, is ``Jane Doe``).
    """
    match = _DESCRIBED.fullmatch(label)
    name, description = (match.group("name"), match.group("description").strip()) if match else (label, "")
    return " ".join(name.split()), description


def _described(label: str) -> tuple[str, str]:
    """(name, description) with the description's spaces evened out, to compare labels by."""
    name, description = split_description(label)
    return name, " ".join(description.split())


def speakers_of(labels: Iterable[str]) -> dict[str, str]:
    """The speaker each of a file's speaker ``labels`` names, given all of them.

    A name described one way only (``P1 (female, 45)``, perhaps also bare ``P1``) is one
    person: the name alone is the speaker of all those labels. A name described two or more
    ways (``Speaker (1)`` and ``Speaker (2)``, ``Nurse (A)`` and ``Nurse (B)``) tells different
    people apart: each description's label is a speaker of its own (the first spelling of it
    seen), and the bare name, where it occurs, is one more.
    """
    labels = list(dict.fromkeys(labels))
    descriptions: dict[str, set[str]] = {}
    for label in labels:
        name, description = _described(label)
        found = descriptions.setdefault(name, set())
        if description:
            found.add(description)
    first: dict[tuple[str, str], str] = {}
    speakers: dict[str, str] = {}
    for label in labels:
        name, description = _described(label)
        if description and len(descriptions[name]) > 1:
            speakers[label] = first.setdefault((name, description), label)
        else:
            speakers[label] = name
    return speakers


def speaker_counts(labels: Iterable[str]) -> dict[str, int]:
    """Each distinct label of ``labels`` -> how many of them name its speaker (see
    ``speakers_of``): ``P1 (female, 45)`` and ``P1`` count together, ``Speaker (1)`` and
    ``Speaker (2)`` each on its own."""
    labels = list(labels)
    speakers = speakers_of(labels)
    counts = Counter(speakers[label] for label in labels)
    return {label: counts[speaker] for label, speaker in speakers.items()}


def description_of(turn: Turn) -> str:
    """The description a label gave the turn's speaker (``nurse`` for ``Jane (nurse):``), or
    "": the first of the ``description=...`` annotations that readers put on every turn of a
    speaker described anywhere in the source."""
    return next((note[len(DESCRIPTION):] for note in turn.annotations if note.startswith(DESCRIPTION)), "")


def stated_role(turn: Turn | Segment) -> str:
    """The role a table's role column gives the turn, or the segment's row (``Service user``),
    or "" (a segment keeps its turn's annotations)."""
    return next((note[len(ROLE):] for note in turn.annotations if note.startswith(ROLE)), "")


def blank(text: str) -> str:
    """Every character that is not whitespace becomes a space; line breaks stay."""
    return re.sub(r"\S", " ", text)


@dataclass
class _Open:
    label: str        # as given ("P1 (female, 45)")
    name: str         # "P1"
    description: str  # "female, 45", spaces evened out, or ""
    line: int
    timestamp: str
    annotations: tuple[str, ...]
    continues: bool   # may join the turn before it, if that turns out to be the same speaker's
    pieces: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, view)
    times: list[tuple[int, str]] = field(default_factory=list)        # (absolute offset, time)


def _label_again(chunk: str, label: str) -> int:
    """How much of the start of a turn's first speech is its own label again, with its colon
    (a transcriber who typed the label twice; a subtitle cue whose voice tag is followed by the
    same name): the length to skip, or 0."""
    words = label.split()
    if not words:
        return 0
    again = re.match(r"\s*" + r"\s+".join(re.escape(word) for word in words) + r"\s*[:：]", chunk)
    return again.end() if again else 0


class TurnBuilder:
    """Collects speech pieces into turns.

    ``begin`` opens a turn for a speaker label (with ``merge``, the same speaker again
    continues the open turn); ``add`` appends a piece of speech given by its offsets in the
    source text, optionally with a same-length view of it (markup blanked); ``turns`` closes
    the last one and returns them all.

    Who a label names is known only once all labels are in (``speakers_of``): a description
    after a name (``Jane (nurse)``) describes the person where the name has no other
    description in the source, so every turn of theirs, not only the one it came with, starts
    its annotations with ``description=nurse``, and ``Jane (nurse):`` then ``Jane:`` continue
    one turn. Where a name is described two ways (``Speaker (1)``, ``Speaker (2)``), the whole
    label is the speaker and consecutive turns with different descriptions stay apart. So
    ``begin`` continues a turn only for the same label, and ``turns`` joins the rest.
    Turns without any speech are dropped: a label with nothing said is not a turn.
    """

    def __init__(self, source_text: str, merge: bool = True) -> None:
        self.text = source_text
        self.merge = merge
        self._runs: list[_Open] = []  # closed, in order, empty ones too (they part the turns around them)
        self._open: _Open | None = None
        self._parted = False

    @property
    def speaker(self) -> str | None:
        return self._open.label if self._open else None

    @property
    def started(self) -> bool:
        """Whether any turn has begun."""
        return bool(self._open or self._runs)

    def begin(self, speaker: str, line: int, timestamp: str = "", annotations: tuple[str, ...] = ()) -> None:
        name, description = _described(speaker)
        current = self._open
        if self.merge and current and (current.name, current.description) == (name, description):
            if timestamp:
                current.times.append((-1, timestamp))  # placed at the next piece
            return
        self._close()
        self._open = _Open(speaker, name, description, line, timestamp, annotations,
                           continues=self.merge and not self._parted)
        self._parted = False

    def part(self) -> None:
        """Close the open turn; the next ``begin`` starts a turn of its own, even for the same
        speaker (a heading between two turns of one speaker)."""
        self._close()
        self._parted = True

    def add(self, start: int, end: int, view: str | None = None, time: str = "") -> None:
        """Add ``source[start:end]`` as speech (trimmed of surrounding whitespace)."""
        if self._open is None:
            raise RuntimeError("add() before begin()")
        chunk = self.text[start:end] if view is None else view
        if len(chunk) != end - start:
            raise ValueError("a view must be as long as the text it stands for")
        if not self._open.pieces:  # "Jane Doe: Jane Doe: ...": the label again is not speech
            again = _label_again(chunk, self._open.label)
            chunk, start = chunk[again:], start + again
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
        if current is not None:
            self._runs.append(current)

    def _turn(self, runs: list[_Open], speaker: str, annotations: tuple[str, ...]) -> Turn:
        """One turn of ``runs`` (consecutive, the same speaker's, each with speech)."""
        first = runs[0]
        pieces = [piece for run in runs for piece in run.pieces]
        times = list(first.times)
        for run in runs[1:]:
            if run.timestamp:  # a later label's time is where its speech starts
                times.append((run.pieces[0][0], run.timestamp))
            times.extend(run.times)
        start, end = pieces[0][0], pieces[-1][1]
        parts: list[str] = []
        at = start
        for piece_start, piece_end, view in pieces:
            parts.append(blank(self.text[at:piece_start]))
            parts.append(view)
            at = piece_end
        offsets = tuple(sorted({(offset - start, t) for offset, t in times if offset >= start}))
        timestamp = first.timestamp or (offsets[0][1] if offsets and offsets[0][0] == 0 else "")
        return Turn(turn_id=0, speaker=speaker, text="".join(parts), start=start, end=end, line=first.line,
                    timestamp=timestamp, annotations=annotations, times=offsets)

    def turns(self) -> tuple[Turn, ...]:
        self._close()
        speakers = speakers_of(run.label for run in self._runs)
        described: dict[str, str] = {}  # speaker -> the one description their labels give
        for run in self._runs:
            if run.description and speakers[run.label] == run.name:
                described.setdefault(run.name, split_description(run.label)[1])
        groups: list[list[_Open]] = []  # the runs of each turn
        joining = False  # whether the last group takes the next run of its speaker
        for before, run in zip([None, *self._runs], self._runs):
            # A run continues the turn before it where that is its speaker's, as a repeated
            # label does; a label between them (even one with nothing said) parts them.
            joining = joining and run.continues and speakers[before.label] == speakers[run.label]
            if run.pieces:
                if joining:
                    groups[-1].append(run)
                else:
                    groups.append([run])
                    joining = True
        out: list[Turn] = []
        for group in groups:
            speaker = speakers[group[0].label]
            note = (DESCRIPTION + described[speaker],) if speaker in described else ()
            turn = self._turn(group, speaker, (*note, *group[0].annotations))
            out.append(replace(turn, turn_id=len(out) + 1))
        return tuple(out)
