"""What a run did to the database: the figures of the end-of-run summary and the report.

Read-only queries over ``crawl_runs``, ``products``, ``product_history`` and
``dead_letters`` (SQLite and PostgreSQL alike). A product is *new* in a run when first
seen during it, *changed* when the run wrote a history row for it that is not its first
sighting, *unchanged* when the run saw it otherwise; *delisted* when the run's complete
walk marked it so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from harvester.storage import models

P = models.Product.__table__
H = models.ProductHistory.__table__
R = models.CrawlRun.__table__
D = models.DeadLetter.__table__


@dataclass
class RunFigures:
    run_id: int
    spider: str
    status: str
    arguments: dict[str, Any]
    exit_code: int | None
    reason: str | None
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, Any]
    seen: int
    new: int
    changed: int
    delisted: int
    price_changes: int
    dead_letters: dict[str, int]

    @property
    def unchanged(self) -> int:
        return max(0, self.seen - self.new - self.changed)

    @property
    def duration(self) -> float | None:
        value = self.stats.get("elapsed_time_seconds")
        if value is not None:
            return float(value)
        if self.finished_at is None:
            return None
        return (_aware(self.finished_at) - _aware(self.started_at)).total_seconds()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _scalar(connection: Any, query: Any) -> int:
    return int(connection.execute(query).scalar() or 0)


def last_run_ids(engine: Engine, count: int, up_to: int | None = None) -> list[int]:
    """The ids of the *count* newest runs (up to run *up_to*), oldest first."""
    query = select(R.c.id).order_by(R.c.id.desc()).limit(count)
    if up_to is not None:
        query = query.where(R.c.id <= up_to)
    with engine.connect() as connection:
        return sorted(connection.execute(query).scalars())


def run_rows(engine: Engine, ids: list[int]) -> list[dict[str, Any]]:
    """``crawl_runs`` rows of *ids*, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(R).where(R.c.id.in_(ids)).order_by(R.c.id))
        return [dict(row) for row in rows.mappings()]


def run_figures(engine: Engine, run_id: int) -> RunFigures | None:
    """The figures of run *run_id* (``None`` if there is no such run)."""
    with engine.connect() as connection:
        run = connection.execute(select(R).where(R.c.id == run_id)).mappings().first()
        if run is None:
            return None
        finished = run["finished_at"] or datetime.now(UTC)
        in_run = and_(P.c.first_seen_at >= run["started_at"], P.c.first_seen_at <= finished)
        new = _scalar(connection, select(func.count()).select_from(P).where(in_run))
        historied = _scalar(
            connection,
            select(func.count(func.distinct(H.c.source + ":" + H.c.product_id))).where(
                H.c.run_id == run_id
            ),
        )
        seen = _scalar(
            connection, select(func.count()).select_from(P).where(P.c.last_run_id == run_id)
        )
        delisted = _scalar(
            connection, select(func.count()).select_from(P).where(P.c.delisted_run_id == run_id)
        )
        letters = connection.execute(
            select(D.c.reason, func.count())
            .where(D.c.run_id == run_id)
            .group_by(D.c.reason)
            .order_by(func.count().desc())
        ).all()
        return RunFigures(
            run_id=run_id,
            spider=run["spider"],
            status=run["status"],
            arguments=run["arguments"] or {},
            exit_code=run["exit_code"],
            reason=run["reason"],
            started_at=run["started_at"],
            finished_at=run["finished_at"],
            stats=run["stats"] or {},
            seen=max(seen, new),
            new=new,
            changed=max(0, historied - new),
            delisted=delisted,
            price_changes=_price_changes(connection, run_id),
            dead_letters={reason: count for reason, count in letters},
        )


def _price_changes(connection: Any, run_id: int) -> int:
    """History rows of the run whose price differs from the product's previous row."""
    previous = (
        func.lag(H.c.price).over(partition_by=H.c.product_key, order_by=H.c.id).label("previous")
    )
    touched = select(H.c.product_key).where(H.c.run_id == run_id)
    rows = select(H.c.run_id, H.c.price, previous).where(H.c.product_key.in_(touched)).subquery()
    return _scalar(
        connection,
        select(func.count())
        .select_from(rows)
        .where(
            rows.c.run_id == run_id,
            rows.c.previous.is_not(None),
            rows.c.price != rows.c.previous,
        ),
    )
