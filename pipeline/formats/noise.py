"""Transcript noise: what a transcriber, or the software, adds that nobody said.

Square-bracketed notes (``[inaudible]``, ``[crosstalk]``, footnote markers ``[1]``,
``[00:01:02]``, editorial insertions), sounds and events in parentheses or angle brackets
(``(laughs)``, ``(pause)``, ``(emotional)``, ``<laughs>``, ``（笑）``, German ``(lacht)``) or
between asterisks (``*sighs*``), pauses (``(.)``, ``(2.0)``), overlap marks (``//``),
anonymisation placeholders (``(name removed)``, ``(LOCATION)``, ``(medication name)``), times
(``(00:01:02)``, f4's ``#00:00:05-2#``, a time at the start of a line), and lines that a
transcription service or meeting software writes (``Transcribed by https://otter.ai``, ``Jane
Doe stopped transcription``, ``Page 2 of 3``, ``END OF RECORDING``). They are kept out of the
speech that is embedded and clustered, and kept as annotations on the segment.

A false marker deletes a participant's words from the analysis, so the patterns are kept
narrow: other parentheses (``(I think)``, ``(the ward)``, ``(PTSD)``), emphasis (``*really*``)
and sentences that merely start like a service line are speech. Some remain ambiguous and are
read as notes: a number with one decimal in parentheses is a timed pause (``(3.2)``, also a lab
value), a phrase ending in ``name`` a placeholder (``(maiden name)``), and an anonymiser's noun
in capitals one (``(THE NEW HOSPITAL)`` in speech typed in capitals).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .turns import TIME, normalise_time

# Sounds and events, also with more words after them: "(laughs nervously)", "(pause 5s)".
_SOUNDS = (
    "laugh", "laughs", "laughter", "laughing", "chuckles", "giggles", "inaudible", "unclear", "indistinct",
    "unintelligible", "crosstalk", "cross talk", "overtalk", "overlapping", "pause", "long pause", "silence",
    "sigh", "sighs", "cough", "coughs", "coughing", "clears throat", "cries", "crying", "tearful", "sniffs",
    "noise", "background noise", "phone rings", "music", "applause", "interruption", "interrupted",
    "redacted", "name redacted", "break in recording", "recording paused", "recording resumes",
    "indecipherable", "incomprehensible", "both laugh", "all laugh", "everyone laughs", "group laughter",
    # German (f4/f5transkript conventions)
    "lacht", "lachen", "lachend", "beide lachen", "seufzt", "hustet", "räuspert sich", "weint", "unv",
    "unverständlich",
    "笑", "笑い", "苦笑", "沈黙", "間", "聞き取れず", "聞き取り不能", "不明", "咳", "ため息",
)
# States and sounds that are words of speech too ("emotional abuse"): a note only alone,
# perhaps with "becomes" before or an adverb after: "(emotional)", "(becomes tearful)".
_STATES = (
    "emotional", "upset", "distressed", "whispering", "whispers", "whispered", "sobbing", "sobs", "sighing",
    "yawns", "yawning", "gasps", "exhales", "inhales", "groans", "sniffles", "sniffing", "mumbles",
    "mumbling", "shouting", "shouts", "voice breaks", "voice breaking", "flüstert",
)
# Between asterisks only stage directions nobody stresses in speech ("*laughs*", not "*crying*").
_ACTIONS = ("laughs", "sighs", "coughs", "chuckles", "giggles", "sniffs", "sobs", "clears throat", "inaudible",
            "crosstalk")


def _either(words) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_BREAK = r"\r\n\x0b\x0c\x85\u2028\u2029"
_SOUND = _either(_SOUNDS)
_SP = r"[ \t]+"
_HOW = rf"(?:{_SP}(?:quietly|softly|nervously|loudly|briefly|heavily|deeply|audibly|slightly|gently))?"
_STATE = rf"(?:(?:becomes|became|gets|getting|got|visibly|very|quite|slightly){_SP})?(?:{_either(_STATES)}){_HOW}"
_ACTION = rf"(?:{_either(_ACTIONS)}){_HOW}"

# Anonymisation placeholders. Words that make a parenthesis an aside instead ("(what's her
# name)", "(which I deleted)") are never part of one.
_ASIDE_WORDS = ("i", "me", "my", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "they", "them",
                "their", "it", "its", "what", "what's", "what’s", "whats", "which", "that", "this", "who", "was",
                "were", "is", "had", "has", "have", "been", "got", "get", "be", "the", "a", "an", "same", "real",
                "no", "any", "some", "and", "so", "then")
_ASIDE = rf"(?!(?:{_either(_ASIDE_WORDS)})\b)"
_WORD = rf"{_ASIDE}[^\W\d_][\w'’-]*"
_REMOVED = r"removed|redacted|anonymi[sz]ed|withheld|deleted|omitted|anonymisiert"
_NOUNS = ("NAME", "NAMES", "SURNAME", "FORENAME", "LOCATION", "PLACE", "ADDRESS", "TOWN", "CITY", "AREA", "COUNTRY",
          "HOSPITAL", "WARD", "CLINIC", "SCHOOL", "ORGANISATION", "ORGANIZATION", "COMPANY", "EMPLOYER", "PERSON",
          "DATE", "AGE", "MEDICATION", "DRUG", "NUMBER", "REDACTED", "REMOVED", "ANONYMISED", "ANONYMIZED",
          "WITHHELD")
_IDENTIFYING = ("name", "names", "surname", "details", "detail", "information", "info", "identifying",
                "identifiable", "personal", "sensitive", "place", "location", "address", "date", "number", "hospital",
                "ward", "clinic", "school", "town", "city", "area", "employer", "company", "organisation",
                "organization", "person", "people", "staff", "text", "section", "content", "reference", "contact")
# What a "(name of ...)" placeholder names, beside _IDENTIFYING.
_NAMED = ("medication", "medicine", "drug", "service", "charity", "team", "unit", "street", "road", "village",
          "county", "trust", "practice", "surgery", "doctor", "nurse", "therapist", "worker", "son", "daughter",
          "partner", "husband", "wife", "friend", "mother", "father", "brother", "sister", "child", "pet", "group")
_CAPS = r"[A-Z][A-Z'’]*"
_PLACEHOLDER = (
    # (LOCATION), (HOSPITAL NAME), (NAME OF WARD), (PERSON_2): an anonymiser's noun in capitals
    rf"(?-i:(?:{_CAPS}[ _-]){{0,2}}(?:{_either(_NOUNS)})(?:[ _-]{_CAPS}){{0,2}}(?:[ _-]?\d{{1,3}})?)"
    # (name), (place), (redacted)
    rf"|name|names|surname|forename|location|place|address|{_REMOVED}"
    # (medication name), (son's name), (name of hospital), (name of the ward); not "(name of
    # the game)": what is named must be a place, a person or a thing that identifies someone
    rf"|(?:{_WORD}{_SP}){{0,2}}{_WORD}{_SP}name"
    rf"|name{_SP}of{_SP}(?:the{_SP}|a{_SP})?(?:{_WORD}{_SP})?(?:{_either(_IDENTIFYING + _NAMED)})"
    # (name removed), (identifying details redacted), (son's name removed for anonymity); not
    # "(gallbladder removed)": only details that identify someone are removed so
    rf"|(?:(?:{_WORD}{_SP}){{0,2}}names?|(?:{_either(_IDENTIFYING)})(?:{_SP}(?:{_either(_IDENTIFYING)})){{0,2}})"
    rf"{_SP}(?:{_REMOVED})(?:{_SP}(?:for|to)[ \t][^()<>{_BREAK}]{{1,40}})?"
)

# Whole lines that are not speech; a line ends at a line break or the end of the turn.
_END = rf"[ \t]*(?=[{_BREAK}]|\Z)"
_AFTER_BREAK = rf"(?<=[{_BREAK}])[ \t]*"  # not a turn's first line: the speaker said that one
_PAGE = rf"page{_SP}\d{{1,4}}"
_PAGE_OF = rf"{_PAGE}[ \t]*(?:of|/)[ \t]*\d{{1,4}}"
_LAID_OUT = r"(?:\t|[ ]{3,})"  # a header's parts, spaced apart as Word or a PDF lays them out
# A display name, every word capitalised, but not a sentence's subject: "I stopped transcription".
_CAPITALISED = r"(?-i:(?![a-z])[^\W\d_])[\w'’.-]*"
_NOT_A_NAME = r"(?:I|We|They|He|She|You|It|My|Our|The|Then|So|And|But|Well|Yes|Okay|Now)"  # not Oh, No: surnames too
# Teams writes a name surname first where the organisation does: "Fischer, Anna" (not "So, I").
_NAME = (rf"(?!{_NOT_A_NAME}[, \t])(?:{_CAPITALISED},{_SP}(?!{_NOT_A_NAME}{_SP}))?"
         rf"{_CAPITALISED}(?:{_SP}{_CAPITALISED}){{0,4}}")
_SERVICE_LINE = (
    rf"{_AFTER_BREAK}(?:"
    rf"transcribed{_SP}by{_SP}(?:https?://\S+|(?:www\.)?otter\.ai\S*)"  # Otter's footer
    rf"|{_NAME}{_SP}(?:started|stopped){_SP}transcription"  # Teams
    rf"|{_PAGE}(?:[ \t]*(?:of|/)[ \t]*\d{{1,4}})?"  # Page 2, Page 2 of 3
    rf"|[^{_BREAK}]{{1,120}}?{_LAID_OUT}{_PAGE_OF}|{_PAGE_OF}{_LAID_OUT}[^{_BREAK}]{{1,120}}?"
    rf"){_END}"
)
# A transcriber's note on the recording, in capitals on a line of its own: "END OF TRANSCRIPT".
_DECOR = r"[-–—*=~_]+[ \t]*"
_RECORDING_NOTE = (
    rf"(?:\A|(?<=[{_BREAK}]))[ \t]*(?:{_DECOR})?(?-i:"
    r"(?:BREAK|PAUSE) IN (?:THE )?RECORDING"
    r"|(?:END|START|BEGINNING) OF (?:THE )?(?:RECORDING|TRANSCRIPT|TRANSCRIPTION|INTERVIEW|AUDIO|TAPE|SESSION"
    r"|FOCUS GROUP|DISCUSSION)"
    r"|RECORDING (?:PAUSED|RESUMED|RESUMES|STOPPED|STARTED|RESTARTED|ENDS|ENDED|BEGINS)"
    r"|(?:TRANSCRIPT|INTERVIEW|RECORDING|TAPE) ENDS"
    rf")\.?(?:[ \t]*{_DECOR})?{_END}"
)

_MARKER = re.compile(
    rf"\[[^\[\]{_BREAK}]{{1,80}}\]"          # [inaudible], [1], [00:01:02], [the ward]
    rf"|［[^［］{_BREAK}]{{1,80}}］|【[^【】{_BREAK}]{{1,80}}】"
    rf"|\((?:{_SOUND})\b[^(){_BREAK}]{{0,40}}\)"  # (laughs), (pause 5s), (inaudible 00:01:02)
    rf"|<(?:{_SOUND})\b[^<>{_BREAK}]{{0,40}}>"
    rf"|（(?:{_SOUND})[^（）{_BREAK}]{{0,20}}）"
    rf"|\({_STATE}\)|<{_STATE}>"
    rf"|(?<!\*)\*{_ACTION}\*(?!\*)"
    rf"|\((?:{_PLACEHOLDER})\)|<(?:{_PLACEHOLDER})>"
    r"|\((?:\.{1,3}|…)\)"  # Jefferson's and f4's pauses: (.), (..), (...)
    r"|\(\d{1,2}\.\d\)"  # a timed pause, in seconds: (0.5), (2.0)
    r"|\(\d{1,3}(?:[.,]\d{1,2})?[ \t]?(?:secs?|seconds?|sek\.?|sekunden)\)"  # (3 sec), (4 Sek.)
    r"|\(\d(?:[.,]\d{1,2})?s\)"  # (3s), (2.5s); not the decade in "the (90s)"
    r"|(?<!\S)//(?!/)|(?<![:/])//(?!\S)"  # overlap: "// yeah same", "I went because // I"
    rf"|\({TIME}\)|（{TIME}）"
    r"|#\d{1,2}:\d{2}:\d{2}(?:[-.,]\d{1,3})?#"  # f4/f5transkript: #00:00:05-2#
    rf"|(?:\A|(?<=[{_BREAK}]))[ \t]*\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,3}})?(?=[ \t{_BREAK}]|\Z)"
    rf"|{_SERVICE_LINE}|{_RECORDING_NOTE}",
    re.IGNORECASE)
_BARE_TIME = re.compile(rf"[\[［【(（]?\s*({TIME})\s*[\]］】)）]?")
_F4_TIME = re.compile(r"#(\d{1,2}:\d{2}:\d{2})(?:[-.,](\d{1,3}))?#")


@dataclass(frozen=True)
class Marker:
    start: int  # offsets in the text searched
    end: int
    text: str
    time: str = ""  # HH:MM:SS[.mmm] when the marker is just a time


_NOTE = re.compile(rf"(?:{_SOUND})\b.*|{_STATE}|{_ACTION}|{_PLACEHOLDER}", re.IGNORECASE)


def is_note(words: str) -> bool:
    """Whether ``words`` (``Sobbing``, ``inaudible 00:01``) is what a transcriber's note in
    brackets says, so that ``[Sobbing] I could not go back.`` is not a speaker's label."""
    return bool(_NOTE.fullmatch(words.strip()))


def find_markers(text: str) -> list[Marker]:
    """Every noise marker in ``text``, in order."""
    out = []
    for match in _MARKER.finditer(text):
        raw = match.group(0)
        stripped = raw.strip()
        start = match.start() + raw.index(stripped[0])
        out.append(Marker(start, start + len(stripped), stripped, _time_of(stripped)))
    return out


def is_end_time_mark(marker: str) -> bool:
    """Whether a marker is an f4/f5 time mark (``#00:00:05-2#``), which ends a paragraph."""
    return bool(_F4_TIME.fullmatch(marker))


def _time_of(marker: str) -> str:
    """The time a marker is, normalised, or "" for a marker that is not just a time. f4 writes
    tenths of a second after a hyphen: ``#00:00:05-2#`` is ``00:00:05.200``."""
    if bare := _BARE_TIME.fullmatch(marker):
        return normalise_time(bare.group(1))
    if f4 := _F4_TIME.fullmatch(marker):
        return normalise_time(f4.group(1) + (f".{f4.group(2)}" if f4.group(2) else ""))
    return ""


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
