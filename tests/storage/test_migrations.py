"""Alembic migrations and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

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


def test_0004_keys_payloads_and_history_by_the_products_id(database_url):
    engine = make_engine(database_url)
    upgrade(engine, "0003")
    now = "2026-11-29 00:00:00+00:00"
    with engine.begin() as connection:
        for n, product_id in enumerate(("b-2", "a-1")):
            connection.execute(
                text(
                    "insert into products (source, product_id, first_seen_at, fetched_at, "
                    "updated_at) values ('1688', :p, :t, :t, :t)"
                ),
                {"p": product_id, "t": now},
            )
            for api in ("pandapon", "vvtool"):
                connection.execute(
                    text(
                        "insert into product_payloads (source, product_id, api, payload, "
                        "fetched_at) values ('1688', :p, :a, '{}', :t)"
                    ),
                    {"p": product_id, "a": api, "t": now},
                )
            connection.execute(
                text(
                    "insert into product_history (source, product_id, api, observed_at, price, "
                    "content_hash) values ('1688', :p, 'pandapon', :t, :price, 'h')"
                ),
                {"p": product_id, "t": now, "price": n + 1},
            )
    upgrade(engine)
    assert schema_diff(engine) == []
    with engine.connect() as connection:
        ids = dict(connection.execute(text("select product_id, id from products")).all())
        payloads = connection.execute(
            text("select product_id, product_key, api from product_payloads order by id")
        ).all()
        history = connection.execute(
            text("select product_id, product_key, price from product_history order by id")
        ).all()
    assert [(p, k) for p, k, _ in payloads] == [
        ("b-2", ids["b-2"]),
        ("b-2", ids["b-2"]),
        ("a-1", ids["a-1"]),
        ("a-1", ids["a-1"]),
    ]
    assert [(p, k, float(price)) for p, k, price in history] == [
        ("b-2", ids["b-2"], 1.0),
        ("a-1", ids["a-1"], 2.0),
    ]
    downgrade(engine, "0003")
    assert "product_key" not in {c["name"] for c in inspect(engine).get_columns("product_history")}
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from product_payloads")).scalar() == 4
    engine.dispose()


def test_processes_opening_a_new_database_together_migrate_it_once(database_url, tmp_path):
    """Workers of one crawl start together and each migrates at open: one migrates, the
    others wait and find the database at head (without the lock, SQLite answered one of
    them "table crawl_runs already exists")."""
    go = tmp_path / "go"
    code = (
        "import pathlib, sys, time\n"
        "from harvester.storage.db import make_engine\n"
        "from harvester.storage import migrate\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.005)\n"
        "migrate.upgrade(make_engine(sys.argv[1]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url], env=env, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    time.sleep(1.5)  # every process imported and is polling
    go.touch()
    errors = [p.communicate(timeout=120)[1].decode()[-800:] for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, errors
    engine = make_engine(database_url)
    assert current(engine) == head()
    assert schema_diff(engine) == []
    engine.dispose()
