"""Storage tests run against SQLite and a real PostgreSQL server started here."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from harvester.testing_postgres import binaries, run_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if binaries() is None:
        if os.environ.get("CI") or os.environ.get("HARVESTER_TEST_POSTGRES") == "require":
            pytest.fail(
                "PostgreSQL server binaries are missing: .ci/run installs the postgresql package"
            )
        pytest.skip("PostgreSQL server binaries not installed (apt-get install -y postgresql)")
    with run_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storage.sqlite'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
