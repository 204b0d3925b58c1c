"""Privacy: stable role-based pseudonyms for speakers, and a scan for identifying details."""

from __future__ import annotations

import fcntl
import json
import os
import re
import unicodedata
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import regex

from .artifacts import Clustering, Segment
from .errors import ThemesError
from .formats.turns import DESCRIPTION, ID, ROLE
from .words import CJK_CHARACTER

# A table's values kept as annotations ("id=17", "role=Nurse"): data, not a transcriber's notes.
FIELDS = (ID, ROLE)
ROLE_PREFIX = {"user": "U", "professional": "P", "facilitator": "F", "respondent": "R"}
OTHER_PREFIX = "X"  # the role "unknown", and any role whose letter would pass for another's


def prefix_for(role: str) -> str:
    """The letter of ``role``'s codes: U, P, F, R for the documented roles; any other role's
    first letter in upper case, unless it is one of those or X (so ``unknown`` gets no U, and
    a "peer" no P that would read as a professional) or not a letter: then X."""
    if role in ROLE_PREFIX:
        return ROLE_PREFIX[role]
    letter = role[:1].upper()
    return letter if letter.isalpha() and letter not in {*ROLE_PREFIX.values(), OTHER_PREFIX} else OTHER_PREFIX


class PseudonymKey:
    """Speaker label -> pseudonym (e.g. "User 3" -> "U1"), kept in an owner-only JSON file.

    Codes are stable: a label keeps its code across runs, even one a saved key gave under an
    older rule for the letters (``U4`` for a speaker of unknown role); new labels get the next
    free number for their role's prefix, in order of first appearance, skipping codes that are
    a real label in the data (a transcript's own ``P1`` must not read as someone else's code).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.mapping: dict[str, str] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise ThemesError(f"{self.path}: unreadable pseudonym key ({err}); it was not changed") from None
            if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
                raise ThemesError(f"{self.path}: a pseudonym key must map speaker labels to codes")
            self.mapping = data
        self.changed = False
        # Per prefix: the codes the key gives, and a number below which all are given, so a
        # new code is found without reading the whole key again (8,000 speakers took 44 s).
        self._used: dict[str, set[str]] = {}
        self._floor: dict[str, int] = {}

    def code(self, speaker: str, role: str, taken: Collection[str] = ()) -> str:
        """The speaker's code; a new one is the lowest free number for the role's prefix that
        is none of ``taken`` (the data's own labels, in lower case)."""
        if speaker not in self.mapping:
            prefix = prefix_for(role)
            if prefix not in self._used:
                self._used[prefix] = {v for v in self.mapping.values() if re.fullmatch(rf"{re.escape(prefix)}\d+", v)}
            used = self._used[prefix]
            number = self._floor.get(prefix, 1)
            while f"{prefix}{number}" in used:
                number += 1
            self._floor[prefix] = number
            while f"{prefix}{number}" in used or f"{prefix}{number}".lower() in taken:
                number += 1
            self.mapping[speaker] = f"{prefix}{number}"
            used.add(self.mapping[speaker])
            self.changed = True
        return self.mapping[speaker]

    @classmethod
    @contextmanager
    def held(cls, path: Path) -> Iterator["PseudonymKey"]:
        """The key read under an exclusive lock (a file beside it) held until the block ends:
        two runs at once on one key each build on the codes the other gave, and neither write
        drops the other's."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            # A key in a folder that cannot be written (shared read-only): no run can add codes
            # to it, so there is nothing to take turns over; one that needs new codes fails to
            # save, with its reason.
            fd = None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield cls(path)
        finally:
            if fd is not None:
                os.close(fd)

    def save(self) -> None:
        """Write the key atomically, readable by its owner only."""
        if not self.changed:
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as err:
            raise ThemesError(f"{self.path}: cannot save the pseudonym key ({err.strerror or err}); new "
                              "speakers need codes in it, so the run stops before anything is written") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.mapping, handle, indent=2, ensure_ascii=False, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self.changed = False


def pseudonymise(segments: list[Segment], key: PseudonymKey) -> list[Segment]:
    """The segments with speaker labels replaced by their pseudonyms (text untouched). The
    description a label gave the speaker (``description=Sarah`` from ``Interviewer (Sarah):``)
    is part of the label, so it is left out of the annotations too; a speaker's label inside
    another annotation (Teams' ``Anna Fischer stopped transcription``) becomes the pseudonym."""
    taken = {s.speaker.strip().lower() for s in segments}
    # A row without a speaker (a survey answer) names no one: it stays without one, apart from the others.
    codes = {s.speaker: key.code(s.speaker, s.role, taken) if s.speaker.strip() else "" for s in segments}
    # Each label as written and, for Teams' "Fischer, Anna", as its notes may write it too:
    # "Anna Fischer stopped transcription".
    by_words = {}
    for label in (label for label in codes if label.strip()):
        for spelling in _spellings(label):
            by_words.setdefault(" ".join(spelling.split()).casefold(), label)
    # Whole words (``regex``: a vowel sign after a name is part of a longer word, not its end),
    # in any case and however spaced (a label's spacing is evened out, a note's is as typed).
    spellings = sorted(by_words, key=len, reverse=True)
    labels = (regex.compile("|".join(rf"(?<!\w){_spaced(spelling)}(?!\w)" for spelling in spellings),
                            regex.IGNORECASE | regex.FULLCASE)
              if spellings else None)

    def annotations(segment: Segment) -> tuple[str, ...]:
        kept = (a for a in segment.annotations if not a.startswith(DESCRIPTION))
        # Notes, not a table's values (id=..., role=...), name speakers.
        return tuple(labels.sub(lambda m: codes[by_words[" ".join(m.group(0).split()).casefold()]], a)
                     if labels and not a.startswith(FIELDS) else a for a in kept)

    return [replace(s, speaker=codes[s.speaker], annotations=annotations(s))
            for s in segments]


def _spellings(label: str) -> list[str]:
    """A label as written and, when it is "Surname, First names", as "First names Surname"."""
    surname, comma, given = label.partition(",")
    if comma and surname.strip() and given.strip() and "," not in given:
        return [label, f"{given.strip()} {surname.strip()}"]
    return [label]


# Patterns for details that may identify someone. Deliberately broad: the analyst reviews them.
PATTERNS = {
    "email": re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b"),
    "url": re.compile(r"\b(?:https?://|www\.)[^\s<>\"']{2,200}", re.IGNORECASE),
    # A national number (07700 900123, (020) 7946 0958) or an international one, with or
    # without the trunk zero (+44 7700 900123, +447700900123, +44 (0)20 7946 0958).
    "phone": re.compile(r"(?<![\w+])(?:(?:\+\d{1,3}[\s.-]?)?\(?0\d{1,4}\)?|\+\d{1,3}[\s.-]?(?:\(0\)[\s.-]?)?\d{1,4})"
                        r"[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\w)"),
    # In any case, as speech recognition writes it too ("sw1a 1aa"); in lower case not where it
    # ends like an ordinal or a unit, which a postcode cannot ("ks2 2nd", "d3 5mg"): see _postcode.
    "postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b", re.IGNORECASE),
}


# Every pattern needs a digit, an "@" or a web address: a text with none of them (most
# segments) is not searched further, which makes the scan several times faster.
_DIGIT_OR_AT = re.compile(r"[@\d]")


# A postcode's last two letters are never C, I, K, M, O or V; lower-case speech ends so ("d3 5mg").
_ORDINAL = re.compile(r"(?:1st|2nd|3rd|[04-9]th)$")
_INWARD_LETTERS = set("abdefghjlnpqrstuwxyz")


def _postcode(match: str) -> bool:
    """Whether a postcode-shaped match is one: never where it ends in letters no postcode ends
    in ("D3 5mg", "b12 1mg"), nor, its letters in lower case, like an ordinal ("KS2 2nd")."""
    return set(match[-2:].lower()) <= _INWARD_LETTERS and not (match[-2:].islower() and _ORDINAL.search(match))


def _may_hold_identifier(text: str) -> bool:
    lowered = text.lower()
    return bool(_DIGIT_OR_AT.search(text)) or "http" in lowered or "www." in lowered


@dataclass(frozen=True)
class Finding:
    segment_id: str
    kind: str
    match: str


def load_names(path: Path | None, key: str = "privacy.names_file") -> list[str]:
    """Names to look for, one a line (blank lines and # comments ignored); ``key``: the setting
    or option that named the file, for the messages."""
    if path is None:
        return []
    path = Path(path)
    if path.is_dir():
        raise ThemesError(f"{key}: {path} is a folder; name a text file of names, one a line")
    if not path.is_file():
        raise ThemesError(f"{key}: {path}: names file not found")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise ThemesError(f"{key}: {path}: names file is not UTF-8 text") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _spaced(name: str, gap: str = r"\s+") -> str:
    r"""A pattern for ``name`` with any spacing between its words ("José Álvarez" written with
    Word's no-break space, or over two spaces); a ``gap`` of ``\s*`` lets them run together too."""
    return gap.join(regex.escape(word) for word in name.split())


def scan(segments: list[Segment], names: list[str] = ()) -> list[Finding]:
    """Flag segments that may identify someone: e-mail addresses, URLs, phone numbers,
    postcodes, and any of ``names`` (whole words, any case, any spacing, an accent typed as
    one character or as a letter and a combining mark)."""
    name_pattern = None
    names = {unicodedata.normalize("NFC", n) for n in names if n.split()}
    if names:
        # Whole words; a Chinese or Japanese name has none around it ("佐藤花子さん").
        # (Its parts may be written with a space or without: "佐藤 花子", "佐藤花子".)
        alternatives = "|".join(_spaced(n, r"\s*") if re.match(CJK_CHARACTER, n) else rf"(?<!\w){_spaced(n)}(?!\w)"
                                for n in sorted(names, key=len, reverse=True))
        name_pattern = regex.compile(alternatives, regex.IGNORECASE)
    findings = []
    for segment in segments:
        # The speech, and the transcriber's notes kept beside it ("[John's brother]").
        notes = [a for a in segment.annotations if not a.startswith((DESCRIPTION, *FIELDS))]
        for text in (unicodedata.normalize("NFC", t) for t in (segment.text, *notes)):
            for kind, pattern in PATTERNS.items() if _may_hold_identifier(text) else ():
                for match in pattern.finditer(text):
                    if kind != "postcode" or _postcode(match.group(0)):
                        findings.append(Finding(segment.segment_id, kind, match.group(0)))
            if name_pattern:
                for match in name_pattern.finditer(text):
                    findings.append(Finding(segment.segment_id, "name", match.group(0)))
    return findings


def privacy_flags(findings: list[Finding]) -> dict[str, list[str]]:
    """segment_id -> the kinds of identifier found in it (sorted, no repeats)."""
    flags: dict[str, set[str]] = {}
    for finding in findings:
        flags.setdefault(finding.segment_id, set()).add(finding.kind)
    return {segment_id: sorted(kinds) for segment_id, kinds in flags.items()}


HIDDEN_LABEL = "(its keywords held identifiers, left out)"


def _holds(token: str, words: set[str]) -> bool:
    """Whether a keyword's word is one of an identifier's ``words``: the same word, a name's
    possessive ("sarahs"), an address's or number's word (marked "@") run into the word before
    it ("emailjogpcom"), or for Chinese and Japanese, whose keywords are pairs of characters,
    part of it ("佐藤" of "佐藤花子"). Not a longer word that starts or ends like a name
    ("willing", "forward", "market" for Will, Ward, Mark)."""
    return any(token in (word, word + "s") or (word[0] == "@" and token.endswith(word[1:]))
               or (_CJK_PAIR.fullmatch(token) and token in word) for word in words)


_CJK_PAIR = re.compile(f"{CJK_CHARACTER}{{2}}")


def without_identifiers(clustering: Clustering, findings: list[Finding]) -> tuple[Clustering, int]:
    """-> (the clustering with every keyword that holds a word of a flagged identifier left
    out, and its label made again from the rest; how many keywords were left out). Keywords
    are counted from the speech, so "john.smith@example.org" or a listed name became one
    ("johnsmithexampleorg", "josé álvarez") in the cluster's label, which the flags on the
    segments did not cover."""
    from .cluster import label_of, topic_text

    found: dict[str, set[str]] = {}  # segment id -> the words of its identifiers
    for finding in findings:
        words = topic_text([finding.match])[0].lower().split()
        # An address or number keeps its mark: run into the word before it, it is still one.
        found.setdefault(finding.segment_id, set()).update(w if finding.kind == "name" else f"@{w}" for w in words)
    if not found:
        return clustering, 0
    left_out, clusters = 0, []
    for cluster in clustering.clusters:
        # A cluster's keywords are its own members' words: only their identifiers are in them.
        words = set().union(*(found.get(sid, ()) for sid in cluster.segment_ids))
        kept = tuple(k for k in cluster.keywords if not any(_holds(token, words) for token in k.lower().split()))
        left_out += len(cluster.keywords) - len(kept)
        clusters.append(cluster if len(kept) == len(cluster.keywords) else
                        replace(cluster, keywords=kept, label=label_of(kept) if kept else HIDDEN_LABEL))
    return replace(clustering, clusters=clusters), left_out
