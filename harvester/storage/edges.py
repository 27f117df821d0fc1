"""Related-product edges and dead letters: plain multi-row upserts and inserts.

The caller (the writer, on its own thread or process) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from harvester import items
from harvester.storage import models
from harvester.storage.executor import dialect_insert, last_per_key


def upsert_edges(
    session: Session, edges: Sequence[items.RelatedEdge], run_id: int | None, now: datetime
) -> None:
    table = models.RelatedEdge.__table__
    rows = last_per_key(
        (
            {
                "source": e.source,
                "source_product_id": e.source_product_id,
                "related_product_id": e.related_product_id,
                "rank": e.rank,
                "first_seen_at": e.fetched_at,
                "last_seen_at": e.fetched_at,
                "run_id": run_id,
            }
            for e in edges
        ),
        lambda r: (r["source"], r["source_product_id"], r["related_product_id"]),
    )
    stmt = dialect_insert(session, table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["source", "source_product_id", "related_product_id"],
            set_={
                "rank": stmt.excluded.rank,
                "last_seen_at": stmt.excluded.last_seen_at,
                "run_id": stmt.excluded.run_id,
            },
        ),
        rows,
    )


def insert_dead_letters(
    session: Session, letters: Sequence[items.DeadLetter], run_id: int | None
) -> None:
    session.execute(
        models.DeadLetter.__table__.insert(),
        [
            {
                "run_id": run_id,
                "api": d.api,
                "kind": d.kind,
                "reason": d.reason,
                "url": d.url,
                "http_status": d.http_status,
                "request_body": d.request_body,
                "body": d.body,
                "fetched_at": d.fetched_at,
            }
            for d in letters
        ],
    )
