"""The storage writer's rows/s into an empty database vs one already holding many products.

A database that has grown for months is simulated by copying one real product row
(and its payload and history rows) *n* times in SQL, with product ids spread over
the sandbox's id range (so new products land at random places of the indexes, as
a real crawl's do) and 1 000 sellers. Then the writer (:class:`BatchWriter`, the
crawl's own write path, batches of 500) writes the same products into each
database twice: a first crawl (new rows) and a recrawl (every product again, one
in ten repriced: updates and history rows).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from harvester.items import ApiRecord, Product
from harvester.pipelines.normalize import build_product
from harvester.sandbox.apis.pandapon import offer_json
from harvester.sandbox.catalog import Catalog
from harvester.storage import models, repository
from harvester.storage.db import WRITER_CACHE_MIB, ensure_schema, make_engine
from harvester.storage.products import MERGED_COLUMNS, TRACKED_FIELDS
from harvester.storage.writer import BatchWriter

BATCH = 500
#: Spread the copies' ids over the sandbox's range (540e9..760e9), distinct per copy.
_ID = "540000000000 + ({i} * 2654435761) % 220000000000"
_SERIES = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last) ",
    "postgresql": "",
}
_FROM = {
    "sqlite": "FROM {table} t, n",
    "postgresql": "FROM {table} t CROSS JOIN generate_series(0, :last) AS n(i)",
}


def products(count: int) -> list[Product]:
    """*count* products of a store walk: one timestamp per answer of 100 offers."""
    catalog = Catalog(1688, [count])
    records = [
        ApiRecord("pandapon", offer_json(o), {"seller_id": "S"}) for o in catalog.stores[0].offers
    ]
    for i, record in enumerate(records):
        record.fetched_at = records[i - i % 100].fetched_at
    return [build_product(record) for record in records]


def _copy(session: Session, model: type, rows: int) -> None:
    """Copy the one product row *rows* times, with new product ids and 1 000 sellers."""
    dialect = session.get_bind().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if c.name != "id"]
    cast = "CAST({} AS TEXT)" if dialect == "sqlite" else "CAST({} AS VARCHAR)"
    values = {
        "product_id": cast.format(_ID.format(i="n.i")),
        "seller_id": "'seller-' || " + cast.format("n.i % 1000"),
    }
    select = ", ".join(values.get(c) or f"t.{c}" for c in columns)
    session.execute(
        text(
            f"{_SERIES[dialect]}INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT {select} {_FROM[dialect].format(table=table.name)}"
        ),
        {"last": rows - 1},
    )


def _copy_child(session: Session, model: type) -> None:
    """Copy *model*'s one row (the template product's) for every other product."""
    table = model.__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if c.name != "id"]
    values = {"product_id": "p.product_id", "product_key": "p.id"}
    select = ", ".join(values.get(c) or f"t.{c}" for c in columns)
    session.execute(
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {select} "
            f"FROM {table.name} t JOIN products p ON p.id <> t.product_key ORDER BY p.id"
        )
    )


def prefill(engine, rows: int, template: Product) -> None:  # type: ignore[no-untyped-def]
    """*rows* products (with a payload and a history row each) copied from *template*."""
    writer = BatchWriter(engine, 0, 0.0, Path(tempfile.gettempdir()))
    writer.write(repository.Batch([template]), None)
    with Session(engine) as session, session.begin():
        _copy(session, models.Product, rows)
        _copy_child(session, models.ProductPayload)
        _copy_child(session, models.ProductHistory)
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")
        )


def written() -> int:
    """Bytes this process has handed to ``write()`` so far (Linux; 0 elsewhere): SQLite's
    WAL frames and checkpoints, a measure of the pages a write dirties that the machine's
    load does not blur."""
    try:
        with open("/proc/self/io") as io:
            return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))
    except OSError:
        return 0


def write_rate(engine, batch: list[Product]) -> tuple[float, float, float, float, float]:  # type: ignore[no-untyped-def]
    """rows/s of the writer for a first crawl of *batch*, then a recrawl (1 in 10 repriced),
    the KiB written per row over both, and the CPU µs per row of each pass (this process:
    the writer's own work, what a busy machine does not inflate as much as wall time)."""
    writer = BatchWriter(engine, 0, 0.0, Path(tempfile.gettempdir()))
    recrawl = [
        replace(p, price=(p.price or Decimal(0)) + 1) if i % 10 == 0 else p
        for i, p in enumerate(batch)
    ]
    rates, cpu = [], []
    before = written()
    for records in (batch, recrawl):
        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(0, len(records), BATCH):
            result = writer.write(repository.Batch(records[i : i + BATCH]), 1)
            assert result.spooled is None and not result.refused, result
        if records is recrawl and engine.dialect.name == "sqlite":
            # what the WAL still holds is copied into the database too, whatever
            # wal_autocheckpoint is: a larger one must not look faster by deferring work
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        rates.append(len(records) / (time.perf_counter() - started))
        cpu.append((time.process_time() - cpu_started) / len(records) * 1e6)
    kib = (written() - before) / 1024 / (2 * len(batch))
    return rates[0], rates[1], kib, cpu[0], cpu[1]


@contextmanager
def database(backend: str, server: str | None) -> Iterator[str]:
    """A fresh, empty database URL on *backend*."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'w.sqlite'}"
        return
    assert server is not None
    name = f"bench_{time.time_ns()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def scale(backend: str, server: str | None, rows: int, batch: list[Product]) -> dict[str, float]:
    """Writer rows/s into an empty database and into one holding *rows* products."""
    figures: dict[str, float] = {}
    for label, size in (("empty", 0), ("full", rows)):
        with database(backend, server) as url:
            engine = make_engine(url, cache_mib=WRITER_CACHE_MIB)
            ensure_schema(engine)
            if size:
                started = time.perf_counter()
                prefill(engine, size, replace(batch[0], product_id="1"))
                figures["prefill_seconds"] = time.perf_counter() - started
            first, again, figures[f"{label}_kib"], *cpu = write_rate(engine, batch)
            figures[f"{label}_cpu_first"], figures[f"{label}_cpu_again"] = cpu
            figures[f"{label}_first"], figures[f"{label}_again"] = first, again
            figures[label] = 2 / (1 / first + 1 / again)  # both passes' rows over their time
            engine.dispose()
    return figures


def executor_rate(batch: list[Product]) -> tuple[float, float]:
    """rows/s of :func:`repository.write_batch` and of raw ``sqlite3.executemany``, same rows."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'a.sqlite'}", cache_mib=WRITER_CACHE_MIB)
        ensure_schema(engine)
        start = time.perf_counter()
        for i in range(0, len(batch), BATCH):
            with Session(engine) as session, session.begin():
                repository.write_batch(session, repository.Batch(batch[i : i + BATCH]), 1)
        ours = len(batch) / (time.perf_counter() - start)
        engine.dispose()
        return ours, raw_executemany(Path(tmp) / "b.sqlite", batch)


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"


def raw_executemany(path: Path, products: list) -> float:  # type: ignore[type-arg]
    """rows/s of plain ``sqlite3.executemany`` writing the same rows into the same three tables
    (products, product_payloads, product_history), values converted as the ORM types do."""
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")

    def sql(value: object) -> object:
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(" ")
        return value

    def row(*values: object) -> tuple[object, ...]:
        return tuple(map(sql, values))

    product_columns = [
        "source",
        "product_id",
        *MERGED_COLUMNS,
        "last_api",
        "first_seen_at",
        "fetched_at",
        "updated_at",
        "last_run_id",
    ]
    history_columns = [
        "product_key",
        "source",
        "product_id",
        "api",
        "run_id",
        "observed_at",
        *TRACKED_FIELDS,
        "content_hash",
    ]
    statements = {
        "products": _insert_sql("products", product_columns),
        "payloads": _insert_sql(
            "product_payloads",
            ["product_key", "source", "product_id", "api", "payload", "fetched_at", "run_id"],
        ),
        "history": _insert_sql("product_history", history_columns),
    }
    start = time.perf_counter()
    for i in range(0, len(products), BATCH):
        chunk = products[i : i + BATCH]
        with db:
            db.executemany(
                statements["products"],
                [
                    row(
                        p.source,
                        p.product_id,
                        *(getattr(p, c) for c in MERGED_COLUMNS),
                        p.api,
                        p.fetched_at,
                        p.fetched_at,
                        p.fetched_at,
                        1,
                    )
                    for p in chunk
                ],
            )
            db.executemany(
                statements["payloads"],
                [
                    row(i + n + 1, p.source, p.product_id, p.api, p.raw, p.fetched_at, 1)
                    for n, p in enumerate(chunk)
                ],
            )
            db.executemany(
                statements["history"],
                [
                    row(
                        i + n + 1,
                        p.source,
                        p.product_id,
                        p.api,
                        1,
                        p.fetched_at,
                        *(getattr(p, c) for c in TRACKED_FIELDS),
                        "",
                    )
                    for n, p in enumerate(chunk)
                ],
            )
    rate = len(products) / (time.perf_counter() - start)
    db.close()
    return rate
