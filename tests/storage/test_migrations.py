"""Alembic migrations and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from harvester.storage.db import make_engine
from harvester.storage.migrate import INITIAL, current, downgrade, head, upgrade
from harvester.storage.models import Base


def schema_diff(engine):
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_dbupgrade_on_an_empty_database_gives_the_models_schema(database_url):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "dbupgrade",
            "-s",
            f"HARVESTER_DATABASE_URL={database_url}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert f": empty -> {head()}" in completed.stdout
    engine = make_engine(database_url)
    assert current(engine) == head()
    assert schema_diff(engine) == []
    assert set(inspect(engine).get_table_names()) >= {
        "products",
        "product_history",
        "product_payloads",
        "skus",
        "price_tiers",
        "shops",
        "related_edges",
        "crawl_runs",
        "dead_letters",
    }
    upgrade(engine)  # idempotent
    assert current(engine) == head()
    engine.dispose()


def test_every_migration_goes_down_and_up_again(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    downgrade(engine, INITIAL)
    assert current(engine) == INITIAL
    assert "ix_products_shop" not in {ix["name"] for ix in inspect(engine).get_indexes("products")}
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert schema_diff(engine) == []
    engine.dispose()


def test_database_from_before_migrations_is_stamped(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = create_engine(url)
    Base.metadata.create_all(old)
    old.dispose()
    engine = make_engine(url)
    upgrade(engine)
    assert current(engine) == head()
    assert schema_diff(engine) == []
    engine.dispose()
