"""Bytes to text: byte-order marks first, then strict UTF-8, then a charset detector."""

from __future__ import annotations

from pathlib import Path

from ..errors import ThemesError

# Among equally plausible single-byte code pages, Windows-1252 is by far the most common
# source of non-UTF-8 transcripts (Word and Notepad on Western machines).
PREFERRED_CODEPAGES = ("cp1252", "iso8859_15", "latin_1")
# Control bytes that never occur in text in any of the encodings we read (tab, line breaks,
# form feed, vertical tab and escape excepted).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))


def decode(raw: bytes, path: Path, what: str = "a transcript") -> str:
    """Decode a transcript's (or ``what``'s) bytes. Raises ThemesError naming ``path`` for
    binary files and bytes that no text encoding explains."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif _utf16_without_bom(raw):
        encoding = "utf-16-le" if raw[1] == 0 else "utf-16-be"
    else:
        # NUL and other control bytes are valid UTF-8 but never text: check them first.
        if looks_binary(raw):
            raise ThemesError(f"{path}: looks like a binary file, not {what}")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        encoding = _detect(raw, path)
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise ThemesError(f"{path}: cannot decode as {encoding}; save it as UTF-8") from None


def looks_binary(raw: bytes) -> bool:
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([b])) for b in _CONTROL)
    return controls > len(sample) // 100


def _utf16_without_bom(raw: bytes) -> bool:
    """Mostly-ASCII UTF-16 text has a zero in every other byte; binary data does not."""
    sample = raw[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return False
    for zeros, other in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if zeros.count(0) >= 0.9 * len(zeros) and other.count(0) == 0:
            return True
    return False


def _detect(raw: bytes, path: Path) -> str:
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        raise ThemesError(f"{path}: cannot tell the text encoding (not UTF-8, UTF-16, Windows-1252, "
                          "Shift-JIS, ...); save it as UTF-8")
    for match in matches:
        if match.chaos <= best.chaos + 0.01:
            for codepage in PREFERRED_CODEPAGES:
                if codepage in match.could_be_from_charset:
                    return codepage
    return best.encoding
