"""Bytes to text: byte-order marks first, then strict UTF-8 (mended where a few Windows-1252
bytes were pasted in), then a charset detector."""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_right
from pathlib import Path

from ..errors import ThemesError
from .turns import iter_lines

# Among equally plausible single-byte code pages, Windows-1252 is by far the most common
# source of non-UTF-8 transcripts (Word and Notepad on Western machines).
PREFERRED_CODEPAGES = ("cp1252", "iso8859_15", "latin_1")
# Control bytes that never occur in text in any of the encodings we read (tab, line breaks,
# form feed, vertical tab and escape excepted).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_NON_ASCII = bytes(range(128, 256))
# Characters text does not hold: control characters (but for those below), lone surrogates,
# private-use and unassigned code points.
_NOT_TEXT = {"Cc", "Cs", "Co", "Cn"}
_TEXT_CONTROLS = "\t\n\r\x0b\x0c\x1b\x85"
# A run of bytes that are not UTF-8, as the "surrogateescape" error handler leaves them.
_ESCAPED = re.compile("[\udc80-\udcff]+")


def decode(raw: bytes, path: Path, what: str = "a transcript", notices: list[str] | None = None) -> str:
    """Decode a transcript's (or ``what``'s) bytes. Raises ThemesError naming ``path`` for
    binary files and bytes that no text encoding explains. UTF-8 holding a few Windows-1252
    bytes (``_mended_utf8``) is read with them as Windows-1252, and said in ``notices``."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif not bom and (utf16 := _utf16_without_bom(raw)):
        encoding = utf16
    else:
        # NUL and other control bytes are valid UTF-8 but never text: check them first.
        if not bom and looks_binary(raw):
            raise ThemesError(f"{path}: looks like a binary file, not {what}")
        body = raw[3:] if bom else raw
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        mended = _mended_utf8(body, declared=bom)
        if mended is not None:
            text, strays = mended
            if notices is not None:
                notices.append(_stray_notice(path, text, strays))
            return text
        encoding = "utf-8-sig" if bom else _detect(raw, path)
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise ThemesError(f"{path}: cannot decode as {encoding}; save it as UTF-8") from None


def _mended_utf8(raw: bytes, declared: bool = False) -> tuple[str, list[re.Match]] | None:
    """UTF-8 with a few bytes that are not (Windows-1252 text pasted in from elsewhere): the
    text with each such byte read as Windows-1252, and where they are (matches of ``_ESCAPED``
    in the text before mending; one byte is one character either way, so offsets hold).

    None, for the detector to decide, unless Windows-1252 explains every stray byte, each run
    of them stands between ASCII characters (a pasted ``é`` or ``’``, not a byte in the middle
    of UTF-8 text), and the file has at least as many UTF-8 characters beyond ASCII as stray
    bytes, one at least (``declared``, a UTF-8 byte-order mark, says so instead). A file in
    one other encoding fails these: its bytes beyond ASCII are mostly not UTF-8, and in
    Shift-JIS or EUC-JP they come in long runs."""
    escaped = raw.decode("utf-8", "surrogateescape")
    strays = list(_ESCAPED.finditer(escaped))
    stray_bytes = sum(len(match.group()) for match in strays)
    # Each ASCII byte is one character, each stray byte one too; the rest are UTF-8's.
    utf8_chars = len(escaped) - len(raw.translate(None, _NON_ASCII)) - stray_bytes
    if not declared and (utf8_chars < 1 or utf8_chars < stray_bytes):
        return None
    pieces, last = [], 0
    for match in strays:
        before, after = escaped[match.start() - 1:match.start()], escaped[match.end():match.end() + 1]
        if not (before.isascii() and after.isascii()):
            return None
        try:
            mended = bytes(ord(char) - 0xDC00 for char in match.group()).decode("cp1252")
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: no character in Windows-1252
            return None
        pieces += [escaped[last:match.start()], mended]
        last = match.end()
    return "".join(pieces) + escaped[last:], strays


def _stray_notice(path: Path, text: str, strays: list[re.Match]) -> str:
    """Where the stray bytes are, and what they were read as, for the user to check."""
    starts = [line.start for line in iter_lines(text)]
    lines = [str(number) for number in dict.fromkeys(bisect_right(starts, match.start()) for match in strays)]
    if len(lines) == 1:
        where = f"line {lines[0]}"
    elif len(lines) <= 10:
        where = f"lines {', '.join(lines[:-1])} and {lines[-1]}"
    else:
        where = f"lines {', '.join(lines[:10])}, ... ({len(lines)} lines)"
    count = sum(len(match.group()) for match in strays)
    chars = list(dict.fromkeys(text[match.start():match.end()] for match in strays))
    shown = ", ".join(map(repr, chars[:5])) + (", ..." if len(chars) > 5 else "")
    return (f"{path}: mostly UTF-8, but {count} byte{'s' if count > 1 else ''} on {where} "
            f"{'are' if count > 1 else 'is'} not (text pasted in from elsewhere?): read as Windows-1252, "
            f"{shown}; check {'those lines' if len(lines) > 1 else 'that line'}, or save the file again as UTF-8")


def looks_binary(raw: bytes) -> bool:
    sample = raw[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([b])) for b in _CONTROL)
    return controls > len(sample) // 100


def _utf16_without_bom(raw: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` for UTF-16 text without a byte-order mark, else None.

    Line breaks, spaces, digits and Latin letters have a zero byte in UTF-16, all in one lane:
    at odd offsets in little-endian (``"a"`` is ``61 00``), at even ones in big-endian. Text in
    other scripts has few zeros, and some in the other lane too (``一`` is ``00 4E``), so the
    zeros need only be more in one lane, where the bytes read in that order give text.
    Binary data rarely does (a lone surrogate, control characters). UTF-8 with a few zero
    bytes in it is not taken for UTF-16 (it is binary, as before): without them it reads as
    UTF-8, which real UTF-16 text with few zeros (Japanese, Greek) never does.
    """
    sample = raw[:4096]
    if len(sample) < 4 or len(raw) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for encoding, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= 2 and zeros > other:
            break
    else:
        return None
    if zeros * 8 < len(sample) and _reads_as(sample.replace(b"\x00", b""), "utf-8"):
        return None
    if not _reads_as(sample, encoding):
        return None
    # A second opinion, the charset detector's, on whether that text is language or noise
    # that happens to decode (b"text\n\0\1\2\3\xff" repeated reads '整瑸\nȁ＃', each a character).
    from charset_normalizer import from_bytes

    last = sample[-2:] if encoding == "utf-16-be" else sample[-2:][::-1]
    whole = sample[:-2] if 0xD8 <= last[0] <= 0xDB else sample  # a pair of surrogates cut in two
    return encoding if from_bytes(whole, cp_isolation=[encoding.replace("-", "_")]).best() else None


def _reads_as(sample: bytes, encoding: str) -> bool:
    """Whether ``sample``, the start of a file, is text in ``encoding``: it decodes (a character
    cut off at its end aside), and almost every character is one that text holds."""
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    odd = sum(1 for char in text if unicodedata.category(char) in _NOT_TEXT and char not in _TEXT_CONTROLS)
    return bool(text) and odd * 100 <= len(text)


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
