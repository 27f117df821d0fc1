"""Schema migrations with Alembic, shipped in the package (``harvester/storage/migrations``).

:func:`upgrade` brings a database to the latest revision; the storage pipeline
calls it at spider open (``HARVESTER_STORAGE_AUTO_MIGRATE``) and ``scrapy dbupgrade``
runs it explicitly for production. A database created before migrations existed
(tables present, no ``alembic_version``) is stamped at the initial revision first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL = "0001"


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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to *revision* (idempotent); stamp a pre-migration database at INITIAL first."""
    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        cfg = config(connection)
        if "products" in tables and "alembic_version" not in tables:
            command.stamp(cfg, INITIAL)
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(config(connection), revision)
