"""Outcome counts of the fuzz suite, printed at the end of the run (and written as JSON
to ``$HARVESTER_FUZZ_REPORT`` when set)."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest

from tests.storage.conftest import postgres_server

__all__ = ["outcomes", "postgres_server"]

OUTCOMES: dict[str, Counter[str]] = defaultdict(Counter)


@pytest.fixture(scope="session")
def outcomes() -> Iterator[dict[str, Counter[str]]]:
    yield OUTCOMES


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not OUTCOMES:
        return
    terminalreporter.section("fuzz outcomes (cases by outcome)")
    for name, counts in sorted(OUTCOMES.items()):
        line = ", ".join(f"{outcome} {n}" for outcome, n in counts.most_common())
        terminalreporter.write_line(f"{name}: {sum(counts.values())} cases: {line}")
    report = os.environ.get("HARVESTER_FUZZ_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as out:
            json.dump({name: dict(counts) for name, counts in OUTCOMES.items()}, out, indent=1)
