"""`python -m benchmarks run [--size N] [--workers W] [--skip-peer] [--out DIR]`.

The one documented benchmark command (docs/benchmarks.md); the other modules of the
package (`archive_bench`, `search_bench`, ...) keep their own `python -m
benchmarks.NAME` entry points.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "run":
        print(
            "usage: python -m benchmarks run [--size N] [--workers W] [--skip-peer] "
            "[--out DIR]   (python -m benchmarks run --help for all options)",
            file=sys.stderr,
        )
        return 2
    from benchmarks.run import main as run_main

    return run_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
