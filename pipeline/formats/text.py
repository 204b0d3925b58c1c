"""Plain text and Markdown transcripts: one speaker turn after another.

Speaker styles read (any of them may be mixed in one file):
``Name: text``, ``NAME: text``, ``F: text``, ``19: text``, ``利用者1：text`` (full-width colon),
``[Name] text``, ``**Name:** text``, ``Name (00:01:02): text``, ``00:01:02 Name: text``, and a
label line with a time and nothing else (``Name  0:03``, as Otter and Teams export), with the
speech on the lines after it. A description after the name (``Jane (nurse): text``) is not part
of the speaker: it is kept as an annotation (``description=nurse``), unless the name comes with
two or more descriptions in the file (``Speaker (1)``, ``Speaker (2)``): then each label is a
speaker of its own. A time may also come first on a label line of its own
(``00:00:03 Speaker 1``, ``[00:00:03.15] - Speaker 1``). Lines without a label continue the
current turn; lines before the first turn are metadata (title, date), and so are numbered
headings between turns (``Topic 2: Crisis care``) and footnotes (``[1] ...``). Line numbers
down the left margin (``12   Interviewer: ...``) are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import regex

from ..artifacts import Transcript
from ..errors import ThemesError
from .noise import is_note
from .turns import TIME, Line, TurnBuilder, iter_lines, normalise_time, speaker_counts, split_description

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
_AFTER_TIME = re.compile(r"(?:[-–—][ \t]*)?(?P<label>[^\s:：\[\]()*#>|\-–—][^:：\n]{0,47}?)[ \t]*")
_TABBED = re.compile(r"(?P<label>[^\s:：\[\]()*#>|][^\t:：\n]{0,47}?) *\t[ \t]*(?=\S)")
# (``regex``: its \w holds combining marks, which Python's re leaves out of words, so
# "डॉक्टर:" is a label as "Doctor:" is.)
_LABEL_WORD = regex.compile(r"^[\w'’.\-#]+$")
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
               "workshop", "part", "round", "wave", "topic", "question", "section", "theme"}
# A heading of the topic guide between turns, heard once: "Topic 2: Crisis care". ("Q3:" is
# more often the interviewer's label in a numbered Q and A, so only a Word heading in bold.)
NUMBERED_HEADING = re.compile(r"(?:topic|question|section|theme|part)[ \t]*\d{1,3}[a-z]?", re.IGNORECASE)
# Words that name a role, so that "Peer support worker:" and "Care coordinator:" are labels
# even when heard once; and the small words of names ("Dr de Souza", "Omar al-Hassan").
_ROLE_NOUNS = {
    "user", "users", "worker", "carer", "caregiver", "nurse", "doctor", "participant", "interviewer",
    "facilitator", "co-facilitator", "moderator", "coordinator", "co-ordinator", "supporter", "psychiatrist",
    "psychologist", "therapist", "clinician", "practitioner", "member", "respondent", "manager",
    "parent", "relative", "volunteer", "consultant", "professional", "advocate", "counsellor",
    "counselor", "officer", "researcher", "observer", "note-taker", "notetaker", "chair",
}
# The words a role's name may start with ("Peer support worker", "Service user 2", "Ward manager").
_QUALIFIERS = {
    "peer", "support", "care", "service", "family", "health", "mental", "social", "ward", "community", "crisis",
    "key", "lead", "senior", "junior", "staff", "research", "team", "case", "clinical", "student", "occupational",
    "assistant", "associate", "charge", "link", "duty", "home", "day", "specialist", "liaison", "recovery",
    "housing", "employment", "group", "panel", "nurse", "psychiatric", "practice", "trainee", "unpaid", "paid",
    "young", "older", "lived", "experience", "expert", "by", "co", "head", "deputy", "nursing", "medical",
}
_PARTICLES = {"de", "da", "di", "del", "della", "van", "von", "der", "den", "du", "dos", "das", "le", "la",
              "al", "el", "bin", "ibn", "ter", "ten", "y"}
# A point of a list in speech: "Number One:", "Step 2:", "Reason three:".
_ENUMERATION = re.compile(
    r"(?:number|no\.?|step|point|option|reason|thing|item|stage|phase|idea|tip|rule|problem|issue|priority)[ \t]+"
    r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|first|second|third|fourth|fifth)", re.IGNORECASE)
# How far below a heading the next turn may start (blank lines between).
MAX_GAP = 10
# A number down the left margin: "12   Interviewer: ..." in a numbered transcript.
_LINE_NUMBER = re.compile(r"[ \t]*(\d{1,5})[.)]?(?:[ \t]+|$)")  # also "12." or "12)": numbered turns
# Header keys that name who took part ("Interviewee: Sarah Jones"): metadata before the first
# turn when what follows is a name (capitalised words, perhaps an age or place after commas).
_WHO_KEYS = {"name", "interviewee", "participant", "respondent", "interviewer", "facilitator", "moderator",
             "transcriber", "researcher", "note taker", "notetaker", "speaker", "speakers", "client", "patient"}
_NAME_VALUE = re.compile(r"(?:Dr\.? |Mr\.? |Mrs\.? |Ms\.? |Prof\.? )?[A-Z][\w'’-]*(?: [A-Z][\w'’.-]*){1,3}"
                         r"(?:, ?[\w'’ -]{1,30}){0,3}")
_GREETINGS = {"morning", "afternoon", "evening", "welcome", "thank", "thanks", "good", "great", "hello", "hi",
              "sorry", "question", "questions", "point", "idea", "start"}
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
    recurring: bool = False  # a label only where the file has it twice or more ("- Jane: ...")

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


def capitalised(label: str) -> bool:
    """No word of the name starts in lower case (a description after it may: ``Jane (ward nurse)``),
    except the small words of names (``Dr de Souza``, ``Omar al-Hassan``)."""
    words = split_description(label)[0].split()
    return all(not word[0].islower() or word.split("-")[0] in _PARTICLES for word in words) and (
        words[0].split("-")[0] not in _PARTICLES)


def _names_role(name: str) -> bool:
    """``Peer support worker``, ``Service user 2``, ``Family member B``: the name ends with a
    word for a role (and perhaps a number or letter), and the words before it qualify the role
    (``My support worker``, ``We saw the doctor`` and ``Very professional`` are speech)."""
    words = name.lower().split()
    if len(words) > 1 and (words[-1].isdigit() or len(words[-1]) == 1):
        words = words[:-1]
    return bool(words) and words[-1] in _ROLE_NOUNS and all(word in _QUALIFIERS for word in words[:-1])


def named_alone(name: str) -> bool:
    """Whether a colon label heard once names a speaker: it is capitalised (``Jane Doe``) or
    names a role (``Peer support worker``); ``I said`` and ``It just said`` are prose, and so
    is a point of a list (``Number One: fund the café``, ``Step Two: ...``) or a numbered
    heading's word where it is no heading (``Part 2: you must attend within a week.``)."""
    return (capitalised(name) or _names_role(name)) and not (_ENUMERATION.fullmatch(name)
                                                             or NUMBERED_HEADING.fullmatch(name))


def _family(name: str) -> str:
    """``Service user 2`` and ``Service user 1`` are of one family, ``service user #``; a name
    without a number is of none."""
    return re.sub(r"\d+", "#", name.lower()) if re.search(r"\d", name) else ""


def _line_numbers(text: str) -> dict[int, int]:
    """For a transcript numbered down the left margin, the length of each line's number (by
    line number); empty otherwise. Numbered means: four in five lines with text start with a
    number, and most numbers are one more than the number before (a page may start again),
    which speaker numbers (``1 ...``, ``2 ...``, ``1 ...``) are not."""
    lengths: dict[int, int] = {}
    numbers: list[int] = []
    filled = 0
    for line in iter_lines(text):
        if not line.text.strip():
            continue
        filled += 1
        match = _LINE_NUMBER.match(line.text)
        if match:
            lengths[line.number] = match.end()
            numbers.append(int(match.group(1)))
    steps = sum(1 for a, b in zip(numbers, numbers[1:]) if b == a + 1)
    if len(numbers) < 5 or len(numbers) * 5 < filled * 4 or steps * 5 < (len(numbers) - 1) * 4:
        return {}
    return lengths


# Invisible format characters before a label (a zero-width space, a left-to-right mark:
# text pasted from a web page, Teams or a right-to-left script). Not a Markdown list's marker:
# "- **Access:** hard to get there." is a point of a list in a turn, not a speaker.
_LEAD = regex.compile(r"[ \t\p{Cf}]*")
# A list's bullet or number before a colon label: a point of a list in a turn ("- Access: hard
# to get there.", "1. Access: ..."), unless the label recurs (a transcript written as a list:
# "- Jane: ...").
_BULLET = regex.compile(r"(?:[-+*•‣◦▪–]|\d{1,3}[.)])[ \t]+")


# Teams names people as they are in the address book: "Fischer, Anna" (one word, a comma,
# capitalised names; not a date, "3 November 2025, 14:00").
_SURNAME_FIRST = regex.compile(r"[^\W\d_][\w'’.\-]*, [^\W\d_][\w'’.\- ]*")


def _speaker_label(text: str) -> str:
    """A label's spacing evened out: "Jane  Doe" and "Jane Doe" (a no-break space) are one."""
    return " ".join(text.split())


def parse_label(line: str) -> Label | None:
    """The speaker label that starts ``line``, or None."""
    head = line[:HEAD]
    pos = _LEAD.match(head).end()
    bullet = _BULLET.match(head, pos)
    if bullet:
        label = _COLON.match(head, bullet.end())
        speaker = _speaker_label(label.group("label")) if label else ""
        return Label(speaker, label.end(), recurring=True) if label and plausible_label(speaker) else None
    time = ""
    lead = _LEAD_TIME.match(head, pos)
    if lead:
        time, pos = normalise_time(lead.group("time")), lead.end()
    for pattern, certain in ((_BRACKET, True), (_BOLD, True), (_COLON, False)):
        match = pattern.match(head, pos)
        if not match:
            continue
        speaker = _speaker_label(match.group("label"))
        if not plausible_label(speaker):
            continue
        # In brackets or bold, a name ("[Jane]") or a role starting with a capital ("[Service user
        # 2]", "**Peer support worker:**"); not a transcriber's note ("[inaudible]", "[laughs]").
        # A role all in lower case counts where it recurs ("[participant] Hard."), not as a
        # redaction placeholder starting a line of speech, which runs on in lower case ("[care
        # coordinator] came round"), however often.
        lower_role = speaker[:1].islower() and _names_role(split_description(speaker)[0])
        if pattern is _BRACKET and lower_role and head[match.end():match.end() + 1].islower():
            continue
        if pattern is not _COLON and (not (capitalised(speaker) or _names_role(split_description(speaker)[0]))
                                      or speaker.lower() in NOISE_WORDS or is_note(speaker)
                                      or speaker.lower().split()[0] in NOISE_WORDS
                                      or speaker.isdigit() or re.fullmatch(TIME, speaker)):
            continue
        own_time = match.groupdict().get("time")
        return Label(speaker, match.end(), normalise_time(own_time) if own_time else time,
                     certain=certain or bool(own_time or time), recurring=pattern is not _COLON and lower_role)
    header = _HEADER.fullmatch(head, pos) if len(line) <= HEAD else None
    name = header.group("label") if header else ""
    if _SURNAME_FIRST.fullmatch(name):  # "Fischer, Anna   0:03"
        name = name.replace(",", " ")
    if header and plausible_label(name) and capitalised(name):
        return Label(_speaker_label(header.group("label")), len(line), normalise_time(header.group("time")),
                     certain=True, layout="alone")
    # The time first and the name alone after it: "00:00:03 Speaker 1", "[00:00:03.15] - Speaker 1".
    named = _AFTER_TIME.fullmatch(head, pos) if time and len(line) <= HEAD else None
    if named and plausible_label(named.group("label")) and capitalised(named.group("label")) \
            and named.group("label").lower().split()[0] not in NOISE_WORDS:
        return Label(_speaker_label(named.group("label")), len(line), time, certain=True, layout="alone")
    tabbed = _TABBED.match(head, pos)
    if tabbed and plausible_label(tabbed.group("label").strip()) and capitalised(tabbed.group("label")):
        return Label(_speaker_label(tabbed.group("label")), tabbed.end(), time, certain=True, layout="tab")
    return None


def _is_header(label: Label, counts: Counter, value: str = "") -> bool:
    """Before the first turn: ``Date: ...``, titles such as ``Focus group 3: Recovery`` (a
    label heard only once whose first word names the document, not a person), and who took
    part, by name (``Interviewee: Sarah Jones``, ``Interviewer: Dr Amir Khan``,
    ``Respondent: Maria Lopez, 45, Leeds``), which is no one's speech."""
    words = label.name.lower().split()
    return label.name.lower() in METADATA_KEYS or (
        not label.certain and counts[label.speaker] == 1 and (words[0] in TITLE_WORDS or words[0].startswith("第"))
    ) or (not label.certain and label.name.lower() in _WHO_KEYS and _names_someone(value))


def _names_someone(value: str) -> bool:
    """``Sarah Jones``, ``Dr Amir Khan``, ``Maria Lopez, 45, Leeds``; not speech in title case
    (``Welcome Everyone``, ``Thank You``, ``Good Morning All``)."""
    from ..words import SPOKEN_STOP_WORDS, english_stop_words

    if not _NAME_VALUE.fullmatch(value.strip()):
        return False
    words = re.findall(r"[^\W\d_]+", value.split(",")[0].lower())
    # A surname is no common word ("Will Thompson", "May Green"); speech ends on one ("Thank You").
    return words[0] not in _GREETINGS and words[-1] not in english_stop_words() | SPOKEN_STOP_WORDS | _GREETINGS


def _out_of_step(found: dict[int, Label], filled: set[int]) -> set[int]:
    """The lines of "Name  0:03" labels heard once that are out of step with the file's other
    label lines, as a line of speech ending in a time is ("Okay, Thursday 10:30"):
    - where most label lines have a blank line above (Otter's text), one without it;
    - of the others, one whose time is out of order (a transcript's times only go forward):
      after the next one's, or before the last in step, where leaving it out puts its
      neighbours in order (so not the neighbour of such a line).
    A label heard twice or more, once in step, is a speaker's, whatever its other lines' layout
    or time (one said twice, each time out of step, "Thursday 10:30", is not)."""
    numbers = [number for number, label in sorted(found.items()) if label.layout == "alone"]
    spaced = [number for number in numbers if number - 1 not in filled]
    crowded = {number for number in numbers if 2 * len(spaced) > len(numbers) and number - 1 in filled}
    numbers = [number for number in numbers if number not in crowded]
    times = [found[number].time for number in numbers]
    out, last = set(crowded), None  # last: the time of the last line in step
    for i, time in enumerate(times):
        before, after = (times[i - 1] if i else None), (times[i + 1] if i + 1 < len(times) else None)
        ahead = after is not None and time > after and (before is None or before <= after)
        behind = last is not None and time < last and (after is None or last <= after)
        if ahead or behind:
            out.add(numbers[i])
        else:
            last = time
    # Speech is a line heard once, or one whose every line is out of step ("Thursday 10:30"
    # twice); a speaker heard twice keeps a line out of step (a restart of the times).
    heard = Counter(label.speaker for label in found.values() if label.layout == "alone")
    in_step = Counter(found[number].speaker for number in numbers if number not in out)
    return {number for number in out if heard[found[number].speaker] < 2 or not in_step[found[number].speaker]}


def _notes_label(label: Label, counts: Counter) -> bool:
    """``Notes: ...`` once, after the turns, opens notes rather than a speaker's turn."""
    return not label.certain and counts[label.speaker] == 1 and label.name.lower() in _NOTES_HEADINGS


def _is_notes_heading(line: str) -> bool:
    return line.strip().strip("#*[]").rstrip(":：").strip().lower() in _NOTES_HEADINGS


@dataclass
class _Rules:
    """What the labels of one file say about each other, for telling a speaker's label from a
    heading, a title or prose: how often each speaker is labelled ("P1 (female, 45)" and "P1"
    are one speaker, "Speaker (1)" and "Speaker (2)" two: see ``speaker_counts``), how often
    each layout and numbered family occurs, and each label's whole lines."""

    found: dict[int, Label]
    filled: set[int]  # the numbers of the lines with text
    counts: Counter
    layouts: Counter
    families: Counter
    lines_of: dict[str, set[str]]  # one line again and again is a page header, not a speaker
    out_of_step: set[int]  # "Name  0:03" lines laid out or timed unlike the others (_out_of_step)

    @classmethod
    def of(cls, text: str, found: dict[int, Label], margin: dict[int, int]) -> "_Rules":
        lines_of: dict[str, set[str]] = {}
        filled: set[int] = set()
        for line in iter_lines(text):
            if line.text.strip():
                filled.add(line.number)
            if line.number in found:
                lines_of.setdefault(found[line.number].speaker, set()).add(line.text[margin.get(line.number, 0):].strip())
        counts = Counter(speaker_counts(label.speaker for label in found.values()))
        return cls(found, filled, counts,
                   Counter(label.layout for label in found.values()
                           if label.layout and not (label.recurring and counts[label.speaker] < 2)),
                   Counter(_family(label.name) for label in found.values()), lines_of, _out_of_step(found, filled))

    def is_turn(self, label: Label, number: int) -> bool:
        """Whether ``label``, on line ``number``, starts a turn."""
        if label.recurring and self.counts[label.speaker] < 2:
            return False
        # A line of speech that ends in a time ("Okay, Thursday 10:30", "Lovely 10:30") reads
        # like a "Name  0:03" line, but is out of step with the label lines around it, where a
        # speaker heard once ("Patel, Ravi  0:40") is in step.
        if number in self.out_of_step:
            return False
        if label.layout:
            # "Name  0:03" or "Name<TAB>speech" is a label only in a file laid out that way.
            return self.layouts[label.layout] > 1
        # A colon label seen once, with lower-case words, is more likely prose ("I said: ..."),
        # unless it names a role or is one of a numbered family ("Service user 2" beside "Service user 1").
        family = _family(label.name)
        return (label.certain or self.counts[label.speaker] > 1 or named_alone(label.name)
                or bool(family and self.families[family] > 1))

    def is_heading(self, label: Label, line: Line) -> bool:
        """A topic-guide heading heard once, with a turn's label on the next line with text, set
        apart by a blank line above it or reading as a title ("Topic 2: Crisis care", not
        "Part 2: you must attend within a week.", which is speech); or one the layout gives."""
        if label.layout == "heading":
            return True
        if label.certain or self.counts[label.speaker] != 1 or not NUMBERED_HEADING.fullmatch(label.name):
            return False
        title = line.text[label.speech:].strip()
        if line.number - 1 in self.filled and not (title[:1].isupper() and len(title.split()) <= 8
                                                    and not title.endswith(".")):
            return False
        following = next((n for n in range(line.number + 1, line.number + MAX_GAP) if n in self.filled), None)
        return following in self.found and self.is_turn(self.found[following], following)

    def is_title(self, label: Label, line: Line) -> bool:
        """Before the first turn: a header (``Date: ...``, ``Focus group 3: Recovery``,
        ``Interviewee: Sarah Jones``), also one printed again on every page."""
        return _is_header(label, self.counts, line.text[label.speech:]) or (not label.certain and len(self.lines_of[label.speaker]) == 1
                                                  and label.name.lower().split()[0] in TITLE_WORDS)


def parse_lines(text: str, source: str, path: Path, sha256: str = "",
                labels: dict[int, Label | None] | None = None) -> Transcript:
    """Assemble turns from the lines of ``text``. ``labels`` may give the label of a line (by
    line number) where the layout already says it (a table cell, a Word heading); other lines
    are read with ``parse_label``. The lines are walked again for each pass rather than held,
    so a large file is not copied again."""
    for line in iter_lines(text):
        if len(line.text) > MAX_LINE_CHARS:
            raise ThemesError(f"{path}:{line.number}: line is {len(line.text):,} characters long (the limit is "
                              f"{MAX_LINE_CHARS:,}); is this a transcript with line breaks?")
    margin, found = _margin_and_labels(text, labels or {})
    rules = _Rules.of(text, found, margin)
    builder = TurnBuilder(text)
    metadata: list[str] = []
    header: set[str] = set()  # the title lines before the first turn, which a page header repeats
    in_notes = False
    for line in iter_lines(text):
        label = found.get(line.number)
        body = line.text[margin.get(line.number, 0):]
        stripped = body.replace("\ufeff", "").strip()
        if label and rules.is_heading(label, line):
            metadata.append(stripped)
            builder.part()
        elif stripped and stripped in header:  # a page header printed again on every page
            metadata.append(stripped)
        elif label and rules.is_turn(label, line.number) and not _FOOTNOTE.match(body) and not _notes_label(label, rules.counts):
            if not builder.started and rules.is_title(label, line):
                metadata.append(stripped)
                header.add(stripped)
                continue
            in_notes = False
            builder.begin(label.speaker, line.number, label.time)
            builder.add(line.start + label.speech, line.start + len(line.text))
        elif not stripped:
            continue
        elif (builder.speaker is None or in_notes or _FOOTNOTE.match(body) or _HEADING.match(body)
              or _is_notes_heading(body) or (label and _notes_label(label, rules.counts))):
            opens_notes = _is_notes_heading(body) or bool(label and _notes_label(label, rules.counts))
            in_notes = in_notes or (builder.speaker is not None and opens_notes)
            metadata.append(stripped)
            if not builder.started and _title_like(stripped):
                header.add(stripped)
        else:
            builder.add(line.start + margin.get(line.number, 0), line.start + len(line.text))
    turns = builder.turns()
    if not turns:
        raise ThemesError(f"{path}: no speaker turns found (expected lines like 'User 1: text'; "
                          "quotes or free text without speakers go in a CSV with a 'text' column, one a row)")
    return Transcript(source=source, path=str(path), text=text, turns=turns, metadata=tuple(metadata),
                      sha256=sha256)


def _title_like(line: str) -> bool:
    """A line before the first turn that a page header could repeat: three words or more, or a
    number in it (``Participant 04 interview transcript``), not a stray ``Yes``."""
    return len(line.split()) >= 3 or bool(re.search(r"\d", line))


def _margin_and_labels(text: str, given: dict[int, Label | None]) -> tuple[dict[int, int], dict[int, Label]]:
    """The line numbers down the margin to leave out (``_line_numbers``), and the label of each
    line that has one (given, or read). A margin is left out only where it reveals labels:
    without it, ``12   Interviewer:`` reads as a different speaker on every line; with it,
    speaker numbers (``1⇥I am ...``, ``2⇥...``) would read as no labels at all."""
    def labels_with(margin: dict[int, int]) -> dict[int, Label]:
        found = {}
        for line in iter_lines(text):
            skip = margin.get(line.number, 0)
            label = given[line.number] if line.number in given else parse_label(line.text[skip:])
            if label:
                found[line.number] = replace(label, speech=label.speech + skip)
        return found

    plain = labels_with({})
    margin = {} if given else _line_numbers(text)
    if not margin:
        return {}, plain
    numbered = labels_with(margin)
    speakers = lambda found: len({label.speaker for label in found.values()})  # noqa: E731
    listed = lambda found: sum(label.recurring for label in found.values())  # noqa: E731  ("1. Jane:" read as a list's point)
    # Numbered turns ("1. Interviewer:") rather than a numbered list in an answer ("1. Access:
    # ...", "2. Staff: ..."): some speaker speaks twice.
    repeated = max(Counter(label.speaker for number, label in numbered.items() if number in margin).values(),
                   default=0) >= 2
    if len(numbered) >= 2 and (len(numbered) > len(plain) or speakers(numbered) < speakers(plain)
                               or (listed(numbered) < listed(plain) and repeated)):
        return margin, numbered
    return {}, plain


def parse_text(text: str, source: str, path: Path, sha256: str = "") -> Transcript:
    """Read a plain-text or Markdown transcript (see the module docstring for the styles)."""
    return parse_lines(text, source, path, sha256)
