"""Crawl runs: the ``crawl_runs`` row of a crawl, and the delistings a complete walk infers.

The caller owns the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from harvester.storage import models
from harvester.storage.executor import jsonable


def start_run(session: Session, spider: str, arguments: dict[str, Any]) -> int:
    run = models.CrawlRun(
        spider=spider,
        arguments=jsonable(arguments),
        started_at=datetime.now(UTC),
        status="running",
    )
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session, run_id: int, status: str, stats: dict[str, Any], complete: bool
) -> None:
    session.execute(
        update(models.CrawlRun)
        .where(models.CrawlRun.id == run_id)
        .values(
            finished_at=datetime.now(UTC), status=status, stats=jsonable(stats), complete=complete
        )
    )


def mark_delisted(session: Session, run_id: int, source: str, seller_id: str) -> int:
    """After a complete dump of *seller_id*'s store, mark its products the run did not see."""
    table = models.Product.__table__
    result = session.execute(
        update(table)
        .where(
            and_(
                table.c.source == source,
                table.c.seller_id == seller_id,
                table.c.delisted_at.is_(None),
                or_(table.c.last_run_id.is_(None), table.c.last_run_id != run_id),
            )
        )
        .values(delisted_at=datetime.now(UTC), delisted_run_id=run_id)
    )
    return result.rowcount or 0
