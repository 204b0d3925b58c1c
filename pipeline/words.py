"""Words: stop words and stems, for keywords (cluster) and for word overlap with codes (mapping)."""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from pathlib import Path

import regex

# Spoken-language fillers and contraction fragments that make poor keywords.
SPOKEN_STOP_WORDS = {
    "yeah", "yes", "okay", "ok", "oh", "um", "uh", "erm", "er", "mm", "hmm", "ah", "like", "just",
    "really", "know", "think", "mean", "thing", "things", "got", "get", "going", "gonna", "said",
    "say", "sort", "kind", "bit", "lot", "actually", "right", "well", "dont", "don", "thats",
    # BERTopic strips apostrophes before counting words, so contractions arrive as "dont".
    "im", "ive", "id", "ill", "youre", "youve", "youd", "theyre", "theyve", "weve", "wed", "hes",
    "shes", "theres", "whats", "lets", "isnt", "wasnt", "didnt", "doesnt", "cant", "wont",
    "wouldnt", "couldnt", "shouldnt", "arent", "werent", "havent", "hasnt", "hadnt", "itll",
    "heres", "hows", "whos", "wheres", "theyd", "theyll", "youll", "hed", "itd", "thatll", "aint",
    "wouldve", "couldve", "shouldve", "mustnt", "neednt",
    "ll", "re", "ve", "s", "t", "d", "m", "laughs", "pause", "inaudible", "crosstalk", "name",
}

# Words of three or more letters; apostrophes are dropped first, so "don't" is "dont".
# Letters of any script with their combining marks (``regex``'s \w holds them, Python's re
# does not): "décision" typed with a combining accent is one word, not "cision".
_WORD = regex.compile(r"[^\W\d_]{3,}")
_APOSTROPHES = str.maketrans("", "", "'\u2019")
# Chinese and Japanese characters (kana, kanji), written without spaces between words: a
# character class, for keywords (two-character words), word counts and names in the scan.
CJK_CHARACTER = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


@functools.cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop-word list, read from its module file: importing scikit-learn
    itself takes over a second, which a run that only maps segments to codes does not need."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py"
    module_spec = importlib.util.spec_from_file_location("_themes_english_stop_words", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(module.ENGLISH_STOP_WORDS)


@functools.cache
def _stemmer():
    import Stemmer  # PyStemmer: the Snowball stemmers, compiled

    return Stemmer.Stemmer("english")


@functools.cache
def stem(word: str) -> str:
    """The Snowball English (Porter 2) stem of a lower-case word: "waiting", "waited" -> "wait"."""
    return _stemmer().stemWord(word)


def content_words(text: str) -> list[tuple[str, str]]:
    """(word, stem) for each word of ``text`` that is not a stop word, in order."""
    stop = english_stop_words()
    # One form for an accented letter, so a profile's "décision" meets the talk's whichever way
    # either was typed.
    words = _WORD.findall(unicodedata.normalize("NFC", text.lower().translate(_APOSTROPHES)))
    return [(w, stem(w)) for w in words if w not in stop and w not in SPOKEN_STOP_WORDS]


def plural(n: int, noun: str) -> str:
    """``1 cluster``, ``3 clusters``: a count with its English noun."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
