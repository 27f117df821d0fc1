"""The end-of-run summary: a short block at the end of every crawl's log.

Status and exit code (from :data:`harvester.signals.run_finished` when the run-outcome
component sends it, else Scrapy's finish reason), duration, calls and rate per API
against its limit, products new / changed / unchanged / delisted (read from the
database, :mod:`harvester.reporting.queries`), dead letters by API and kind with the
commonest reasons, retries and throttles, monitors, and where the data went (database
URL, password masked, and the ``crawl_runs`` id; ``scrapy report ID`` draws it).
Logged at ``engine_stopped`` so it follows Scrapy's closing lines; the run outcome's
one-line reason comes last.

The raw stats dict is logged at DEBUG here (``STATS_DUMP`` is off in the project
settings) and kept in ``crawl_runs.stats``.
"""

from __future__ import annotations

import asyncio
import logging
import pprint
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.engine import make_url

from harvester import signals as harvester_signals
from harvester.config import database_url
from harvester.extensions.progress_bar import clock
from harvester.reporting.stats import (
    MONITORS_PASSED,
    api_calls,
    applied_qps,
    failed_monitors,
    prefixed,
)

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

    from harvester.reporting.queries import RunFigures

logger = logging.getLogger(__name__)


def masked(url: str) -> str:
    """*url* with its password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


def dead_letters_text(letters: dict[str, int], figures: RunFigures | None) -> str:
    """Dead letters by API and kind (stats), with the commonest reasons (database)."""
    if not letters:
        return "none"
    text = ", ".join(f"{key} {count}" for key, count in sorted(letters.items()))
    reasons = list((figures.dead_letters if figures else {}).items())
    if reasons:
        shown = [f"{count}x {_cut(reason, 60)}" for reason, count in reasons[:3]]
        more = f"; {len(reasons) - 3} more reason(s)" if len(reasons) > 3 else ""
        text += " — " + "; ".join(shown) + more
    return text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def summary_lines(
    stats: dict[str, Any],
    outcome: dict[str, Any],
    figures: RunFigures | None,
    limits: dict[str, float | None],
    destination: str,
) -> list[tuple[str, str]]:
    """The summary's (label, text) lines."""
    if outcome:
        status = f"{outcome['status']} (exit code {outcome['exit_code']})"
    else:
        status = f"{stats.get('finish_reason', '?')} (Scrapy finish reason)"
    duration = float(stats.get("elapsed_time_seconds") or 0.0)
    lines = [("status", status), ("duration", clock(duration))]
    calls = api_calls(stats)
    lines.append(
        (
            "calls",
            "; ".join(
                f"{api} {count} ({count / duration if duration else 0:.1f}/s"
                + (f", limit {limits[api]:g}/s)" if limits.get(api) else ")")
                for api, count in sorted(calls.items())
            )
            or "none",
        )
    )
    items = int(stats.get("item_scraped_count", 0))
    if figures is not None:
        lines.append(
            (
                "items",
                f"{items} scraped; products {figures.new} new, {figures.changed} changed, "
                f"{figures.unchanged} unchanged, "
                f"{stats.get('harvester/storage/delisted', figures.delisted) or 0} delisted",
            )
        )
    else:
        lines.append(("items", f"{items} scraped"))
    letters = prefixed(stats, "harvester/dead_letter/")
    lines.append(("dead letters", dead_letters_text(letters, figures)))
    throttled = sum(prefixed(stats, "harvester/throttle/").values())
    lines.append(
        (
            "retries",
            f"{stats.get('retry/count', 0)} retried, {throttled} throttle back-offs, "
            f"{stats.get('retry/max_reached', 0)} gave up",
        )
    )
    failed = failed_monitors(stats)
    if MONITORS_PASSED in stats or failed:
        lines.append(
            (
                "monitors",
                f"{stats.get(MONITORS_PASSED, 0)} passed"
                + (f", FAILED: {', '.join(sorted(failed))}" if failed else ""),
            )
        )
    lines.append(("data", destination))
    return lines


class RunSummary:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HARVESTER_SUMMARY_ENABLED"):
            raise NotConfigured("HARVESTER_SUMMARY_ENABLED is off")
        self.crawler = crawler
        self.outcome: dict[str, Any] = {}
        self.figures: RunFigures | None = None
        #: The run's crawl_runs id (signal run_started, from the storage pipeline).
        self.run_id: int | None = None
        crawler.signals.connect(self._run_started, signal=harvester_signals.run_started)
        crawler.signals.connect(self._run_finished, signal=harvester_signals.run_finished)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self._engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _run_started(self, run_id: int, **_: Any) -> None:
        self.run_id = run_id

    def _run_finished(self, **outcome: Any) -> None:
        self.outcome = outcome

    def _storage_url(self) -> str | None:
        if not self.crawler.settings.getbool("HARVESTER_STORAGE_ENABLED"):
            return None
        return database_url(self.crawler.settings)

    async def _spider_closed(self) -> None:
        # every batch is written by now (pipelines close before spider_closed)
        url = self._storage_url()
        if url is None or self.run_id is None:
            return
        try:
            self.figures = await asyncio.to_thread(self._read, url, self.run_id)
        except Exception as exc:  # the summary never fails a crawl
            logger.warning("Run summary: could not read the database (%s)", exc)

    @staticmethod
    def _read(url: str, run_id: int) -> RunFigures | None:
        from harvester.reporting.queries import run_figures
        from harvester.storage.db import make_engine

        engine = make_engine(url)
        try:
            return run_figures(engine, run_id)
        finally:
            engine.dispose()

    def destination(self) -> str:
        url = self._storage_url()
        parts = []
        if url is not None:
            run = f" (crawl_runs.id {self.run_id})" if self.run_id is not None else ""
            parts.append(masked(url) + run)
        feeds = self.crawler.settings.getdict("FEEDS")
        parts += [str(uri) for uri in feeds]
        return ", ".join(parts) or "nowhere (storage off, no feed)"

    def _engine_stopped(self) -> None:
        stats = dict(self.crawler.stats.get_stats())
        logger.debug("Dumping Scrapy stats:\n%s", pprint.pformat(stats))
        limits = {api: applied_qps(stats, api, self.crawler.settings) for api in api_calls(stats)}
        lines = summary_lines(stats, self.outcome, self.figures, limits, self.destination())
        width = max(len(label) for label, _ in lines)
        logger.info(
            "Run summary:\n%s", "\n".join(f"  {label:<{width}}  {text}" for label, text in lines)
        )
