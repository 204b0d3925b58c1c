"""Errors the analyst can act on: the CLI prints them as one line and exits with code 2."""


class ThemesError(Exception):
    """A problem with the input, the config or the taxonomy, explained in one line.

    The message names the file, and the key or line where that applies.
    """

    exit_code = 2


def where(path: object, line: int | None = None, key: str | None = None) -> str:
    """Format a location like ``configs/x.yaml:12 (clustering.min_cluster_size)``."""
    text = str(path)
    if line is not None:
        text += f":{line}"
    if key:
        text += f" ({key})"
    return text
