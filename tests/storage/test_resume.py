"""Crash-safe resume, on SQLite and PostgreSQL: ``kill -9`` of ``scrapy crawl`` (its whole
process group) at a random moment, then the same command: it resumes from the work ledger,
calls only the units not committed, and stores what a clean run stores."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from harvester.testing_resume import calls, kill_and_resume, products, query, run_crawl

pytestmark = pytest.mark.e2e

#: Offers of the store walked: 2600 is two price bands of 26 pages (76 calls with page 1s).
STORE = 2600
CONCURRENCY = 16


@dataclass
class Clean:
    calls: int
    products: list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def clean(sandbox, tmp_path_factory) -> Clean:
    """A clean run of the command, for reference."""
    tmp = tmp_path_factory.mktemp("clean")
    url = f"sqlite:///{tmp / 'clean.sqlite'}"
    env = {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": url}
    before = calls(sandbox)
    assert run_crawl("store", {"seller_open_id": sandbox.store(STORE)}, env, tmp / "log") == 0
    return Clean(calls(sandbox) - before, products(url))


def test_kill_9_at_a_random_moment_then_the_same_command_resumes(
    sandbox, clean, database_url, tmp_path
):
    args = {"seller_open_id": sandbox.store(STORE)}
    delay = random.uniform(3.0, 6.0)  # the crawl starts in ~1.5 s and walks for ~7 s
    trial = kill_and_resume(
        sandbox, "store", args, database_url, delay, clean.calls, tmp_path / "log"
    )
    log = (tmp_path / "log").read_text()
    assert trial.exit_code == 0, log[-3000:]
    # the resumed run fetched only what the killed one had not committed
    assert trial.resumed_calls <= trial.units_left, trial
    assert trial.in_flight <= CONCURRENCY + 8, trial  # + at most 2 s of the writer's buffer
    assert products(database_url) == clean.products
    runs = query(database_url, "select id, status, resumes, exit_code from crawl_runs order by id")
    if trial.done_units:
        assert runs == [(1, "crashed", None, None), (2, "complete", 1, 0)], trial
    assert "running" not in {status for _, status, _, _ in runs}

    if not database_url.startswith("sqlite"):
        return  # (the ledger's queries are the same on both: the re-run is checked once)
    # a finished run is never resumed: the next run walks everything again
    before = calls(sandbox)
    env = {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": database_url}
    assert run_crawl("store", args, env, tmp_path / "log") == 0
    assert calls(sandbox) - before == clean.calls
    assert query(database_url, "select status, resumes from crawl_runs order by id desc")[0] == (
        "complete",
        None,
    )
    assert products(database_url) == clean.products
