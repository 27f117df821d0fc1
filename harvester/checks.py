"""Checks that turn a configuration or database mistake into one clear line.

``scrapy crawl`` calls :func:`check_configuration` before the crawl starts; the
database commands (``export``, ``dbupgrade``, ``replay_spool``) open their database
with :func:`open_database`. A mistake is a :class:`ConfigurationError` whose text says
what is wrong and what to do (passwords masked); :func:`fail` prints it as
``scrapy COMMAND: error: ...`` and exits with code 2, with the traceback behind it only
at ``LOG_LEVEL`` DEBUG (``-L DEBUG``).
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

from scrapy.exceptions import UsageError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

import harvester.settings as project_settings
from harvester.apis import all_providers
from harvester.config import database_url, environment_settings, masked
from harvester.middlewares.ratelimit import check_limits
from harvester.storage.db import make_engine
from harvester.storage.migrate import current, head

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: Scrapy's priority of ``-s NAME=value`` (``SETTINGS_PRIORITIES["cmdline"]``).
CMDLINE_PRIORITY = 40


class ConfigurationError(UsageError):
    """A configuration or database mistake, said in one line: what is wrong, what to do."""


def check_environment(settings: Any) -> None:
    """Refuse a ``HARVESTER_*`` environment variable that could not be parsed (unless
    ``-s`` gives the setting)."""
    _, errors = environment_settings(vars(project_settings))
    for name, error in errors.items():
        priority = settings.getpriority(name)
        if priority is None or priority < CMDLINE_PRIORITY:
            raise ConfigurationError(error)


def check_rate_limits(settings: Any) -> None:
    """``HARVESTER_RATE_LIMITS`` names known APIs and positive rates."""
    try:
        limits = settings.getdict("HARVESTER_RATE_LIMITS")
        check_limits(limits, {provider.NAME for provider in all_providers()})
    except ValueError as exc:
        raise ConfigurationError(str(exc).splitlines()[0]) from exc


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def open_database(url: str) -> Engine:
    """An engine for *url* whose connection has been tried once, or a
    :class:`ConfigurationError` saying what is wrong with the URL and what to write."""
    name = "HARVESTER_DATABASE_URL"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"{name} {url!r} is not a database URL; for a SQLite file write "
            f"sqlite:///{url.lstrip('/') if not url.startswith('/') else '/' + url.lstrip('/')}"
            " (a path after sqlite:/// is relative to the project folder; sqlite://// + an "
            "absolute path), for PostgreSQL postgresql+psycopg://user:password@host/db"
        ) from None
    shown = masked(url)
    if parsed.drivername in ("postgres", "postgresql"):
        fixed = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        raise ConfigurationError(
            f"{name} {shown}: write {fixed} (SQLAlchemy's dialect is 'postgresql', with the "
            "psycopg 3 driver this project installs: pip install -e '.[postgres]')"
        )
    try:
        engine = make_engine(url)
    except NoSuchModuleError:
        raise ConfigurationError(
            f"{name} {shown}: SQLAlchemy has no database '{parsed.drivername}'; write "
            "sqlite:///PATH or postgresql+psycopg://user:password@host/db"
        ) from None
    except ImportError as exc:
        raise ConfigurationError(
            f"{name} {shown}: the driver for '{parsed.drivername}' is not installed "
            f"({exc}); install it, or name an installed driver in the URL "
            "(postgresql+psycopg://..., mysql+pymysql://...)"
        ) from None
    except (ArgumentError, OSError, ValueError) as exc:
        raise ConfigurationError(f"{name} {shown}: {_first_line(exc)}") from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigurationError(
            f"cannot connect to the database {shown} ({_first_line(exc)}); check that the "
            f"server runs and that {name} names it"
        ) from exc
    return engine


def check_database(settings: Any) -> None:
    """Connect to the crawl's database once; with ``HARVESTER_STORAGE_AUTO_MIGRATE``
    off, also check that its schema is the latest (else: run ``scrapy dbupgrade``)."""
    if not settings.getbool("HARVESTER_STORAGE_ENABLED", True):
        return
    url = database_url(settings)
    engine = open_database(url)
    try:
        if settings.getbool("HARVESTER_STORAGE_AUTO_MIGRATE", True):
            return
        found, latest = current(engine), head()
        if found != latest:
            raise ConfigurationError(
                f"the database {masked(url)} has schema {found or 'none'}, this version "
                f"needs {latest}: run `scrapy dbupgrade` first "
                "(or set HARVESTER_STORAGE_AUTO_MIGRATE=True)"
            )
    finally:
        engine.dispose()


def check_configuration(settings: Any) -> None:
    """Every check a crawl needs before it starts: ``HARVESTER_*`` environment values
    and the database. Raises :class:`ConfigurationError`; at ``LOG_LEVEL`` DEBUG the
    traceback behind it is printed first."""
    try:
        check_environment(settings)
        check_rate_limits(settings)
        check_database(settings)
    except ConfigurationError as exc:
        if settings.get("LOG_LEVEL") == "DEBUG":
            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)
        raise


def fail(command: str, exc: BaseException | str, settings: Any) -> NoReturn:
    """End *command* with one line ``scrapy COMMAND: error: ...`` and exit code 2 (the
    traceback too at ``LOG_LEVEL`` DEBUG)."""
    debug = settings is not None and settings.get("LOG_LEVEL") == "DEBUG"
    if debug and isinstance(exc, BaseException):
        traceback.print_exception(exc, file=sys.stderr)
    print(f"scrapy {command}: error: {exc}", file=sys.stderr)
    sys.exit(2)
