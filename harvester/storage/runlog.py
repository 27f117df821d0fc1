"""Reading crawl runs for ``scrapy runs``: the latest ones, or one with its final stats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.storage import models
from harvester.storage.runs import aware


def recent_runs(session: Session, limit: int, spider: str | None = None) -> list[dict[str, Any]]:
    """The latest *limit* runs (newest first), each with its dead-letter count."""
    run = models.CrawlRun
    letters = (
        select(models.DeadLetter.run_id, func.count().label("dead_letters"))
        .group_by(models.DeadLetter.run_id)
        .subquery()
    )
    stmt = (
        select(run, func.coalesce(letters.c.dead_letters, 0))
        .outerjoin(letters, letters.c.run_id == run.id)
        .order_by(run.id.desc())
        .limit(limit)
    )
    if spider:
        stmt = stmt.where(run.spider == spider)
    return [_row(row, count) for row, count in session.execute(stmt)]


def get_run(session: Session, run_id: int) -> dict[str, Any] | None:
    row = session.get(models.CrawlRun, run_id)
    if row is None:
        return None
    count = session.execute(
        select(func.count()).where(models.DeadLetter.run_id == run_id)
    ).scalar_one()
    units = session.execute(
        select(func.count()).where(models.WorkUnit.run_id == run_id)
    ).scalar_one()
    return {**_row(row, count), "units_done": units}


def _row(run: models.CrawlRun, dead_letters: int) -> dict[str, Any]:
    stats = run.stats or {}
    items = stats.get("item_scraped_count")
    started = aware(run.started_at)
    finished = aware(run.finished_at) if run.finished_at else None
    return {
        "id": run.id,
        "spider": run.spider,
        "arguments": run.arguments or {},
        "status": run.status,
        "started_at": started,
        "finished_at": finished,
        "duration": ((finished or datetime.now(UTC)) - started).total_seconds(),
        "items": items,
        "dead_letters": dead_letters,
        "exit_code": run.exit_code,
        "reason": run.reason,
        "resumes": run.resumes,
        "host": run.host,
        "pid": run.pid,
        "heartbeat_at": aware(run.heartbeat_at) if run.heartbeat_at else None,
        "stats": stats,
    }
