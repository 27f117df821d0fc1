"""Schema migrations with Alembic, shipped in the package (``harvester/storage/migrations``).

:func:`upgrade` brings a database to the latest revision; the storage pipeline
calls it at spider open (``HARVESTER_STORAGE_AUTO_MIGRATE``) and ``scrapy dbupgrade``
runs it explicitly for production. A database created before migrations existed
(tables present, no ``alembic_version``) is stamped at the initial revision first.

Several crawl processes started together against one database (workers sharing a
crawl, Scrapyd jobs) each migrate at open: the migration is serialized by a lock, so
the first migrates and the others find the database at head — PostgreSQL's
transaction-scoped advisory lock, and for a SQLite file an ``flock`` on a lock file
beside it (SQLite runs Alembic's DDL outside a transaction, so its own locks cannot
serialize two migrations).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL = "0001"
#: PostgreSQL advisory lock key of harvester migrations (a constant 64-bit int)
ADVISORY_KEY = 7021804650670679922


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The latest revision shipped in the package."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<database>.migrate.lock`` (a file database)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: migrations are not serialized across processes
        yield
        return
    path = Path(database).with_name(Path(database).name + ".migrate.lock")
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to *revision* (idempotent; one process at a time); stamp a pre-migration
    database at INITIAL first."""
    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
        tables = set(inspect(connection).get_table_names())
        cfg = config(connection)
        if "products" in tables and "alembic_version" not in tables:
            command.stamp(cfg, INITIAL)
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(config(connection), revision)
