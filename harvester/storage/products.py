"""Products: the one upsert of product records, with their history, payloads, SKUs,
price tiers and shops.

Every function takes a SQLAlchemy ``Session`` and runs on the writer (a worker
thread or process), never on the reactor thread; the caller commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import delete, func, null, select
from sqlalchemy.orm import Session

from harvester import items
from harvester.storage import models
from harvester.storage.executor import (
    by_source,
    dialect_insert,
    execute_many,
    fetch_rows,
    last_per_key,
)

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
_MERGED = attrgetter(*MERGED_COLUMNS)
_TRACKED = attrgetter(*TRACKED_FIELDS)
_JSON_COLUMNS = ("images", "category_ids", "category_names", "extra")


def _hash(values: Sequence[Any]) -> str:
    """SHA-256 of the tracked values in order (decimals normalized: 9.90 and 9.9 are equal)."""
    normalized = [v.normalize() if isinstance(v, Decimal) else v for v in values]
    return hashlib.sha256(repr(normalized).encode()).hexdigest()


#: Columns of the products upsert, in the order of :func:`_product_row`'s values.
_PRODUCT_COLUMNS = (
    *MERGED_COLUMNS,
    *("source", "product_id", "last_api", "first_seen_at", "fetched_at", "updated_at"),
    "last_run_id",
)
_JSON_POSITIONS = tuple(MERGED_COLUMNS.index(name) for name in _JSON_COLUMNS)
_FIRST_SEEN = _PRODUCT_COLUMNS.index("first_seen_at")
_HISTORY_COLUMNS = (
    *("product_key", "source", "product_id", "api", "run_id", "observed_at"),
    *TRACKED_FIELDS,
    "content_hash",
)
_PAYLOAD_COLUMNS = ("product_key", "source", "product_id", "api", "payload", "fetched_at", "run_id")


def upsert_products(
    session: Session, products: Sequence[items.Product], run_id: int | None, now: datetime
) -> None:
    products = last_per_key(products, lambda p: (p.source, p.product_id, p.api))
    current = _current(session, products)
    changed = _history(products, current)
    merged: dict[tuple[str, str], list[Any]] = {}
    for product in products:
        row = _product_row(product, run_id, now)
        key = (product.source, product.product_id)
        earlier = merged.get(key)
        if earlier is not None:
            # two APIs saw the product in one batch: merge as the upsert does (later non-empty wins)
            merged_values = len(MERGED_COLUMNS)
            row = [
                was if value is None and i < merged_values else value
                for i, (value, was) in enumerate(zip(row, earlier, strict=True))
            ]
            row[_FIRST_SEEN] = earlier[_FIRST_SEEN]
        merged[key] = row
    execute_many(session, "products", _products_upsert, _PRODUCT_COLUMNS, list(merged.values()))
    keys = _product_keys(session, merged, current)
    history = [
        (keys[(p.source, p.product_id)], p.source, p.product_id, p.api, run_id, p.fetched_at)
        + observed
        + (_hash(observed),)
        for p, observed in changed
    ]
    insert_history = models.ProductHistory.__table__.insert
    execute_many(session, "history", lambda _: insert_history(), _HISTORY_COLUMNS, history)
    payloads = [
        (keys[(p.source, p.product_id)], p.source, p.product_id, p.api, p.raw, p.fetched_at)
        + (run_id,)
        for p in products
    ]
    execute_many(session, "payloads", _payloads_upsert, _PAYLOAD_COLUMNS, payloads)
    _replace_children(session, products, now)
    _upsert_shops(session, products, now)


def _product_row(product: items.Product, run_id: int | None, now: datetime) -> list[Any]:
    """The values of :data:`_PRODUCT_COLUMNS` for *product*; empty JSON values as None
    (the JSON serializer writes decimals and datetimes inside them as text)."""
    row = [*_MERGED(product), product.source, product.product_id, product.api]
    row += (product.fetched_at, product.fetched_at, now, run_id)
    for position in _JSON_POSITIONS:
        row[position] = row[position] or None
    return row


def _products_upsert(session: Session) -> Any:
    """``INSERT ... ON CONFLICT (source, product_id) DO UPDATE``: a column the record
    leaves empty keeps what another API stored; a product seen again is listed again."""
    table = models.Product.__table__
    stmt = dialect_insert(session, table)
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
    stmt = dialect_insert(session, models.ProductPayload.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["product_key", "api"],
        set_={
            "payload": stmt.excluded.payload,
            "fetched_at": stmt.excluded.fetched_at,
            "run_id": stmt.excluded.run_id,
        },
    )


def _current(
    session: Session, products: Sequence[items.Product]
) -> dict[tuple[str, str], tuple[int, tuple[Any, ...]]]:
    """(source, product id) → (``products.id``, tracked fields) of the products stored."""
    table = models.Product.__table__
    tracked = [table.c[name] for name in TRACKED_FIELDS]
    current: dict[tuple[str, str], tuple[int, tuple[Any, ...]]] = {}
    for source, ids in by_source({(p.source, p.product_id): None for p in products}):
        query = select(table.c.product_id, table.c.id, *tracked).where(
            table.c.source == source, table.c.product_id.in_(ids)
        )
        for product_id, key, *values in session.execute(query).all():
            current[(source, product_id)] = (key, tuple(values))
    return current


def _product_keys(
    session: Session,
    written: dict[tuple[str, str], Any],
    current: dict[tuple[str, str], tuple[int, tuple[Any, ...]]],
) -> dict[tuple[str, str], int]:
    """``products.id`` of every product *written*: known from *current*, or read back."""
    keys = {key: stored[0] for key, stored in current.items()}
    for source, ids in by_source(key for key in written if key not in keys):
        rows = fetch_rows(session, "product keys", _keys_query, [source, *ids])
        keys.update(((source, product_id), key) for product_id, key in rows)
    return keys


def _keys_query(params: list[Any]) -> Any:
    table = models.Product.__table__
    return select(table.c.product_id, table.c.id).where(
        table.c.source == params[0], table.c.product_id.in_(params[1:])
    )


def _history(
    products: Sequence[items.Product],
    current: dict[tuple[str, str], tuple[int, tuple[Any, ...]]],
) -> list[tuple[items.Product, tuple[Any, ...]]]:
    """(product, tracked values) of each product whose tracked fields changed.

    A record is compared with the product's current row, counting only the tracked
    fields it carries: a related-items record without sales figures does not
    "change" the sales a store walk saw. A product seen for the first time gets its
    first history row.
    """
    latest = {(p.source, p.product_id): p for p in products}
    changed = []
    for key, product in latest.items():
        values = _TRACKED(product)
        stored = current.get(key)
        if stored is not None:
            old = stored[1]
            values = tuple(
                was if value is None else value for value, was in zip(values, old, strict=True)
            )
            if values == old:
                continue
        changed.append((product, values))
    return changed


def _replace_children(session: Session, products: Sequence[items.Product], now: datetime) -> None:
    """Replace SKUs and price tiers of products whose record carries them."""
    for model, attr in ((models.Sku, "skus"), (models.PriceTier, "price_tiers")):
        owners = [p for p in products if getattr(p, attr)]
        if not owners:
            continue
        table = model.__table__
        for source, ids in by_source([(p.source, p.product_id) for p in owners]):
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
            rows = last_per_key(rows, lambda r: (r["source"], r["product_id"], r["sku_id"]))
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
            rows = last_per_key(rows, lambda r: (r["source"], r["product_id"], r["start_quantity"]))
        session.execute(table.insert(), rows)


def _upsert_shops(session: Session, products: Sequence[items.Product], now: datetime) -> None:
    shops = last_per_key((p for p in products if p.shop_id), lambda p: (p.source, p.shop_id))
    if not shops:
        return
    table = models.Shop.__table__
    stmt = dialect_insert(session, table)
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
