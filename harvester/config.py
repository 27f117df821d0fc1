"""Reading project configuration: base URLs and the database URL.

Every ``HARVESTER_*`` setting has its default in :mod:`harvester.settings`;
provider variables (``PANDAPON_BASE_URL``, ...) come from settings of the same
name, else the environment, else the provider's documented default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.apis.base import require, setting_or_env

if TYPE_CHECKING:
    from types import ModuleType

DEFAULT_DATABASE_URL = "sqlite:///data/harvester.sqlite"


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


def database_url(settings: Any) -> str:
    url = setting_or_env(settings, "HARVESTER_DATABASE_URL", DEFAULT_DATABASE_URL)
    assert url is not None
    return url
