"""The work ledger (``work_units``): the units of a job whose items are committed.

Units are recorded by the storage writer in the same transaction as their items
(:func:`record_units`, called by :func:`harvester.storage.repository.write_batch`),
so a unit is done only once its items are committed; a run resuming the job reads
them back (:func:`done_units`) and skips them. A job's ledger is keyed by its first
run (``crawl_runs.resumes`` of the runs that resume it; see
:mod:`harvester.storage.runs`). :func:`recent_details` serves the recrawl policy of
billed details. Every function runs off the reactor thread.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from harvester.storage import models
from harvester.storage.executor import dialect_insert

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from harvester.items import UnitDone


def done_units(session: Session, job_id: int) -> dict[str, Any]:
    table = models.WorkUnit
    rows = session.execute(select(table.unit, table.outcome).where(table.job_id == job_id))
    return dict(rows.all())


def record_units(
    session: Session, units: Sequence[UnitDone], run_id: int | None, now: datetime
) -> None:
    """Mark *units* done in the job's ledger (in the caller's transaction, with their items)."""
    if not units or run_id is None:
        return
    run = models.CrawlRun
    job_id = session.execute(select(run.resumes).where(run.id == run_id)).scalar() or run_id
    rows = {
        unit.unit: {
            "job_id": job_id,
            "unit": unit.unit,
            "run_id": run_id,
            "outcome": unit.outcome,
            "done_at": now,
        }
        for unit in units
    }
    stmt = dialect_insert(session, models.WorkUnit.__table__)
    session.execute(
        stmt.on_conflict_do_nothing(index_elements=["job_id", "unit"]), list(rows.values())
    )


def recent_details(
    session: Session, source: str, seller_id: str, api: str, listing_api: str, max_age: float
) -> dict[str, str]:
    """Products of *seller_id* whose *api* detail was fetched less than *max_age* hours ago:
    product id → hash of the *listing_api* record stored for it (:func:`record_hash`)."""
    payloads = models.ProductPayload
    products = models.Product
    since = datetime.now(UTC) - timedelta(hours=max_age)
    detail = aliased(payloads)
    rows = session.execute(
        select(products.product_id, payloads.payload)
        .join(payloads, (payloads.product_key == products.id) & (payloads.api == listing_api))
        .join(
            detail,
            (detail.product_key == products.id)
            & (detail.api == api)
            & (detail.fetched_at >= since),
        )
        .where(products.source == source, products.seller_id == seller_id)
    )
    return {product_id: record_hash(payload) for product_id, payload in rows}


def record_hash(payload: Any) -> str:
    """Hash of a raw record, independent of key order."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
