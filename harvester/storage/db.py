"""Engines and schema setup."""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

#: SQLite page cache of a connection that writes batches (the storage writer), and of
#: every other one (run rows, heartbeat, ledger, summary, reports: single-pass reads)
WRITER_CACHE_MIB = 64
RUN_CACHE_MIB = 2


def _sqlite_pragmas(cache_mib: int, dbapi_connection, connection_record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets readers (analytics, tests) query while a crawl writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # the writer's 64 MiB of page cache: upserts land at random places of the products
    # index, which outgrows 2 MiB within some 10 000 products; other connections keep
    # SQLite's 2 MiB (64 MiB in the crawl process grew its memory with the database)
    cursor.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    # checkpoint the WAL into the database every 40 000 pages (160 MiB) rather than 1 000:
    # a bulk write pays for a checkpoint (and its fsyncs) a fortieth as often, and a page
    # written by many batches (the products' key index, where new ids land at random) is
    # copied once a checkpoint: into a 1 000 000-product database 4.7 KiB written and 2.0
    # read per row instead of 5.7 and 3.0 at 10 000 pages (bench/README.md)
    cursor.execute("PRAGMA wal_autocheckpoint=40000")
    cursor.close()


def _postgres_session(dbapi_connection, connection_record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # plan each execution of a prepared statement with the table's current size: psycopg
    # prepares a statement after 5 runs, and a generic plan made while the tables were
    # small keeps scanning them as they grow (measured: a fresh database took 20 000
    # products at 600 rows/s instead of 2 900; bench/README.md)
    cursor.execute("SET plan_cache_mode = force_custom_plan")
    cursor.close()
    dbapi_connection.commit()


def _as_text(value: object) -> str:
    """Decimals and datetimes inside a JSON value, as text (``str``, ``isoformat``)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: JSON columns as UTF-8 text: a Chinese title is 3 bytes a character, not a 6-byte
#: ``\uXXXX`` escape (SQLAlchemy's default serializer escapes everything non-ASCII).
#: ``NaN`` and infinities raise ``ValueError`` (PostgreSQL refuses them in JSON: the
#: writer dead-letters such a record on every backend). One encoder, made once: what
#: ``json.dumps(value, ensure_ascii=False, ...)`` would build for every value.
_json_text = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_as_text).encode


def make_engine(url: str, *, cache_mib: int = RUN_CACHE_MIB) -> Engine:
    """An engine for *url*; a SQLite file's folder is created if needed. *cache_mib*: the
    SQLite page cache of each connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # wait up to 30 s for another writer's lock (``?timeout=`` in the URL overrides)
        engine = create_engine(
            url,
            connect_args={} if "timeout" in parsed.query else {"timeout": 30},
            json_serializer=_json_text,
        )
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, cache_mib))
        return engine
    # psycopg: positional parameters (``%s``), which it takes as they come, where a dict
    # per row is rebuilt into a sequence in Python (the writer's executemany)
    positional = {"paramstyle": "format"} if parsed.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, pool_pre_ping=True, json_serializer=_json_text, **positional)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_session)
    return engine


def ensure_schema(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    from harvester.storage.migrate import upgrade

    upgrade(engine)
