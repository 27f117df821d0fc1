"""Crawl runs: the ``crawl_runs`` row of a crawl from start to finish, the runs that died,
and the delistings a complete walk infers.

A *job* is a spider with its arguments (``job_key``). A run starts by marking runs
that died ``crashed`` (heartbeat older than the stale limit, or process gone on this
host); if the job's latest run was ``crashed`` or ``interrupted``, the new run
*resumes* it: it shares the job's work ledger (:mod:`harvester.storage.ledger`,
``work_units`` of the job's first run) and skips the units done there. While it
runs, its heartbeat is kept fresh (:mod:`harvester.extensions.heartbeat`).

The caller owns the transaction; every function runs off the reactor thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from harvester import outcome
from harvester.storage import models
from harvester.storage.executor import jsonable
from harvester.storage.ledger import done_units

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass
class RunStart:
    run_id: int
    #: The job's first run when this run resumes it, else None.
    resumes: int | None = None
    #: Units done by the job so far: unit key → stored outcome.
    done: dict[str, Any] = field(default_factory=dict)


def job_key(spider: str, arguments: dict[str, Any]) -> str:
    """The same spider with the same arguments (in any order) has the same key."""
    text = json.dumps([spider, arguments], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _alive(host: str | None, pid: int | None) -> bool | None:
    """Whether process *pid* runs, if it ran on this host (None: cannot tell)."""
    if host != socket.gethostname() or pid is None:
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_crashed(session: Session, stale_after: float, now: datetime | None = None) -> list[int]:
    """Mark ``crashed`` the ``running`` runs whose heartbeat is older than *stale_after*
    seconds, or whose process is gone on this host; return their ids."""
    now = now or datetime.now(UTC)
    run = models.CrawlRun
    rows = session.execute(
        select(run.id, run.host, run.pid, run.heartbeat_at, run.started_at).where(
            run.status == outcome.RUNNING
        )
    ).all()
    crashed = []
    for run_id, host, pid, heartbeat, started in rows:
        last = aware(heartbeat or started)
        if _alive(host, pid) is False or now - last > timedelta(seconds=stale_after):
            crashed.append(run_id)
    if crashed:
        session.execute(
            update(run)
            .where(run.id.in_(crashed), run.status == outcome.RUNNING)
            .values(
                status=outcome.CRASHED,
                finished_at=func.coalesce(run.heartbeat_at, run.started_at),
                reason="the process died (no heartbeat): the same command resumes it",
            )
        )
    return crashed


def aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def begin_run(
    session: Session,
    spider: str,
    arguments: dict[str, Any],
    *,
    resume: bool,
    stale_after: float | None,
) -> RunStart:
    """Insert the run's ``running`` row (host, pid, heartbeat, job key) and decide resume."""
    now = datetime.now(UTC)
    if stale_after is not None:
        mark_crashed(session, stale_after, now)
    key = job_key(spider, arguments)
    run = models.CrawlRun
    previous = session.execute(
        select(run.id, run.status, run.resumes)
        .where(run.spider == spider, run.job_key == key)
        .order_by(run.id.desc())
        .limit(1)
    ).first()
    resumes = None
    if resume and previous is not None and previous.status in outcome.RESUMABLE:
        resumes = previous.resumes or previous.id
    row = models.CrawlRun(
        spider=spider,
        arguments=jsonable(arguments),
        started_at=now,
        status=outcome.RUNNING,
        job_key=key,
        resumes=resumes,
        host=socket.gethostname(),
        pid=os.getpid(),
        heartbeat_at=now,
    )
    session.add(row)
    session.flush()
    done = done_units(session, resumes) if resumes is not None else {}
    return RunStart(row.id, resumes, done)


def start_run(session: Session, spider: str, arguments: dict[str, Any]) -> int:
    """A fresh run's row, leaving other runs alone (:func:`begin_run` for tests and tools)."""
    return begin_run(session, spider, arguments, resume=False, stale_after=None).run_id


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    stats: dict[str, Any],
    complete: bool,
    exit_code: int | None = None,
    reason: str | None = None,
) -> None:
    session.execute(
        update(models.CrawlRun)
        .where(models.CrawlRun.id == run_id)
        .values(
            finished_at=datetime.now(UTC),
            status=status,
            stats=jsonable(stats),
            complete=complete,
            exit_code=exit_code,
            reason=reason,
        )
    )


def mark_delisted(
    session: Session, run_id: int, source: str, seller_id: str, seen_by: Sequence[int] = ()
) -> int:
    """After a complete dump of *seller_id*'s store, mark its products the run did not see
    (nor the runs *seen_by*: the crashed runs it resumed, whose pages it skipped)."""
    table = models.Product.__table__
    runs = {run_id, *seen_by}
    result = session.execute(
        update(table)
        .where(
            and_(
                table.c.source == source,
                table.c.seller_id == seller_id,
                table.c.delisted_at.is_(None),
                or_(table.c.last_run_id.is_(None), table.c.last_run_id.not_in(runs)),
            )
        )
        .values(delisted_at=datetime.now(UTC), delisted_run_id=run_id)
    )
    return result.rowcount or 0


def job_runs(session: Session, run_id: int) -> list[int]:
    """Ids of the runs of *run_id*'s job that share its ledger (it, the run it resumes
    and every run resuming that one)."""
    run = models.CrawlRun
    root = session.execute(select(run.resumes).where(run.id == run_id)).scalar() or run_id
    ids = session.execute(select(run.id).where(or_(run.id == root, run.resumes == root)))
    return sorted(ids.scalars())


def heartbeat(session: Session, run_id: int) -> None:
    run = models.CrawlRun
    session.execute(
        update(run)
        .where(run.id == run_id, run.status == outcome.RUNNING)
        .values(heartbeat_at=datetime.now(UTC))
    )


def mark_interrupted(session: Session, run_id: int) -> bool:
    """A run still ``running`` when its process exits was stopped before it could close."""
    run = models.CrawlRun
    result = session.execute(
        update(run)
        .where(run.id == run_id, run.status == outcome.RUNNING)
        .values(
            status=outcome.INTERRUPTED,
            finished_at=datetime.now(UTC),
            exit_code=outcome.EXIT_CODES[outcome.INTERRUPTED],
            reason="stopped before it could close (a second Ctrl-C?): the same command resumes it",
        )
    )
    return bool(result.rowcount)
