"""Keep a run's ``crawl_runs.heartbeat_at`` fresh, so that a dead run is recognised.

From :data:`harvester.signals.run_started` on, a daemon thread (never the reactor)
updates the run's heartbeat every ``HARVESTER_HEARTBEAT_INTERVAL`` seconds with its
own engine. A run whose heartbeat is older than ``HARVESTER_HEARTBEAT_STALE_AFTER``
seconds, or whose process is gone on this host, is marked ``crashed`` by the next run
against the database and by ``scrapy runs`` (:func:`harvester.storage.runs.mark_crashed`).

A process that exits while its run is still ``running`` (a second Ctrl-C stops the
reactor before the spider closes) marks it ``interrupted`` at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.orm import Session

from harvester import signals as harvester_signals
from harvester.config import database_url
from harvester.storage import runs
from harvester.storage.db import make_engine

if TYPE_CHECKING:
    from typing import Any, Self

    from scrapy.crawler import Crawler
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)


class RunHeartbeat:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.interval = settings.getfloat("HARVESTER_HEARTBEAT_INTERVAL")
        if self.interval <= 0:
            raise NotConfigured("HARVESTER_HEARTBEAT_INTERVAL is 0")
        if not settings.getbool("HARVESTER_STORAGE_ENABLED"):
            raise NotConfigured("HARVESTER_STORAGE_ENABLED is off: no run row to keep alive")
        self.url = database_url(settings)
        self.run_id: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        crawler.signals.connect(self._run_started, signal=harvester_signals.run_started)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _run_started(self, run_id: int, **_: Any) -> None:
        self.run_id = run_id
        self._thread = threading.Thread(target=self._beat, name="harvester-heartbeat", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    def _beat(self) -> None:
        assert self.run_id is not None
        self._engine = make_engine(self.url)
        while not self._stop.wait(self.interval):
            try:
                with Session(self._engine) as session, session.begin():
                    runs.heartbeat(session, self.run_id)
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
                logger.warning("Could not record the run's heartbeat (%s)", exc)

    def _spider_closed(self) -> None:
        # the thread ends within one wait; the storage pipeline finishes the run row
        self._stop.set()

    def _at_exit(self) -> None:
        """The process exits: a run still ``running`` was stopped before it closed."""
        if self.run_id is None:
            return
        self._stop.set()
        engine = self._engine or make_engine(self.url)
        try:
            with Session(engine) as session, session.begin():
                if runs.mark_interrupted(session, self.run_id):
                    logger.error(
                        "Run %s stopped before it could close: marked interrupted "
                        "(the same command resumes it)",
                        self.run_id,
                    )
        except Exception as exc:  # noqa: BLE001 - at exit: the next run marks it crashed
            logger.warning("Could not mark run %s interrupted (%s)", self.run_id, exc)
        finally:
            engine.dispose()
