"""Office files are zip archives (Word's .docx, Excel's .xlsx): recognised by the part they
must hold, and checked before anything is inflated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..errors import ThemesError

# A transcript or a sheet of free text is a few MB; an archive that inflates far beyond that
# is a damaged file or a decompression bomb, refused before anything is inflated.
MAX_INFLATED_BYTES = 200_000_000


def holds(raw: bytes, part: str) -> bool:
    """Whether ``raw`` is a zip archive with the member ``part`` (``word/document.xml``...)."""
    if not raw.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return part in archive.namelist()
    except zipfile.BadZipFile:
        return False


def check_archive(raw: bytes, path: Path, part: str, kind: str, suffix: str, resave: str) -> None:
    """Refuse what is not a readable zip, lacks ``part`` or would inflate past the limit.
    ``kind``: "Word document"; ``suffix``: ".docx"; ``resave``: what to do about it."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ThemesError(f"{path}: not a readable {kind} ({suffix} is a zip archive, this is not one); "
                          f"{resave}") from None
    if not any(info.filename == part for info in infos):
        raise ThemesError(f"{path}: not a{'n' if kind[0] in 'AEIOU' else ''} {kind} (the archive has no {part})")
    inflated = sum(info.file_size for info in infos)
    if inflated > MAX_INFLATED_BYTES:
        noun = kind.split()[-1]
        raise ThemesError(f"{path}: the {noun} would inflate to {inflated / 1_000_000:,.0f} MB "
                          f"(more than {MAX_INFLATED_BYTES // 1_000_000} MB); refusing to open it")
