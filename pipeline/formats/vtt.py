"""Subtitle transcripts: WebVTT (Zoom, Teams, Otter exports) and SubRip (.srt).

The speaker of a cue comes from a voice tag (``<v Jane Doe>``) or a label at the start of
its text (``Jane Doe: ...``, ``[Jane]``); a cue without either continues the speaker before
it. Consecutive cues of one speaker form one turn, timed by its first cue; each cue's start
time is kept for the segments that start in it. ``Transcript.text`` is the file as decoded,
so offsets point into it; timings, cue numbers, tags and entities are blanked in the turn's
speech view.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..artifacts import Transcript
from ..errors import ThemesError
from .text import capitalised, named_alone, parse_label, plausible_label
from .turns import Line, TurnBuilder, iter_lines, normalise_time, speaker_counts, split_description

_CUE_TIME = r"(?:\d{1,3}:)?\d{1,2}:\d{1,2}(?:[.,]\d{1,3})?"  # 00:00:05.720, and 0:0:5.720 (older Teams)
_TIMING = re.compile(rf"[ \t]*(?P<start>{_CUE_TIME})[ \t]*-->[ \t]*(?P<end>{_CUE_TIME})(?:[ \t]+[^\n]*)?[ \t]*")
_VOICE = re.compile(r"<v(?:\.[\w.\-]*)?[ \t]+(?P<name>[^<>\n]{1,100}?)[ \t]*>")
# The tags of WebVTT and SubRip, opening and closing (<i>, </i>, <c.yellow>, <v.loud Bob>,
# <font color="red">, <br/>), the HTML ones some SubRip writers use (<s>, <span style="x">,
# <em>, <strong>: bare or with attributes, as "<span of time>" is not), and WebVTT's timestamp
# tags (<00:00:01.000>). Other text between angle brackets is speech: SubRip has no escaping
# ("my score was <5 and then >3"), and a transcriber's <laughs> is a marker of its own (noise.py).
_TAG = re.compile(rf"</?(?:[ibu]|c|v|ruby|rt|lang|font|br)(?:[.\s/][^<>\n]{{0,200}})?>|<{_CUE_TIME}>"
                  r"|</?(?:s|em|strong|span)(?:[ \t]+[\w:-]+=[^<>\n]{0,200})?>",
                  re.IGNORECASE)
_ENTITY = re.compile(r"&(?:amp|lt|gt|nbsp|lrm|rlm|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": "",
             "&quot;": '"', "&apos;": "'"}
# A NOTE, STYLE or REGION block starts with its word alone or before a space; a block with a
# timing line first or second is a cue, whatever its identifier ("NOTE-1", "STYLE 2"). A note
# may hold "-->" further on ("This is a note --> not a cue"), as a lenient reader allows.
_BLOCK_WORD = re.compile(r"(NOTE|STYLE|REGION)(?:[ \t]|$)")
_TIMED = re.compile(rf"[ \t]*{_CUE_TIME}[ \t]*-->")  # a timing line, or a broken one ("00:00:03 --> 4")
_SPEAKER_CHANGE = re.compile(r"[ \t]*(?:>>|-)[ \t]+")  # ">> " (broadcast captions), "- " (dialogue)


def looks_like_subtitles(text: str) -> bool:
    head = text.lstrip("\ufeff \t\r\n")[:400]
    if head.startswith("WEBVTT"):
        return True
    lines = head.splitlines()
    return bool(lines) and bool(_TIMING.fullmatch(lines[0])) or (
        len(lines) >= 2 and lines[0].strip().isdigit() and bool(_TIMING.fullmatch(lines[1])))


def _entity(match: re.Match) -> str:
    raw = match.group(0)
    if raw in _ENTITIES:
        char = _ENTITIES[raw]
    else:
        number = raw[2:-1]
        try:
            char = chr(int(number[1:], 16) if number.startswith("x") else int(number))
        except (ValueError, OverflowError):
            char = ""
    return char.ljust(len(raw))


def speech_view(text: str) -> str:
    """Cue text with tags blanked and entities decoded, padded to the same length."""
    return _ENTITY.sub(_entity, _TAG.sub(lambda m: " " * len(m.group(0)), text))


def _blocks(lines: list[Line]) -> list[list[Line]]:
    """Cues and header blocks, parted by blank lines, or by a timing line in a block that has
    one already (a Word copy of a transcript has no blank paragraphs; a cue number before the
    timing line goes with it). In a note, only a timing line does: ``a --> b`` is its text."""
    blocks, current = [], []
    for line in lines:
        if not line.text.strip():
            if current:
                blocks.append(current)
            current = []
            continue
        note = current and current[0].text.strip().startswith("NOTE") and not _TIMED.match(line.text)
        if "-->" in line.text and any("-->" in earlier.text for earlier in current) and not note:
            number = [current.pop()] if current[-1].text.strip().isdigit() and len(current) > 2 else []
            blocks.append(current)
            current = number
        current.append(line)
    if current:
        blocks.append(current)
    return blocks


def parse_subtitles(text: str, source: str, path: Path, sha256: str = "") -> Transcript:
    blocks = _blocks(list(iter_lines(text)))
    metadata: list[str] = []
    broken: list[Line] = []
    cue_lines: list[tuple[Line, str]] = []  # (payload line, cue start time on a cue's first line)
    cues: list[tuple[int, str]] = []  # for each payload line, its cue: (index, start time)
    for index, block in enumerate(blocks):
        first = block[0].text.lstrip("\ufeff").strip()
        if index == 0 and first.startswith("WEBVTT"):
            end = _header_end(block)
            metadata.extend(line.text.lstrip("\ufeff").strip() for line in block[:end])
            block = block[end:]
            if not block:
                continue
            first = block[0].text.strip()
        block_word = _BLOCK_WORD.match(first)
        if block_word and not any(_TIMED.match(line.text) for line in block[:2]):
            if block_word.group(1) == "NOTE":
                metadata.extend(line.text.strip() for line in block)
            continue
        timing_at = next((i for i, line in enumerate(block[:2]) if "-->" in line.text), None)
        timing = _TIMING.fullmatch(block[timing_at].text) if timing_at is not None else None
        if timing is None:
            if timing_at is None:
                timing_at = 1 if first.isdigit() and len(block) > 1 else 0
            broken.append(block[timing_at])
            continue
        time = normalise_time(timing.group("start"))
        for position, line in enumerate(block[timing_at + 1:]):
            cue_lines.append((line, time if position == 0 else ""))
            cues.append((index, time))
    if broken:
        where = broken[0]
        more = f" ({len(broken)} broken cues)" if len(broken) > 1 else ""
        raise ThemesError(f"{path}:{where.number}: broken cue, expected a timing line like "
                          f"'00:00:01.000 --> 00:00:04.000' but found {where.text.strip()[:60]!r}{more}")
    if not cue_lines:
        raise ThemesError(f"{path}: no subtitle cues with text found")
    builder = TurnBuilder(text)
    names = _name_lines(cue_lines)
    speakers = [_speaker(line) if line.number not in names else None for line, _ in cue_lines]
    # "Jane (nurse)" and "Jane" are Jane; "Nurse (A)" and "Nurse (B)" two people (see speaker_counts).
    counts = Counter(speaker_counts(found[0] for found in speakers if found))
    # Where most cues are labelled (Zoom writes "Name: " on every cue), a label heard once
    # counts when it reads as a name ("Priya Shah:", not "It just said:"); in captions that
    # are mostly unlabelled, a colon label must recur to be a speaker.
    # Cues are counted, not lines: a cue wrapped over two lines has its label on one.
    labelled = len({cue for (cue, _), found in zip(cues, speakers) if found}) * 2 > len(set(cues))
    # A turn begins at its cue's start, on whichever of the cue's lines its label is
    # ("- Jane: How are you?" over "- Bob: Fine." is Bob's too); a piece of speech is marked
    # with the time only where the cue begins.
    for (line, time), (_, start), found in zip(cue_lines, cues, speakers):
        if line.number in names:
            builder.begin(names[line.number], line.number, start)
            continue
        view = speech_view(line.text)
        voices = _voices(line)
        if voices:
            at = 0
            for name, tag, speech in voices:
                # Speech before a voice is the speaker's before it ("Yes. <v Bob>No."): the
                # current one, or the voice before on the line.
                if view[at:tag].strip(" \t-"):
                    if builder.speaker is None:
                        builder.begin("", line.number, start)
                    builder.add(line.start + at, line.start + tag, view[at:tag], time=time)
                builder.begin(name, line.number, start)
                at = speech
            builder.add(line.start + at, line.start + len(line.text), view[at:], time=time)
            continue
        speech = 0
        if found and (found[2] or counts[found[0]] > 1 or (labelled and named_alone(split_description(found[0])[0]))):
            builder.begin(found[0], line.number, start)
            speech = found[1]
        elif builder.speaker is None:
            builder.begin("", line.number, start)
        builder.add(line.start + speech, line.start + len(line.text), view[speech:], time=time)
    turns = builder.turns()
    if not turns:
        raise ThemesError(f"{path}: no subtitle cues with text found")
    return Transcript(source=source, path=str(path), text=text, turns=turns, metadata=tuple(metadata),
                      sha256=sha256)


def _header_end(block: list[Line]) -> int:
    """Where the first cue starts in the block under ``WEBVTT``: at its timing line, or at the
    cue number right above it, where no blank line parts the header from the first cue
    (``WEBVTT`` then ``00:00:01.000 --> 00:00:04.000`` on the next line); the block's length
    where it is all header."""
    timing = next((i for i, line in enumerate(block) if i and "-->" in line.text), len(block))
    if 1 < timing < len(block) and block[timing - 1].text.strip().isdigit():
        return timing - 1
    return timing


def _name_lines(cue_lines: list[tuple[Line, str]]) -> dict[int, str]:
    """Cues whose first line is the speaker's name alone, the speech below it (Teams' older
    transcripts): {line number: name}, where most cues are laid out so and some name recurs
    (captions wrapped over two lines are not); empty otherwise."""
    firsts = [line for (line, time), (_, next_time) in zip(cue_lines, cue_lines[1:]) if time and not next_time]
    names = {line.number: name for line in firsts if _name_alone(name := speech_view(line.text).strip())}
    cues = sum(1 for _, time in cue_lines if time)
    if len(names) * 2 <= cues or len(set(names.values())) == len(names):
        return {}
    return names


def _name_alone(text: str) -> bool:
    """``Fischer, Anna`` or ``Mark O'Brien`` on a line of its own, capitalised, not a short
    sentence."""
    name = text.replace(",", " ")
    return (bool(text) and text[-1] not in ".?!;:…" and plausible_label(name) and capitalised(name)
            and not _VOICE.search(text))


def _voices(line: Line) -> list[tuple[str, int, int]]:
    """(speaker, offset of the voice tag, offset of its speech) for each voice tag in a cue
    line, in order: ``<v Jane>How are you?</v> <v Bob>Fine.</v>`` has two, and a voice inside
    other tags counts (``<i><v Bob>I am fine.</v></i>``: WebVTT allows it in italics, bold and
    classes)."""
    return [(voice.group("name").strip(), voice.start(), voice.end()) for voice in _VOICE.finditer(line.text)]


def _speaker(line: Line) -> tuple[str, int, bool] | None:
    """(speaker, offset of the speech in the line, certain) for a cue line that names one."""
    voices = _voices(line)
    if voices:
        return voices[0][0], voices[0][2], True
    view = speech_view(line.text)
    change = _SPEAKER_CHANGE.match(view)
    offset = change.end() if change else 0
    label = parse_label(view[offset:])
    if label and not label.layout:
        return label.speaker, offset + label.speech, label.certain
    return None
