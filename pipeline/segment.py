"""Stage 2, segment: split turns into sentence windows that keep their exact provenance."""

from __future__ import annotations

import re
from functools import lru_cache

from .artifacts import Segment, Transcript
from .config import SegmentationConfig, SpeakersConfig
from .speakers import role_of

# Japanese (and Chinese) sentences end on these; the spaCy blank tokenizer cannot see them.
_CJK_SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]+[」』）)]*|[^。！？!?]+$")


@lru_cache(maxsize=4)
def _nlp(language: str):
    import spacy

    nlp = spacy.blank(language if language in {"en", "de", "fr", "es", "nl", "it", "pt"} else "xx")
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str, language: str = "en") -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text``, whitespace trimmed."""
    if language in {"ja", "zh"}:
        raw = [(m.start(), m.end()) for m in _CJK_SENTENCE.finditer(text)]
    else:
        doc = _nlp(language)(text)
        raw = [(sent.start_char, sent.end_char) for sent in doc.sents]
    spans = []
    for start, end in raw:
        chunk = text[start:end]
        stripped = chunk.strip()
        if not stripped:
            continue
        start += len(chunk) - len(chunk.lstrip())
        spans.append((start, start + len(stripped)))
    return spans


def _windows(spans: list[tuple[int, int]], max_sentences: int, max_chars: int) -> list[tuple[int, int]]:
    """Group consecutive sentence spans into windows of at most ``max_sentences`` sentences
    and about ``max_chars`` characters (a single longer sentence stays whole)."""
    windows: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for span in spans:
        if current and (len(current) >= max_sentences or span[1] - current[0][0] > max_chars):
            windows.append((current[0][0], current[-1][1]))
            current = []
        current.append(span)
    if current:
        windows.append((current[0][0], current[-1][1]))
    return windows


def normalise(text: str) -> str:
    return " ".join(text.split())


def word_count(text: str, language: str) -> int:
    if language in {"ja", "zh"}:
        return len(re.sub(r"\s", "", text)) // 2  # about two characters a word
    return len(re.findall(r"\w+", text))


def segment(transcripts: list[Transcript], segmentation: SegmentationConfig,
            speakers: SpeakersConfig) -> list[Segment]:
    """Split every turn into segments. ``Segment.start/end`` index ``Transcript.text``, and
    ``normalise(transcript.text[start:end]) == segment.text``."""
    segments: list[Segment] = []
    excluded = set(speakers.exclude_from_clustering)
    for transcript in transcripts:
        for turn in transcript.turns:
            role = role_of(turn.speaker, transcript.source, speakers)
            spans = sentence_spans(turn.text, segmentation.language)
            windows = _windows(spans, segmentation.max_sentences, segmentation.max_chars)
            for index, (start, end) in enumerate(windows, start=1):
                text = normalise(turn.text[start:end])
                backchannel = word_count(text, segmentation.language) < segmentation.min_words
                clusterable = role not in excluded and (segmentation.cluster_backchannels or not backchannel)
                segments.append(Segment(
                    segment_id=f"{transcript.source}#{turn.turn_id}.{index}",
                    source=transcript.source, turn_id=turn.turn_id, speaker=turn.speaker,
                    role=role, text=text, start=turn.start + start, end=turn.start + end,
                    timestamp=turn.timestamp, backchannel=backchannel, clusterable=clusterable,
                ))
    return segments
