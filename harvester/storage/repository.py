"""The one write path: a batch of products, related edges and dead letters.

:func:`write_batch` writes a :class:`Batch` in the caller's transaction.
:func:`write_isolating` writes it in its own transactions and keeps a poisoned
record from sinking its batch: when the database refuses the batch for a *data*
reason (a constraint, a value out of range, text the driver cannot send), the
batch is split in halves until the refused records are isolated; each becomes a
dead letter naming the database's error, and every other record lands. A
connection-class error (the database away, a lock timeout) is raised to the
caller, which retries and spools (:mod:`harvester.storage.writer`).

Runs on the writer (a worker thread or process), never on the reactor thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import Session

from harvester import items
from harvester.storage.edges import insert_dead_letters, upsert_edges
from harvester.storage.executor import jsonable
from harvester.storage.ledger import record_units
from harvester.storage.products import upsert_products

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)

#: Exceptions raised for a value that cannot be sent (a lone surrogate, an integer beyond
#: 64 bits, NaN in JSON, a column's limits: :mod:`harvester.storage.executor`) before the
#: database sees the row. Not ``TypeError``: that is a bug, and its batch is spooled.
_VALUE_ERRORS = (ValueError, ArithmeticError)


@dataclass
class Batch:
    """Items buffered for one write."""

    products: list[items.Product] = field(default_factory=list)
    edges: list[items.RelatedEdge] = field(default_factory=list)
    dead_letters: list[items.DeadLetter] = field(default_factory=list)
    #: Work-ledger units whose items are in this batch or an earlier one (written last).
    units: list[items.UnitDone] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.products) + len(self.edges) + len(self.dead_letters) + len(self.units)

    def records(self) -> list[Any]:
        return [*self.products, *self.edges, *self.dead_letters, *self.units]

    @classmethod
    def of(cls, records: Sequence[Any]) -> Batch:
        batch = cls()
        for record in records:
            if isinstance(record, items.Product):
                batch.products.append(record)
            elif isinstance(record, items.RelatedEdge):
                batch.edges.append(record)
            elif isinstance(record, items.UnitDone):
                batch.units.append(record)
            else:
                batch.dead_letters.append(record)
        return batch


def write_batch(session: Session, batch: Batch, run_id: int | None) -> None:
    """Write one batch in the session's transaction (the caller commits)."""
    now = datetime.now(UTC)
    if batch.products:
        upsert_products(session, batch.products, run_id, now)
    if batch.edges:
        upsert_edges(session, batch.edges, run_id, now)
    if batch.dead_letters:
        insert_dead_letters(session, batch.dead_letters, run_id)
    if batch.units:
        record_units(session, batch.units, run_id, now)


def is_data_error(exc: BaseException) -> bool:
    """True when *exc* blames the rows written, not the connection to the database."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if isinstance(exc, DBAPIError):
        return not exc.connection_invalidated
    if isinstance(exc, StatementError):  # a bind processor refused a value
        return isinstance(exc.orig, _VALUE_ERRORS)
    return isinstance(exc, _VALUE_ERRORS)


def error_text(exc: BaseException) -> str:
    """``Class: first line of the driver's message`` (without the SQL), at most 200 chars."""
    if isinstance(exc, StatementError) and getattr(exc, "orig", None) is not None:
        exc = exc.orig  # type: ignore[assignment]
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{exc.__class__.__name__}: {first}"


def write_isolating(engine: Engine, batch: Batch, run_id: int | None) -> int:
    """Write *batch*, dead-lettering the records the database refuses for a data reason;
    return how many were refused. Raises what is not a data error."""
    return _write_part(engine, batch.records(), run_id)


def _write_part(engine: Engine, records: list[Any], run_id: int | None) -> int:
    try:
        with Session(engine) as session, session.begin():
            write_batch(session, Batch.of(records), run_id)
        return 0
    except Exception as exc:
        if not is_data_error(exc):
            raise
        if len(records) == 1:
            _refuse(engine, records[0], run_id, error_text(exc))
            return 1
        middle = len(records) // 2
        return _write_part(engine, records[:middle], run_id) + _write_part(
            engine, records[middle:], run_id
        )


def _refuse(engine: Engine, record: Any, run_id: int | None, error: str) -> None:
    """Store *record*, refused by the database, as a dead letter with the database's error."""
    if isinstance(record, items.UnitDone):
        # not done, then: a resumed run fetches the unit again
        logger.warning("The database refused work unit %s (%s)", record.unit, error)
        return
    logger.warning("The database refused a %s (%s): dead-lettered", type(record).__name__, error)
    if isinstance(record, items.DeadLetter):
        letter = replace(
            record,
            reason=safe_text(f"{record.reason} [stored escaped: {error}]"),
            kind=safe_text(record.kind)[:16],
            api=safe_text(record.api)[:32],
            url=None if record.url is None else safe_text(record.url),
            request_body=None if record.request_body is None else safe_text(record.request_body),
            body=None if record.body is None else safe_text(record.body),
        )
    else:
        letter = items.DeadLetter(
            api=safe_text(str(getattr(record, "api", "storage")))[:32],
            reason=safe_text(f"database refused the {type(record).__name__}: {error}"),
            kind="record",
            body=escaped_json(asdict(record)),
            fetched_at=record.fetched_at,
        )
    with Session(engine) as session, session.begin():
        insert_dead_letters(session, [letter], run_id)


def escaped_json(value: Any) -> str:
    """*value* as ASCII JSON: any text (lone surrogates, NUL bytes) kept, escaped; ``NaN``
    and infinities as strings, so that the body is valid JSON for any reader."""
    return json.dumps(_finite(jsonable(value)), ensure_ascii=True, allow_nan=False, default=repr)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def safe_text(text: str) -> str:
    """*text* with what no database stores as text escaped: NUL and lone surrogates."""
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
