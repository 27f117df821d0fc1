"""Batch writes with retry and spool, runnable on a thread or in a writer process.

:class:`BatchWriter` owns an engine and writes one batch at a time: retried
with exponential backoff, then spooled (:mod:`harvester.storage.spool`) when the
database stays down. The storage pipeline runs it on a dedicated thread, or — the
default, ``HARVESTER_STORAGE_WRITER = "process"`` — in a separate process, so that
SQL work does not compete with the reactor for the GIL. The process functions
below are the picklable entry points of that process.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import time
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from harvester import items
from harvester.storage import repository, spool
from harvester.storage.db import make_engine

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)


@dataclass
class WriteResult:
    """Outcome of one batch: how many tries it took, and its spool file if it was spooled."""

    attempts: int
    spooled: Path | None = None
    error: str | None = None
    #: Seconds the writer spent on the batch, retries included.
    seconds: float = 0.0


class BatchWriter:
    def __init__(self, engine: Engine, retry_times: int, backoff: float, spool_dir: Path) -> None:
        self.engine, self.retry_times, self.backoff, self.spool_dir = (
            engine,
            retry_times,
            backoff,
            spool_dir,
        )

    def write(self, batch: repository.Batch, run_id: int | None) -> WriteResult:
        started = time.perf_counter()
        result = self._write(batch, run_id)
        result.seconds = time.perf_counter() - started
        return result

    def _write(self, batch: repository.Batch, run_id: int | None) -> WriteResult:
        for attempt in range(1, self.retry_times + 2):
            try:
                with Session(self.engine) as session, session.begin():
                    repository.write_batch(session, batch, run_id)
                return WriteResult(attempt)
            except Exception as exc:  # noqa: BLE001 - whatever failed, the batch must not be lost
                error = f"{exc.__class__.__name__}: {_first_line(exc)}"
                if attempt > self.retry_times:
                    path = spool.write(self.spool_dir, batch, run_id, self.engine.url)
                    return WriteResult(attempt, path, error)
                delay = self.backoff * 2 ** (attempt - 1)
                logger.warning(
                    "Batch write failed (%s), attempt %d of %d; retrying in %.2fs",
                    error,
                    attempt,
                    self.retry_times + 1,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError) and getattr(exc, "orig", None) is not None:
        exc = exc.orig  # type: ignore[assignment]  # the driver's message, without the SQL
    return (str(exc).strip().splitlines() or [""])[0][:200]


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
    _writer = BatchWriter(make_engine(url), retry_times, backoff, Path(spool_dir))


def ready() -> bool:
    """A no-op call that makes the pool start the writer process ahead of the first batch."""
    return _writer is not None


_PRODUCT_VALUES = attrgetter(*(f.name for f in fields(items.Product)))


def pack(batch: repository.Batch) -> bytes:
    """*batch* as bytes for the writer process: products as tuples of their field values
    (taken in C), which pickle in half the time of the objects themselves."""
    products = list(map(_PRODUCT_VALUES, batch.products))
    return pickle.dumps((products, batch.edges, batch.dead_letters), pickle.HIGHEST_PROTOCOL)


def unpack(payload: bytes) -> repository.Batch:
    products, edges, dead_letters = pickle.loads(payload)  # noqa: S301 - our own pipeline's bytes
    return repository.Batch([items.Product(*values) for values in products], edges, dead_letters)


def write_packed(payload: bytes, run_id: int | None) -> WriteResult:
    """:func:`write_in_process` for a batch :func:`pack`-ed by the pipeline."""
    return write_in_process(unpack(payload), run_id)


def write_in_process(batch: repository.Batch, run_id: int | None) -> WriteResult:
    assert _writer is not None, "init_process was not run"
    return _writer.write(batch, run_id)


def close_process() -> None:
    if _writer is not None:
        _writer.engine.dispose()
