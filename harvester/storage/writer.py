"""Batch writes with retry and spool, runnable on a thread or in a writer process.

:class:`BatchWriter` owns an engine and writes one batch at a time through
:func:`~harvester.storage.repository.write_isolating` (records the database refuses
for a data reason become dead letters; the rest land). Anything else — the
database away, a lock held too long — is retried with exponential backoff by
:meth:`BatchWriter.retrying`, the one retry loop of the storage layer, and the
batch is spooled (:mod:`harvester.storage.spool`) when the database stays down.
The process functions below are the picklable entry points of the writer process
(``HARVESTER_STORAGE_WRITER = "process"``, the default).
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from harvester import items
from harvester.storage import repository, spool
from harvester.storage.db import WRITER_CACHE_MIB, make_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass
class WriteResult:
    """Outcome of one batch: how many tries it took, and its spool file if it was spooled."""

    attempts: int
    spooled: Path | None = None
    error: str | None = None
    #: Seconds the writer spent on the batch, retries included.
    seconds: float = 0.0
    #: Records the database refused for a data reason, stored as dead letters instead.
    refused: int = 0
    #: The batch could neither be written nor spooled.
    lost: bool = False
    #: The writer process died and was replaced.
    writer_restarted: bool = False


class BatchWriter:
    def __init__(self, engine: Engine, retry_times: int, backoff: float, spool_dir: Path) -> None:
        self.engine = engine
        self.retry_times = retry_times
        self.backoff = backoff
        self.spool_dir = spool_dir

    def retrying(self, what: str, func: Callable[[], _T]) -> _T:
        """``func()``, tried ``retry_times + 1`` times with exponential backoff; the last
        failure is raised."""
        for attempt in range(1, self.retry_times + 2):
            try:
                return func()
            except Exception as exc:
                if attempt > self.retry_times:
                    raise
                delay = self.backoff * 2 ** (attempt - 1)
                logger.warning(
                    "%s failed (%s), attempt %d of %d; retrying in %.2fs",
                    what,
                    repository.error_text(exc),
                    attempt,
                    self.retry_times + 1,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    def write(self, batch: repository.Batch, run_id: int | None) -> WriteResult:
        started = time.perf_counter()
        attempts = 0

        def attempt() -> int:
            nonlocal attempts
            attempts += 1
            return repository.write_isolating(self.engine, batch, run_id)

        try:
            result = WriteResult(attempts, refused=self.retrying("Batch write", attempt))
            result.attempts = attempts
        except Exception as exc:  # noqa: BLE001 - whatever failed, the batch must not be lost
            path = spool.write(self.spool_dir, batch, run_id, self.engine.url)
            result = WriteResult(attempts, path, repository.error_text(exc))
        result.seconds = time.perf_counter() - started
        return result


_writer: BatchWriter | None = None


def init_process(
    url: str,
    retry_times: int,
    backoff: float,
    spool_dir: str,
    niceness: int = 0,
    gc_thresholds: tuple[int, int, int] | None = None,
) -> None:
    """Writer-process initializer: one engine for the life of the process, the process's
    CPU priority lowered by *niceness* (``HARVESTER_STORAGE_WRITER_NICE``) and the crawl's
    garbage-collector thresholds (``HARVESTER_GC_THRESHOLDS``: unpickling a batch makes
    thousands of containers, which CPython's defaults re-walk every 700)."""
    global _writer  # noqa: PLW0603 - the process's own writer
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(niceness)
    if gc_thresholds is not None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*gc_thresholds)
    _writer = BatchWriter(
        make_engine(url, cache_mib=WRITER_CACHE_MIB), retry_times, backoff, Path(spool_dir)
    )


def ready() -> bool:
    """A no-op call that makes the pool start the writer process ahead of the first batch."""
    return _writer is not None


_PRODUCT_VALUES = attrgetter(*(f.name for f in fields(items.Product)))


def pack(batch: repository.Batch) -> bytes:
    """*batch* as bytes for the writer process: products as tuples of their field values
    (taken in C), which pickle in half the time of the objects themselves."""
    products = list(map(_PRODUCT_VALUES, batch.products))
    return pickle.dumps(
        (products, batch.edges, batch.dead_letters, batch.units), pickle.HIGHEST_PROTOCOL
    )


def unpack(payload: bytes) -> repository.Batch:
    products, edges, dead_letters, units = pickle.loads(payload)  # noqa: S301 - our own bytes
    return repository.Batch(
        [items.Product(*values) for values in products], edges, dead_letters, units
    )


def write_packed(payload: bytes, run_id: int | None) -> WriteResult:
    """Write a batch :func:`pack`-ed by the pipeline, in the writer process."""
    assert _writer is not None, "init_process was not run"
    return _writer.write(unpack(payload), run_id)
