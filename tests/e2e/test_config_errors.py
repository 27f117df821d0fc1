"""Configuration and database mistakes: one line saying what to do, exit code 2, no
traceback (unless ``-L DEBUG``), secrets masked. Commands run as a user types them,
in a temporary project folder; no crawl reaches the sandbox's APIs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harvester.sandbox.providers import client_environment
from harvester.testing import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STORE = "BBBU5v56RNg6USS1aPIXQ6YK2"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "scrapy.cfg", tmp_path / "scrapy.cfg")
    return tmp_path


def run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")},
        # a sandbox address nothing listens on: a crawl that started would fail, not pass
        **client_environment(f"http://127.0.0.1:{free_port()}"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    assert len(output.splitlines()) == 1, output
    for text in expected:
        assert text in output, output
    return output


CRAWL = ("crawl", "store", "-a", f"seller_open_id={STORE}")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://harvester:s3cret@db/harvester", "postgresql+psycopg://harvester:***@db"),
        ("mysql://harvester:s3cret@localhost/harvester", "driver for 'mysql' is not installed"),
        ("data/harvester.sqlite", "sqlite:///data/harvester.sqlite"),
        ("nosuch://x", "no database 'nosuch'"),
    ],
)
def test_bad_database_url(project, url, expected):
    output = assert_one_line(run(project, *CRAWL, HARVESTER_DATABASE_URL=url), expected)
    assert "s3cret" not in output


def test_refused_database_port_in_every_command(project):
    url = f"postgresql+psycopg://harvester:s3cret@127.0.0.1:{free_port()}/harvester"
    for args in (CRAWL, ("replay_spool",), ("export", "products", "-o", "x.csv"), ("dbupgrade",)):
        output = assert_one_line(run(project, *args, HARVESTER_DATABASE_URL=url), "connect")
        assert "s3cret" not in output and "***" in output


def test_schema_behind_says_dbupgrade(project):
    result = run(
        project,
        *CRAWL,
        HARVESTER_STORAGE_AUTO_MIGRATE="false",
        HARVESTER_DATABASE_URL=f"sqlite:///{project / 'empty.sqlite'}",
    )
    assert_one_line(result, "run `scrapy dbupgrade` first")


def test_unknown_api_in_rate_limits(project):
    assert_one_line(
        run(project, *CRAWL, HARVESTER_RATE_LIMITS='{"pandapn": 20}'), "unknown API 'pandapn'"
    )
    assert_one_line(
        run(project, *CRAWL, "-s", 'HARVESTER_RATE_LIMITS={"pandapn": 20}'),
        "unknown API 'pandapn'",
    )


def test_environment_value_that_does_not_parse(project):
    assert_one_line(
        run(project, *CRAWL, HARVESTER_RATE_LIMITS='{"pandapon": 20'),
        "environment variable HARVESTER_RATE_LIMITS",
    )
    assert_one_line(
        run(project, *CRAWL, HARVESTER_STORAGE_ENABLED="maybe"),
        "HARVESTER_STORAGE_ENABLED",
    )


def test_debug_shows_the_traceback(project):
    result = run(project, *CRAWL, "-L", "DEBUG", HARVESTER_DATABASE_URL="nosuch://x")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_bench_help():
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and "ratelimit" in result.stdout, result.stderr


def test_environment_settings_reach_the_crawl_and_s_wins():
    from scrapy.settings import Settings

    from harvester.config import environment_settings, parse_setting

    defaults = {"HARVESTER_RATE_LIMITS": {}, "HARVESTER_X_ENABLED": True, "OTHER": 1}
    values, errors = environment_settings(
        defaults,
        {"HARVESTER_RATE_LIMITS": '{"pandapon": 20}', "HARVESTER_X_ENABLED": "0", "OTHER": "2"},
    )
    assert values == {"HARVESTER_RATE_LIMITS": {"pandapon": 20}, "HARVESTER_X_ENABLED": False}
    assert errors == {}
    assert parse_setting("[1, 2, 3]", (0, 0, 0)) == (1, 2, 3)
    assert parse_setting("2.5", 1.0) == 2.5
    settings = Settings(values, priority="project")
    settings.set("HARVESTER_RATE_LIMITS", {"pandapon": 5}, priority="cmdline")
    assert settings.getdict("HARVESTER_RATE_LIMITS") == {"pandapon": 5}


def test_environment_rate_limit_is_used(project, sandbox):
    """HARVESTER_RATE_LIMITS from the environment reaches the crawl (it was ignored)."""
    environment = {**sandbox.client_environment(), "HARVESTER_RATE_LIMITS": '{"pandapon": 20}'}
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", *CRAWL],
        cwd=project,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")},
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # the run summary's calls line names the limit applied (the stats dict is at DEBUG)
    assert re.search(r"calls +pandapon \d+ \([\d.]+/s, limit 20/s\)", result.stderr)
    # the default database is the project's, shown absolute
    database = project / "data" / "harvester.sqlite"
    assert database.exists()
    assert f"sqlite:///{database}" in result.stderr
