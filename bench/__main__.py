"""``python -m bench [NAME [ARGS...]]``: run every benchmark module of this folder,
or one with its arguments.

A benchmark module defines ``main(argv: list[str]) -> None``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

#: Helper modules that are not benchmarks themselves.
NOT_BENCHMARKS = {"bare_spider"}


def main(argv: list[str]) -> None:
    if argv:
        names, args = [argv[0]], argv[1:]
    else:
        here = Path(__file__).parent
        names = [
            i.name
            for i in pkgutil.iter_modules([str(here)])
            if not i.name.startswith("_") and i.name not in NOT_BENCHMARKS
        ]
        args = []
    for name in names:
        print(f"== bench.{name} ==", flush=True)
        importlib.import_module(f"bench.{name}").main(args)


if __name__ == "__main__":
    main(sys.argv[1:])
