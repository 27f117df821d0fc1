"""``python -m bench [NAME ...]``: run every benchmark module of this folder (or the named ones).

A benchmark module defines ``main(argv: list[str]) -> None``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    names = argv or [info.name for info in pkgutil.iter_modules([str(here)]) if not info.name.startswith("_")]
    for name in names:
        print(f"== bench.{name} ==", flush=True)
        importlib.import_module(f"bench.{name}").main([])


if __name__ == "__main__":
    main(sys.argv[1:])
