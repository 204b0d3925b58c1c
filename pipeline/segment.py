"""Stage 2, segment: split turns into sentence windows that keep their exact provenance.

For every segment, ``start``/``end`` index ``Transcript.text`` (the source as decoded) and
span the segment's speech including any noise markers inside it; ``text`` is the cleaned
speech (markers removed, whitespace collapsed); the removed markers are ``annotations``,
in order. Where no marker or markup lies inside, ``normalise(source[start:end]) == text``.
"""

from __future__ import annotations

import bisect
import re
import sys
import unicodedata
from functools import lru_cache

import regex

from .artifacts import Segment, Transcript, Turn
from .config import SPACY_LANGUAGES, SegmentationConfig, SpeakersConfig
from .formats.noise import Marker, clean_speech, find_markers, is_end_time_mark, without_markers
from .formats.turns import description_of, stated_role
from .speakers import role_of
from .words import CJK_CHARACTER

# Japanese (and Chinese) sentences end on these; the spaCy blank tokenizer cannot see them.
_CJK_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[」』）)]*|[^。！？!?]+$")
CJK_LANGUAGES = {"ja", "zh"}


@lru_cache(maxsize=4)
def _nlp(language: str):
    spacy = _import_spacy()
    nlp = spacy.blank(language if language in SPACY_LANGUAGES else "xx")
    nlp.add_pipe("sentencizer")
    return nlp


def _import_spacy():
    """spaCy, imported without PyTorch when PyTorch is not loaded yet: spaCy's machine-learning
    layer (thinc) imports it when installed, which took most of the 3 s spaCy took to import,
    and a blank pipeline with a sentencizer never uses it. PyTorch stays importable after."""
    from .imports import without

    with without(*(() if "spacy" in sys.modules else ("torch",))):
        import spacy
    return spacy


def sentence_spans(text: str, language: str = "en") -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text``, whitespace trimmed."""
    return sentence_spans_many([text], language)[0]


def sentence_spans_many(texts: list[str], language: str = "en") -> list[list[tuple[int, int]]]:
    """``sentence_spans`` for many texts at once (spaCy's batching is much faster)."""
    if not texts:
        return []
    if language in CJK_LANGUAGES:
        raws = [[(m.start(), m.end()) for m in _CJK_SENTENCE.finditer(text)] for text in texts]
    else:
        raws = [[(sent.start_char, sent.end_char) for sent in doc.sents]
                for doc in _nlp(language).pipe(texts, batch_size=256)]
    return [_trimmed(text, raw) for text, raw in zip(texts, raws)]


def most_sentences(text: str) -> int:
    """An upper bound on the sentences ``sentence_spans`` finds in ``text``, without spaCy: a
    sentence ends only on a character of Unicode category Po (spaCy's sentencizer ends them on
    ".", "!", "?" and 125 others, all Po and beyond ASCII; so do the Japanese and Chinese ones
    above), so there are at most one more sentences than such characters."""
    ends = text.count(".") + text.count("!") + text.count("?")
    if not text.isascii():
        ends += sum(1 for ch in text if ord(ch) > 127 and unicodedata.category(ch) == "Po")
    return ends + 1


def _trimmed(text: str, raw: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans = []
    for start, end in raw:
        chunk = text[start:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        start += len(chunk) - len(chunk.lstrip())
        spans.append((start, start + len(stripped)))
    return spans


def _windows(text: str, spans: list[tuple[int, int]], max_sentences: int, max_chars: int) -> list[tuple[int, int]]:
    """Group consecutive sentence spans of ``text`` into windows of at most ``max_sentences``
    sentences and ``max_chars`` characters. A longer sentence (a speech-recognition
    transcript's whole turn has no full stops) is first cut into parts of about equal length,
    each at most ``max_chars``, at a clause break or a space: otherwise the model would read
    only its start."""
    windows: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for span in (part for whole in spans for part in _parts(text, *whole, max_chars)):
        if current and (len(current) >= max_sentences or span[1] - current[0][0] > max_chars):
            windows.append((current[0][0], current[-1][1]))
            current = []
        current.append(span)
    if current:
        windows.append((current[0][0], current[-1][1]))
    return windows


# Where a sentence too long for one window may be cut (``_best_cut`` weighs the two): after a
# clause mark (, ; : and the dashes; the ideographic comma), or at a space; Chinese or Japanese
# without either anywhere between two characters.
_CLAUSE_BREAK = regex.compile(r"(?<=[,;:\u2013\u2014\u3001\uff0c\uff1b])\s+|(?<=[\u3001\uff0c\uff1b])")
_SPACE = regex.compile(r"\s+")


def _parts(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """The span ``start``-``end`` of ``text`` as is when no longer than ``max_chars``; else cut
    into the fewest parts of at most ``max_chars`` each, whitespace trimmed. Each cut is at the
    space nearest the point that would give parts of equal length, or at a clause break not much
    further from it, and leaves a third of ``max_chars`` at least on either side (a cut at a
    comma near the end left "ok yes", a reply too short to cluster); an unbroken run of
    characters is cut between two characters as written (never before a combining mark)."""
    parts = []
    third = max(1, max_chars // 3)
    while end - start > max_chars:
        aim = start + (end - start) // -(-(end - start) // max_chars)  # equal parts of the fewest
        lowest, highest = start + third, min(start + max_chars, end - third)
        cut = _best_cut(text, lowest, highest, aim, slack=max_chars // 6) or _between_characters(text, aim)
        parts.append((start, cut[0]))
        start = cut[1]
    parts.append((start, end))
    return [trimmed for part in parts for trimmed in _trimmed(text, [part])]


def _best_cut(text: str, lowest: int, highest: int, aim: int, slack: int) -> tuple[int, int] | None:
    """The (end of one part, start of the next) of the best break from ``lowest`` to
    ``highest``: the space nearest ``aim``, or a clause break up to ``slack`` further; None
    when there is neither."""
    def nearest(pattern):
        found = [m for m in pattern.finditer(text, lowest, highest + 1) if m.start() <= highest]
        return min(found, key=lambda m: (abs(m.start() - aim), m.start())) if found else None

    clause, space = nearest(_CLAUSE_BREAK), nearest(_SPACE)
    if clause and (not space or abs(clause.start() - aim) <= abs(space.start() - aim) + slack):
        return clause.start(), clause.end()
    return (space.start(), space.end()) if space else None


def _between_characters(text: str, at: int) -> tuple[int, int]:
    """A cut at ``at`` moved back before any combining marks there (a Thai tone mark, an
    accent) and the letter they belong to, so no part starts with one."""
    while at > 1 and unicodedata.category(text[at]).startswith("M"):
        at -= 1
    return at, at


def normalise(text: str) -> str:
    return " ".join(text.split())


_CJK_CHARS = regex.compile(CJK_CHARACTER)


def word_count(text: str, language: str) -> int:
    if language in CJK_LANGUAGES:
        return len(re.sub(r"\s", "", text)) // 2  # about two characters a word
    # (A vowel sign, a combining mark, is in a word; Chinese or Japanese in a run of another
    # language counts about two characters a word too: its sentence is no one-word reply.)
    cjk = len(_CJK_CHARS.findall(text))
    return len(regex.findall(r"\w+", _CJK_CHARS.sub(" ", text))) + cjk // 2


def word_pieces(text: str) -> float:
    """About how many word pieces an embedding model reads ``text`` as: some four and a half
    characters of English speech a piece (all-MiniLM-L6-v2's tokenizer stops its 256 at about
    1,100 to 1,200), a Chinese or Japanese character each."""
    cjk = len(_CJK_CHARS.findall(text))
    return cjk + (len(text) - cjk) / 4.5


def cjk_count(segments: list[Segment]) -> int:
    """How many of the segments are written in Chinese or Japanese (half their letters or more)."""
    def cjk(text: str) -> bool:
        letters = sum(1 for c in text if c.isalpha())
        return bool(letters) and 2 * len(_CJK_CHARS.findall(text)) >= letters
    return sum(1 for s in segments if cjk(s.text))


def _place_markers(windows: list[tuple[int, int]], markers: list[Marker]) -> list[tuple[int, int, list[Marker]]]:
    """Widen each window over the markers that belong to it: those inside it, and those
    between it and the window before (a time or a note is about what follows it; after the
    last window: the last). A turn of markers only gets one window of its own."""
    if not windows:
        return [(markers[0].start, markers[-1].end, list(markers))] if markers else []
    ends = [end for _, end in windows]
    out = [[start, end, []] for start, end in windows]
    for marker in markers:
        index = min(bisect.bisect_left(ends, marker.end), len(windows) - 1)
        window = out[index]
        window[0], window[1] = min(window[0], marker.start), max(window[1], marker.end)
        window[2].append(marker)
    return [(start, end, found) for start, end, found in out]


def _time_at(turn: Turn, markers: list[Marker], offset: int, carried: str = "") -> str:
    """The latest time known at ``offset`` in the turn: a cue start, a time marker, or the
    turn's own timestamp, else the time the turn before ended at (``carried``)."""
    times = [(at, time) for at, time in turn.times]
    times += [(m.start, m.time) for m in markers if m.time]
    before = [(at, time) for at, time in times if at <= offset]
    return max(before)[1] if before else turn.timestamp or carried


def _ending_time(turn: Turn, markers: list[Marker]) -> str:
    """The time an f4/f5 mark ends the turn with (``... gut. #00:00:21-7#``), else "". f4
    writes the mark at the end of each paragraph: the next turn starts at that time."""
    last = markers[-1] if markers else None
    if last and last.time and is_end_time_mark(last.text) and not turn.text[last.end:].strip():
        return last.time
    return ""


def segment_turns(turns: list[Turn], segmentation: SegmentationConfig):
    """Split turns: for each, a list of (start, end) in the turn's text, cleaned text,
    annotations, timestamp."""
    markers = [find_markers(turn.text) for turn in turns]
    speech = [without_markers(turn.text, found) for turn, found in zip(turns, markers)]
    spans: list[list[tuple[int, int]] | None] = [_one_window(text, segmentation) for text in speech]
    # Only turns that may need more than one window are split into sentences; a short answer
    # is one window whatever its sentences (and spaCy is not even imported when none needs it).
    longer = [i for i, found in enumerate(spans) if found is None]
    for i, found in zip(longer, sentence_spans_many([speech[i] for i in longer], segmentation.language)):
        spans[i] = found
    carried = [""] + [_ending_time(turn, found) for turn, found in zip(turns[:-1], markers[:-1])]
    return [_split(turn, found, view, turn_spans, segmentation, time)
            for turn, found, view, turn_spans, time in zip(turns, markers, speech, spans, carried)]


def _one_window(text: str, segmentation: SegmentationConfig) -> list[tuple[int, int]] | None:
    """The span of the whole (trimmed) text when it is certainly one window: no longer than
    ``max_chars`` and with no more than ``max_sentences`` sentences, so ``_windows`` would join
    all its sentences anyway; else None (it must be split into sentences)."""
    stripped = text.strip()
    if not stripped:
        return []
    if len(stripped) > segmentation.max_chars or most_sentences(stripped) > segmentation.max_sentences:
        return None
    start = len(text) - len(text.lstrip())
    return [(start, start + len(stripped))]


def _split(turn: Turn, markers: list[Marker], speech: str, spans: list[tuple[int, int]],
           segmentation: SegmentationConfig, carried: str = "") -> list[tuple[int, int, str, tuple[str, ...], str]]:
    windows = _windows(speech, spans, segmentation.max_sentences, segmentation.max_chars)
    out = []
    for start, end, inside in _place_markers(windows, markers):
        out.append((start, end, clean_speech(turn.text, inside, start, end), tuple(m.text for m in inside),
                    _time_at(turn, markers, start, carried)))
    return out


def segment(transcripts: list[Transcript], segmentation: SegmentationConfig,
            speakers: SpeakersConfig) -> list[Segment]:
    """Split every turn into segments (see the module docstring for what offsets mean)."""
    segments: list[Segment] = []
    excluded = set(speakers.exclude_from_clustering)
    for transcript in transcripts:
        for turn, pieces in zip(transcript.turns, segment_turns(list(transcript.turns), segmentation)):
            role = role_of(turn.speaker, transcript.source, speakers, description_of(turn), stated_role(turn))
            for index, (start, end, text, annotations, timestamp) in enumerate(pieces, start=1):
                backchannel = word_count(text, segmentation.language) < segmentation.min_words
                clusterable = (role not in excluded and bool(text)
                               and (segmentation.cluster_backchannels or not backchannel))
                segments.append(Segment(
                    segment_id=f"{transcript.source}#{turn.turn_id}.{index}",
                    source=transcript.source, turn_id=turn.turn_id, speaker=turn.speaker,
                    role=role, text=text, start=turn.start + start, end=turn.start + end,
                    timestamp=timestamp, annotations=turn.annotations + annotations,
                    backchannel=backchannel, clusterable=clusterable,
                ))
    return segments
