"""Bytes to text: byte-order marks first, then strict UTF-8 (mended where a few Windows-1252
bytes were pasted in), then a charset detector."""

from __future__ import annotations

import re
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
# A run of bytes that are not UTF-8, as the "surrogateescape" error handler leaves them.
_ESCAPED = re.compile("[\udc80-\udcff]+")


def decode(raw: bytes, path: Path, what: str = "a transcript", notices: list[str] | None = None) -> str:
    """Decode a transcript's (or ``what``'s) bytes. Raises ThemesError naming ``path`` for
    binary files and bytes that no text encoding explains. UTF-8 holding a few Windows-1252
    bytes (``_mended_utf8``) is read with them as Windows-1252, and said in ``notices``."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif not bom and _utf16_without_bom(raw):
        encoding = "utf-16-le" if raw[1] == 0 else "utf-16-be"
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
