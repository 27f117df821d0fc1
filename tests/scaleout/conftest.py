"""Scale-out tests: real Redis (session ``redis_url``) and a real PostgreSQL server, a fresh
database per test (workers write concurrently: SQLite is no place for that)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from harvester.storage.db import make_engine
from harvester.storage.migrate import upgrade
from tests.storage.conftest import postgres_server

__all__ = ["pg_url", "postgres_server"]


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """An empty, migrated database (migrated once here: N workers starting at once would
    each try to create the schema)."""
    name = f"s_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
