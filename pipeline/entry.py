"""The `themes` command's entry point: a Ctrl-C while the command line's libraries load (its
first tenth of a second) ends with one line, like one at any later moment, not a traceback."""

import sys


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("error: interrupted before anything was read or written", file=sys.stderr)
        sys.exit(130)
    run()
