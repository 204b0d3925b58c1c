"""Plain text and Markdown transcripts: one speaker turn after another.

Speaker styles read (any of them may be mixed in one file):
``Name: text``, ``NAME: text``, ``F: text``, ``19: text``, ``利用者1：text`` (full-width colon),
``[Name] text``, ``**Name:** text``, ``Name (00:01:02): text``, ``00:01:02 Name: text``, and a
label line with a time and nothing else (``Name  0:03``, as Otter and Teams export), with the
speech on the lines after it. A description after the name (``Jane (nurse): text``) is not part
of the speaker: it is kept as an annotation (``description=nurse``), unless the name comes with
two or more descriptions in the file (``Speaker (1)``, ``Speaker (2)``): then each label is a
speaker of its own. Lines without a label
continue the current turn; lines before the first turn are metadata (title, date); footnotes
(``[1] ...``) are metadata too.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..artifacts import Transcript
from ..errors import ThemesError
from .turns import TIME, TurnBuilder, iter_lines, normalise_time, speaker_counts, split_description

# Only the start of a line can hold a label; looking no further keeps every pattern linear
# even on a line of 100,000 characters.
HEAD = 160
MAX_LINE_CHARS = 50_000

_LEAD_TIME = re.compile(rf"[\[(]?(?P<time>{TIME})[\])]?[ \t]+")
_BRACKET = re.compile(rf"\[(?P<label>[^\[\]\n]{{1,48}})\][ \t]*(?:[:：][ \t]*)?(?:[\[(]?(?P<time>{TIME})[\])]?(?:[ \t]+|$))?")
_BOLD = re.compile(r"(?P<mark>\*\*|__)(?P<label>[^*_:：\n]{1,48}?)[ \t]*(?:[:：][ \t]*(?P=mark)|(?P=mark)[ \t]*[:：])[ \t]*")
_COLON = re.compile(
    rf"(?P<label>[^\s:：\[\]()*#>|][^:：\n]{{0,47}}?)(?:[ \t]*[\[(](?P<time>{TIME})[\])])?[ \t]*(?:：|:(?![\d/]))[ \t]*")
_HEADER = re.compile(rf"(?P<label>[^\s:：\[\]()*#>|][^:：\n]{{0,47}}?)[ \t]+[\[(]?(?P<time>{TIME})[\])]?[ \t]*")
_TABBED = re.compile(r"(?P<label>[^\s:：\[\]()*#>|][^\t:：\n]{0,47}?) *\t[ \t]*(?=\S)")
_LABEL_WORD = re.compile(r"^[\w'’.\-#]+$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_FOOTNOTE = re.compile(r"[ \t]*(?:\[\d{1,3}\]|［\d{1,3}］|※\d{0,3}|\*\d{1,3})[ \t]+\S")
_HEADING = re.compile(r"[ \t]*(?:#{1,6}[ \t]+\S|(?:-{3,}|\*{3,}|_{3,}|={3,})[ \t]*$)")
_NOTES_HEADINGS = {"footnotes", "notes", "endnotes", "transcriber notes", "transcriber's notes",
                   "end of transcript", "注", "脚注", "注釈", "備考"}
# Bracketed words that are transcribers' notes, not speaker names.
NOISE_WORDS = {
    "inaudible", "crosstalk", "cross talk", "laughter", "laughs", "laughing", "pause", "silence",
    "unclear", "overlapping", "overtalk", "noise", "music", "applause", "cough", "coughs", "sighs",
    "cries", "crying", "redacted", "name", "interruption", "background", "indistinct", "audio",
    "break", "end", "start", "inaudible speech", "phone rings", "unintelligible", "foreign", "long",
    "recording", "tape", "sound", "laugh", "chuckles", "giggles", "sniffs", "tearful", "whispers",
}
TITLE_WORDS = {"focus", "interview", "transcript", "session", "meeting", "group", "study", "project",
               "workshop", "part", "round", "wave"}
# Keys that make a header line before the first turn metadata, not speech.
METADATA_KEYS = {
    "date", "time", "title", "location", "place", "session", "meeting", "transcript",
    "duration", "participants", "present", "recorded", "recording", "project", "study",
    "interviewer notes", "notes", "file", "version", "group", "topic", "venue", "attendees",
    "日時", "日付", "場所", "会場", "参加者", "出席者", "題名", "タイトル", "記録", "記録者", "時間",
    "テーマ", "議題", "司会者", "作成日", "録音日",
}


@dataclass(frozen=True)
class Label:
    """A speaker label at the start of a line: the speech starts at ``speech`` (an offset in
    the line). ``certain`` labels come from layout (brackets, bold, a time, a table cell)
    rather than a bare colon, which prose uses too."""

    speaker: str
    speech: int
    time: str = ""
    certain: bool = False
    layout: str = ""  # "alone": a label line with a time and no speech (Otter, Teams); "tab": "Name<TAB>speech"

    @property
    def name(self) -> str:
        """The name in the label: ``Jane`` for ``Jane (nurse)`` (whether that is the speaker
        depends on the file's other labels, see ``turns.speakers_of``)."""
        return split_description(self.speaker)[0]


def plausible_label(label: str) -> bool:
    """Is ``label`` a speaker label rather than the start of a sentence with a colon?"""
    label = split_description(label)[0]  # "Jane (nurse)", "P1 (female, 45)"
    words = label.split()
    if not words or len(words) > 5 or len(label) > 48 or not re.search(r"\w", label):
        return False
    if _CJK.search(label) and len(label) > 16:
        return False
    return all(_LABEL_WORD.match(word) for word in words)


def _capitalised(label: str) -> bool:
    """No word of the name starts in lower case (a description after it may: ``Jane (ward nurse)``)."""
    return all(not word[0].islower() for word in split_description(label)[0].split())


def parse_label(line: str) -> Label | None:
    """The speaker label that starts ``line``, or None."""
    head = line[:HEAD]
    pos = len(head) - len(head.lstrip(" \t\ufeff"))
    time = ""
    lead = _LEAD_TIME.match(head, pos)
    if lead:
        time, pos = normalise_time(lead.group("time")), lead.end()
    for pattern, certain in ((_BRACKET, True), (_BOLD, True), (_COLON, False)):
        match = pattern.match(head, pos)
        if not match:
            continue
        speaker = match.group("label").strip()
        if not plausible_label(speaker):
            continue
        if pattern is not _COLON and (not _capitalised(speaker) or speaker.lower() in NOISE_WORDS
                                      or speaker.lower().split()[0] in NOISE_WORDS
                                      or speaker.isdigit() or re.fullmatch(TIME, speaker)):
            continue
        own_time = match.groupdict().get("time")
        return Label(speaker, match.end(), normalise_time(own_time) if own_time else time,
                     certain=certain or bool(own_time or time))
    header = _HEADER.fullmatch(head, pos) if len(line) <= HEAD else None
    if header and plausible_label(header.group("label").strip()) and _capitalised(header.group("label")):
        return Label(header.group("label").strip(), len(line), normalise_time(header.group("time")),
                     certain=True, layout="alone")
    tabbed = _TABBED.match(head, pos)
    if tabbed and plausible_label(tabbed.group("label").strip()) and _capitalised(tabbed.group("label")):
        return Label(tabbed.group("label").strip(), tabbed.end(), time, certain=True, layout="tab")
    return None


def _is_header(label: Label, counts: Counter) -> bool:
    """Before the first turn: ``Date: ...`` and titles such as ``Focus group 3: Recovery``
    (a label heard only once whose first word names the document, not a person)."""
    words = label.name.lower().split()
    return label.name.lower() in METADATA_KEYS or (
        not label.certain and counts[label.speaker] == 1 and (words[0] in TITLE_WORDS or words[0].startswith("第")))


def _notes_label(label: Label, counts: Counter) -> bool:
    """``Notes: ...`` once, after the turns, opens notes rather than a speaker's turn."""
    return not label.certain and counts[label.speaker] == 1 and label.name.lower() in _NOTES_HEADINGS


def _is_notes_heading(line: str) -> bool:
    return line.strip().strip("#*[]").rstrip(":：").strip().lower() in _NOTES_HEADINGS


def parse_lines(text: str, source: str, path: Path, sha256: str = "",
                labels: dict[int, Label | None] | None = None) -> Transcript:
    """Assemble turns from the lines of ``text``. ``labels`` may give the label of a line (by
    line number) where the layout already says it (a table cell); other lines are read with
    ``parse_label``. The lines are walked twice rather than held, so a large file is not
    copied again."""
    given = labels or {}
    found: dict[int, Label] = {}
    for line in iter_lines(text):
        if len(line.text) > MAX_LINE_CHARS:
            raise ThemesError(f"{path}:{line.number}: line is {len(line.text):,} characters long (the limit is "
                              f"{MAX_LINE_CHARS:,}); is this a transcript with line breaks?")
        label = given[line.number] if line.number in given else parse_label(line.text)
        if label:
            found[line.number] = label
    # How often each label's speaker is labelled: "P1 (female, 45)" and "P1" are one speaker,
    # "Speaker (1)" and "Speaker (2)" are two (see speaker_counts).
    counts = Counter(speaker_counts(label.speaker for label in found.values()))
    layouts = Counter(label.layout for label in found.values() if label.layout)

    def is_turn(label: Label) -> bool:
        if label.layout:
            # "Name  0:03" or "Name<TAB>speech" is a label only in a file laid out that way.
            return layouts[label.layout] > 1
        # A colon label seen once, with lower-case words, is more likely prose ("I said: ...").
        return label.certain or counts[label.speaker] > 1 or _capitalised(label.name)

    builder = TurnBuilder(text)
    metadata: list[str] = []
    in_notes = False
    for line in iter_lines(text):
        label = found.get(line.number)
        if label and is_turn(label) and not _FOOTNOTE.match(line.text) and not _notes_label(label, counts):
            if builder.speaker is None and _is_header(label, counts):
                metadata.append(line.text.replace("\ufeff", "").strip())
                continue
            in_notes = False
            builder.begin(label.speaker, line.number, label.time)
            builder.add(line.start + label.speech, line.start + len(line.text))
        elif not line.text.strip():
            continue
        elif (builder.speaker is None or in_notes or _FOOTNOTE.match(line.text) or _HEADING.match(line.text)
              or _is_notes_heading(line.text) or (label and _notes_label(label, counts))):
            opens_notes = _is_notes_heading(line.text) or bool(label and _notes_label(label, counts))
            in_notes = in_notes or (builder.speaker is not None and opens_notes)
            metadata.append(line.text.replace("\ufeff", "").strip())
        else:
            builder.add(line.start, line.start + len(line.text))
    turns = builder.turns()
    if not turns:
        raise ThemesError(f"{path}: no speaker turns found (expected lines like 'User 1: text'; "
                          "quotes or free text without speakers go in a CSV with a 'text' column, one a row)")
    return Transcript(source=source, path=str(path), text=text, turns=turns, metadata=tuple(metadata),
                      sha256=sha256)


def parse_text(text: str, source: str, path: Path, sha256: str = "") -> Transcript:
    """Read a plain-text or Markdown transcript (see the module docstring for the styles)."""
    return parse_lines(text, source, path, sha256)
