"""``python -m bench [NAME [ARGS...]]``: run every benchmark module of this folder,
or one with its arguments (``python -m bench NAME --help`` lists them).

A benchmark module defines ``main(argv: list[str]) -> None``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

#: Helper modules that are not benchmarks themselves.
NOT_BENCHMARKS: set[str] = set()


def benchmarks() -> list[str]:
    """Names of the benchmark modules of this folder."""
    here = Path(__file__).parent
    return [
        i.name
        for i in pkgutil.iter_modules([str(here)])
        if not i.name.startswith("_") and i.name not in NOT_BENCHMARKS
    ]


def main(argv: list[str]) -> int:
    known = benchmarks()
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m bench [NAME [ARGS...]]  (no NAME: every benchmark)")
        print(f"benchmarks: {', '.join(known)}; python -m bench NAME --help for its arguments")
        return 0
    if argv and argv[0] not in known:
        print(
            f"python -m bench: error: unknown benchmark {argv[0]!r}; known: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    names, args = ([argv[0]], argv[1:]) if argv else (known, [])
    for name in names:
        print(f"== bench.{name} ==", flush=True)
        importlib.import_module(f"bench.{name}").main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
