"""Kill a crawl at a chosen moment and resume it: the harness of the resume tests and
``python -m bench resume``.

A trial runs ``scrapy crawl`` (the real command, in its own process group, as cron or
Scrapyd would) against a sandbox, sends ``SIGKILL`` to the whole group after *delay*
seconds (the crawl and its storage writer process die at once), then runs the same
command again to its end, and counts the sandbox's calls of each run
(``/_sandbox/stats``) and the work-ledger units the killed run had committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from harvester.storage.db import make_engine
from harvester.testing import crawl_command

if TYPE_CHECKING:
    from harvester.testing import Sandbox

#: Product columns compared between a resumed and a clean crawl.
PRODUCT_COLUMNS = (
    "source, product_id, title, price, currency, seller_id, month_sold, stock, delisted_at is null"
)


def calls(sandbox: Sandbox) -> int:
    """API calls the sandbox answered so far (its own endpoints excluded)."""
    stats = sandbox.get("/_sandbox/stats")["stats"]
    return sum(v for k, v in stats.items() if k.endswith("/calls") and not k.startswith("_"))


def start_crawl(
    spider: str,
    args: dict[str, str],
    env: dict[str, str],
    log: Path,
    settings: dict[str, Any] | None = None,
) -> subprocess.Popen[bytes]:
    """``scrapy crawl SPIDER -a k=v ...`` in a new process group, logging to *log*."""
    command = crawl_command([sys.executable, "-m", "scrapy", "crawl", spider], args, settings)
    with log.open("ab") as handle:
        return subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )


def run_crawl(
    spider: str,
    args: dict[str, str],
    env: dict[str, str],
    log: Path,
    settings: dict[str, Any] | None = None,
    timeout: float = 300,
) -> int:
    """``scrapy crawl`` to its end (killed after *timeout* seconds): its exit code."""
    process = start_crawl(spider, args, env, log, settings)
    try:
        return process.wait(timeout)
    finally:
        end_group(process)


def end_group(process: subprocess.Popen[bytes]) -> None:
    """Kill *process*'s group if the process still runs, then wait until every process
    of the group (the storage writer too) is gone (at most 5 s)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for _ in range(50):
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of *sql* on SQLite or PostgreSQL, decimals normalized (12.3000 is 12.3)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(sql)).all()
    finally:
        engine.dispose()
    return [tuple(_plain(v) for v in row) for row in rows]


def _plain(value: Any) -> Any:
    """A value as both backends agree on it: numbers as normalized decimals, booleans as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, Decimal)):
        return Decimal(str(value)).normalize()
    return value


def products(db_url: str) -> list[tuple[Any, ...]]:
    """What a crawl stored, comparable between databases."""
    return query(db_url, f"select {PRODUCT_COLUMNS} from products order by source, product_id")


@dataclass
class Trial:
    delay: float
    #: Calls the killed run made, and the units it had committed when killed.
    killed_calls: int
    done_units: int
    #: Calls of the run that resumed it, and its exit code.
    resumed_calls: int
    exit_code: int
    #: Calls of a clean run of the same command (every unit once).
    clean_calls: int
    #: False when the run ended before the kill (the next one then walks everything again).
    killed: bool = True

    @property
    def units_left(self) -> int:
        """Units the killed run had not committed: what the resumed run must fetch."""
        return self.clean_calls - self.done_units

    @property
    def in_flight(self) -> int:
        """Calls the killed run made whose items were not committed yet."""
        return self.killed_calls - self.done_units


def kill_and_resume(
    sandbox: Sandbox,
    spider: str,
    args: dict[str, str],
    db_url: str,
    delay: float,
    clean_calls: int,
    log: Path,
    settings: dict[str, Any] | None = None,
) -> Trial:
    """Kill ``scrapy crawl`` after *delay* seconds, run it again; count both runs' calls."""
    env = {**sandbox.client_environment(), "HARVESTER_DATABASE_URL": db_url}
    before = calls(sandbox)
    process = start_crawl(spider, args, env, log, settings)
    try:
        process.wait(delay)
        killed = False
    except subprocess.TimeoutExpired:
        killed = True
    end_group(process)  # the writer process may still be dying
    killed_calls = calls(sandbox) - before
    try:
        done = query(
            db_url,
            "select count(*) from work_units where job_id = (select max(id) from crawl_runs)",
        )[0][0]
    except Exception:  # noqa: BLE001 - killed before the schema existed
        done = 0
    before = calls(sandbox)
    exit_code = run_crawl(spider, args, env, log, settings)
    resumed_calls = calls(sandbox) - before
    return Trial(delay, killed_calls, done, resumed_calls, exit_code, clean_calls, killed)
