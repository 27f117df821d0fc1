from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from harvester.storage.db import make_engine
from harvester.storage.migrate import current, upgrade
from harvester.storage.models import Base


def test_migrations_and_models_agree(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    assert current(engine) == "0001"
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= {
        "products", "product_history", "product_payloads", "skus", "price_tiers", "shops", "related_edges",
        "crawl_runs", "dead_letters"}
    upgrade(engine)  # idempotent
    engine.dispose()


def test_database_from_before_migrations_is_stamped(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = create_engine(url)
    Base.metadata.create_all(old)
    old.dispose()
    engine = make_engine(url)
    upgrade(engine)
    assert current(engine) == "0001"
