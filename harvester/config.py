"""Reading project configuration: base URLs, the database URL, ``HARVESTER_*`` from the
environment (the checks that turn a configuration mistake into one clear line are in
:mod:`harvester.checks`).

Every ``HARVESTER_*`` setting has its default in :mod:`harvester.settings`; each can
also be given as an environment variable of the same name (:func:`environment_settings`,
applied at project priority, so ``-s NAME=value`` wins). Provider variables
(``PANDAPON_BASE_URL``, ...) come from settings of the same name, else the environment,
else the provider's documented default. Relative paths — a SQLite path in
``HARVESTER_DATABASE_URL``, ``HARVESTER_STORAGE_SPOOL_DIR``, ``HARVESTER_DEAD_LETTERS_FILE``
— are relative to the project folder (that of ``scrapy.cfg``; :func:`project_path`),
wherever the command runs from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.utils.conf import closest_scrapy_cfg

from harvester.apis.base import require, setting_or_env

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import ModuleType


DEFAULT_DATABASE_URL = "sqlite:///data/harvester.sqlite"
ENV_PREFIX = "HARVESTER_"


def base_url(settings: Any, provider: ModuleType) -> str:
    """The provider's base URL, without a trailing slash."""
    url = setting_or_env(settings, provider.BASE_URL_SETTING, provider.DEFAULT_BASE_URL)
    assert url is not None
    return url.rstrip("/")


def provider_config(settings: Any, provider: ModuleType) -> dict[str, str]:
    """Credentials and signer options of *provider* from settings / environment.

    Raises :class:`~harvester.apis.base.MissingCredentials` naming what is missing.
    """
    config = require(settings, list(provider.CREDENTIAL_SETTINGS), provider.NAME)
    for name, default in getattr(provider, "OPTION_SETTINGS", {}).items():
        config[name] = setting_or_env(settings, name, default) or default
    return config


# -- environment ----------------------------------------------------------------------


def parse_setting(raw: str, default: Any) -> Any:
    """*raw* (an environment variable's text) as the type of *default*: bool, int, float,
    JSON for dicts, lists and tuples, text otherwise. Raises ``ValueError``."""
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{raw!r} is not a boolean (true/false, 1/0)")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (dict, list, tuple)) or (default is None and raw[:1] in "[{"):
        value = json.loads(raw)
        kind = dict if isinstance(default, dict) else (list, type(None))
        if default is not None and not isinstance(value, kind):
            raise ValueError(f"{raw!r} is not a JSON {'object' if kind is dict else 'array'}")
        return tuple(value) if isinstance(default, tuple) else value
    return raw


def environment_settings(
    defaults: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """``HARVESTER_*`` settings of *defaults* given in *environ* (default ``os.environ``),
    parsed by :func:`parse_setting`: (values, {name: why a value was refused})."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name not in defaults or raw == "":
            continue
        try:
            values[name] = parse_setting(raw, defaults[name])
        except ValueError as exc:
            errors[name] = f"environment variable {name}: {exc}"
    return values, errors


# -- database ---------------------------------------------------------------------------


def project_dir() -> Path:
    """The project folder: that of the closest ``scrapy.cfg``, else the current one."""
    cfg = closest_scrapy_cfg()
    return Path(cfg).resolve().parent if cfg else Path.cwd()


def project_path(value: str | os.PathLike[str], root: Path | None = None) -> Path:
    """*value* as a path: absolute as given, a relative one against *root* (default:
    :func:`project_dir`), so that every command finds the same files."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (root or project_dir()) / path


def database_url(settings: Any, root: Path | None = None) -> str:
    """``HARVESTER_DATABASE_URL`` (setting, else environment, else the default), with a
    relative SQLite path made absolute against *root* (default: :func:`project_dir`)."""
    url = setting_or_env(settings, "HARVESTER_DATABASE_URL", DEFAULT_DATABASE_URL)
    assert url is not None
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        path = url[len(prefix) :]
        if path and not path.startswith(":memory:") and not path.startswith("file:"):
            return prefix + str(project_path(path, root))
    return url


def masked(url: str) -> str:
    """*url* with its password hidden (``***``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
