"""The one write path: batched, idempotent upserts keyed by natural keys.

Every function takes a SQLAlchemy ``Session`` and runs on a worker thread
(see :mod:`harvester.pipelines.storage`), never on the reactor thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, Table, and_, delete, func, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from harvester import items
from harvester.storage import models

#: Fields whose change is worth a history row.
TRACKED_FIELDS = ("title", "price", "currency", "stock", "month_sold", "volume", "available")
# fmt: off
#: Product columns that a record may leave empty without erasing what another API stored.
MERGED_COLUMNS = (
    "title", "title_en", "price", "price_raw", "currency", "original_price", "coupon_price",
    "image_url", "images", "seller_id", "shop_id", "shop_name", "shop_url", "category_ids",
    "category_names", "month_sold", "volume", "stock", "is_jxhy", "is_one_psale",
    "repurchase_rate", "commission_rate", "rating", "available", "url", "extra",
)
# fmt: on
_KEY_CHUNK = 300


@dataclass
class Batch:
    """Items buffered for one write."""

    products: list[items.Product] = field(default_factory=list)
    edges: list[items.RelatedEdge] = field(default_factory=list)
    dead_letters: list[items.DeadLetter] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.products) + len(self.edges) + len(self.dead_letters)


def _insert(session: Session, table: Table) -> Any:
    """The dialect's own ``INSERT`` (with ``on_conflict_do_*``)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {name}")


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled for one dialect and row shape, with its value converters."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    values: Callable[[dict[str, Any]], Any]
    #: (position, converter, skip None, memoize): the column types' own bind processors
    converters: tuple[tuple[int, Any, bool, bool], ...]


_PREPARED: dict[tuple[Any, ...], _Prepared] = {}


def _prepare(stmt: Any, dialect: Any, columns: tuple[str, ...]) -> _Prepared:
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    processors = compiled._bind_processors  # noqa: SLF001 - the compiled statement's own converters
    names = tuple(compiled.positiontup if compiled.positional else compiled.binds)
    keys, converters = [], []
    for position, name in enumerate(names):
        bind = compiled.binds[name]
        if bind.key not in columns:
            raise ValueError(
                f"{bind.key}: a literal bound in the statement (use null() or a row key)"
            )
        keys.append(bind.key)
        processor = processors.get(name)
        if processor is not None:
            converters.append(
                (
                    position,
                    processor,
                    processor(None) is None,  # None stays None: no call needed
                    # the records of one answer share their timestamp: format it once a batch
                    isinstance(bind.type, DateTime),
                )
            )
    getter = itemgetter(*keys)
    values = getter if len(keys) > 1 else (lambda row: (getter(row),))
    return _Prepared(compiled.string, compiled.positional, names, values, tuple(converters))


def _executemany(
    session: Session, key: str, build: Callable[[Session], Any], rows: list[dict[str, Any]]
) -> None:
    """Run a statement once per row, as ``session.execute(stmt, rows)`` would, minus its
    per-row cost.

    SQLAlchemy builds and processes a parameter dictionary per row in Python, which
    dominated batch writes (≈ 40 µs per row and statement). Here the statement
    (``build(session)``, cached under *key* per dialect and row shape) is compiled
    once, each column's bind processor (JSON, Numeric, DateTime: the same
    conversions SQLAlchemy applies) is looked up once, values are taken from the
    rows in C (``itemgetter``), and the rows go to the driver's ``executemany`` in
    one call.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    columns = tuple(rows[0])
    cache_key = (key, dialect.name, dialect.paramstyle, columns)
    prepared = _PREPARED.get(cache_key)
    if prepared is None:
        prepared = _PREPARED[cache_key] = _prepare(build(session), dialect, columns)
    converters = [
        (position, _memoized(processor) if memoize else processor, skip_none)
        for position, processor, skip_none, memoize in prepared.converters
    ]
    params: list[Any] = []
    for row in rows:
        values = list(prepared.values(row))
        for position, convert, skip_none in converters:
            value = values[position]
            if value is not None or not skip_none:
                values[position] = convert(value)
        params.append(
            values if prepared.positional else dict(zip(prepared.names, values, strict=True))
        )
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(prepared.sql, params)
    finally:
        cursor.close()


def _memoized(processor: Any) -> Any:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            cache[value] = converted = processor(value)
            return converted

    return convert


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the values in field order (decimals normalized: 9.90 and 9.9 are equal)."""
    values = [v.normalize() if isinstance(v, Decimal) else v for v in fields.values()]
    return hashlib.sha256(repr(values).encode()).hexdigest()


def content_hash(product: items.Product) -> str:
    """Hash of the tracked fields of *product* (stored per product and API)."""
    return _hash({name: getattr(product, name) for name in TRACKED_FIELDS})


def _by_source(keys: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """(source, product ids) chunks: ``source = ? AND product_id IN (...)`` uses the
    unique index on every backend, where a row-value ``IN`` may scan the table on SQLite."""
    grouped: dict[str, list[str]] = {}
    for source, product_id in keys:
        grouped.setdefault(source, []).append(product_id)
    for source, ids in grouped.items():
        for start in range(0, len(ids), _KEY_CHUNK):
            yield source, ids[start : start + _KEY_CHUNK]


def _last_per_key(rows: Iterable[Any], key: Any) -> list[Any]:
    """Keep the last row per key: PostgreSQL refuses to upsert one row twice in a statement."""
    return list({key(row): row for row in rows}.values())


def write_batch(session: Session, batch: Batch, run_id: int | None) -> None:
    """Write one batch in the session's transaction (the caller commits)."""
    now = datetime.now(UTC)
    if batch.products:
        upsert_products(session, batch.products, run_id, now)
    if batch.edges:
        upsert_edges(session, batch.edges, run_id, now)
    if batch.dead_letters:
        insert_dead_letters(session, batch.dead_letters, run_id)


def upsert_products(
    session: Session, products: Sequence[items.Product], run_id: int | None, now: datetime
) -> None:
    products = _last_per_key(products, lambda p: (p.source, p.product_id, p.api))
    _record_history(session, products, run_id, now)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for product in products:
        row = {name: getattr(product, name) for name in MERGED_COLUMNS}
        for name in ("images", "category_ids", "category_names", "extra"):
            value = row[name]
            row[name] = _jsonable(value) if value else None
        row.update(
            source=product.source,
            product_id=product.product_id,
            last_api=product.api,
            first_seen_at=product.fetched_at,
            fetched_at=product.fetched_at,
            updated_at=now,
            last_run_id=run_id,
        )
        key = (product.source, product.product_id)
        earlier = merged.get(key)
        if earlier is not None:
            # two APIs saw the product in one batch: merge as the upsert does (later non-empty wins)
            row = {
                name: earlier[name] if row[name] is None and name in MERGED_COLUMNS else row[name]
                for name in row
            }
            row["first_seen_at"] = earlier["first_seen_at"]
        merged[key] = row
    _executemany(session, "products", _products_upsert, list(merged.values()))
    _replace_children(session, products, now)
    _upsert_shops(session, products, now)


def _products_upsert(session: Session) -> Any:
    """``INSERT ... ON CONFLICT (source, product_id) DO UPDATE``: a column the record
    leaves empty keeps what another API stored; a product seen again is listed again."""
    table = models.Product.__table__
    stmt = _insert(session, table)
    excluded = stmt.excluded
    set_ = {name: func.coalesce(excluded[name], table.c[name]) for name in MERGED_COLUMNS}
    set_.update(
        last_api=excluded.last_api,
        fetched_at=excluded.fetched_at,
        updated_at=excluded.updated_at,
        last_run_id=excluded.last_run_id,
        delisted_at=null(),
        delisted_run_id=null(),
    )
    return stmt.on_conflict_do_update(index_elements=["source", "product_id"], set_=set_)


def _payloads_upsert(session: Session) -> Any:
    stmt = _insert(session, models.ProductPayload.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["source", "product_id", "api"],
        set_={
            "payload": stmt.excluded.payload,
            "fetched_at": stmt.excluded.fetched_at,
            "run_id": stmt.excluded.run_id,
        },
    )


def _record_history(
    session: Session, products: Sequence[items.Product], run_id: int | None, now: datetime
) -> None:
    """Append a history row for each product whose tracked fields changed, and store
    the latest payload per (product, API).

    A record is compared with the product's current row, counting only the tracked
    fields it carries: a related-items record without sales figures does not
    "change" the sales a store walk saw. A product seen for the first time gets its
    first history row.
    """
    table = models.Product.__table__
    latest = {(p.source, p.product_id): p for p in products}
    current: dict[tuple[str, str], dict[str, Any]] = {}
    keys = list(latest)
    tracked = [table.c[name] for name in TRACKED_FIELDS]
    for source, ids in _by_source(keys):
        query = select(table.c.product_id, *tracked).where(
            table.c.source == source, table.c.product_id.in_(ids)
        )
        for product_id, *values in session.execute(query):
            current[(source, product_id)] = dict(zip(TRACKED_FIELDS, values, strict=True))
    history = []
    for key, product in latest.items():
        observed = {name: getattr(product, name) for name in TRACKED_FIELDS}
        old = current.get(key)
        if old is not None:
            observed = {
                name: old[name] if value is None else value for name, value in observed.items()
            }
            if observed == old:
                continue
        history.append(
            {
                "source": product.source,
                "product_id": product.product_id,
                "api": product.api,
                "run_id": run_id,
                "observed_at": product.fetched_at,
                **observed,
                "content_hash": _hash(observed),
            }
        )
    _executemany(session, "history", lambda _: models.ProductHistory.__table__.insert(), history)
    _executemany(
        session,
        "payloads",
        _payloads_upsert,
        [
            {
                "source": p.source,
                "product_id": p.product_id,
                "api": p.api,
                "payload": p.raw,
                "fetched_at": p.fetched_at,
                "run_id": run_id,
            }
            for p in products
        ],
    )


def _replace_children(session: Session, products: Sequence[items.Product], now: datetime) -> None:
    """Replace SKUs and price tiers of products whose record carries them."""
    for model, attr in ((models.Sku, "skus"), (models.PriceTier, "price_tiers")):
        owners = [p for p in products if getattr(p, attr)]
        if not owners:
            continue
        table = model.__table__
        for source, ids in _by_source([(p.source, p.product_id) for p in owners]):
            session.execute(
                delete(table).where(table.c.source == source, table.c.product_id.in_(ids))
            )
        if attr == "skus":
            rows = [
                {
                    "source": p.source,
                    "product_id": p.product_id,
                    "sku_id": s.sku_id,
                    "spec_id": s.spec_id,
                    "attributes": s.attributes or None,
                    "price": s.price,
                    "currency": s.currency,
                    "stock": s.stock,
                    "image_url": s.image_url,
                    "updated_at": now,
                }
                for p in owners
                for s in p.skus
            ]
            rows = _last_per_key(rows, lambda r: (r["source"], r["product_id"], r["sku_id"]))
        else:
            rows = [
                {
                    "source": p.source,
                    "product_id": p.product_id,
                    "start_quantity": t.start_quantity,
                    "price": t.price,
                    "currency": t.currency,
                    "updated_at": now,
                }
                for p in owners
                for t in p.price_tiers
            ]
            rows = _last_per_key(
                rows, lambda r: (r["source"], r["product_id"], r["start_quantity"])
            )
        session.execute(table.insert(), rows)


def _upsert_shops(session: Session, products: Sequence[items.Product], now: datetime) -> None:
    shops = _last_per_key((p for p in products if p.shop_id), lambda p: (p.source, p.shop_id))
    if not shops:
        return
    table = models.Shop.__table__
    stmt = _insert(session, table)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["source", "shop_id"],
            set_={
                "name": func.coalesce(stmt.excluded.name, table.c.name),
                "url": func.coalesce(stmt.excluded.url, table.c.url),
                "seller_id": func.coalesce(stmt.excluded.seller_id, table.c.seller_id),
                "updated_at": stmt.excluded.updated_at,
            },
        ),
        [
            {
                "source": p.source,
                "shop_id": p.shop_id,
                "name": p.shop_name,
                "url": p.shop_url,
                "seller_id": p.seller_id,
                "updated_at": now,
            }
            for p in shops
        ],
    )


def upsert_edges(
    session: Session, edges: Sequence[items.RelatedEdge], run_id: int | None, now: datetime
) -> None:
    table = models.RelatedEdge.__table__
    rows = _last_per_key(
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
    stmt = _insert(session, table)
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


def start_run(session: Session, spider: str, arguments: dict[str, Any]) -> int:
    run = models.CrawlRun(
        spider=spider,
        arguments=_jsonable(arguments),
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
            finished_at=datetime.now(UTC), status=status, stats=_jsonable(stats), complete=complete
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
