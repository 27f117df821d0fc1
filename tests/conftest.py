from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.testing import CrawlResult, Sandbox, crawl, run_sandbox

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis server for the session (skipped where redis-server is not installed,
    unless ``HARVESTER_TEST_REDIS=require``, as in CI)."""
    from harvester.testing_redis import binary, run_redis

    if binary() is None:
        if os.environ.get("HARVESTER_TEST_REDIS") == "require":
            pytest.fail("redis-server is required here (HARVESTER_TEST_REDIS=require)")
        pytest.skip("redis-server not installed (apt-get install -y redis-server)")
    with run_redis() as url:
        yield url


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox with the default catalog for the session. Tests that inject
    faults or change the catalog start their own with ``sandbox_factory``."""
    with run_sandbox() as running:
        yield running


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    contexts: list[Any] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Sandbox:
        context = run_sandbox(*args, env=env)
        contexts.append(context)
        return context.__enter__()

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'harvester.sqlite'}"


@pytest.fixture
def run_crawl(db_url: str) -> Callable[..., CrawlResult]:
    """Crawl *spider* against *sandbox* into the test's database."""

    def run(
        spider: str, sandbox: Sandbox, env: dict[str, str] | None = None, **kwargs: Any
    ) -> CrawlResult:
        environment = {
            **sandbox.client_environment(),
            "HARVESTER_DATABASE_URL": db_url,
            **(env or {}),
        }
        return crawl(spider, env=environment, **kwargs)

    return run
