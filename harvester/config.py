"""Reading project configuration: base URLs and the database URL.

Every ``HARVESTER_*`` setting has its default in :mod:`harvester.settings`;
provider variables (``PANDAPON_BASE_URL``, ...) come from settings of the same
name, else the environment, else the provider's documented default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.apis.base import setting_or_env

if TYPE_CHECKING:
    from types import ModuleType

DEFAULT_DATABASE_URL = "sqlite:///data/harvester.sqlite"


def base_url(settings: Any, provider: ModuleType) -> str:
    """The provider's base URL, without a trailing slash."""
    url = setting_or_env(settings, provider.BASE_URL_SETTING, provider.DEFAULT_BASE_URL)
    assert url is not None
    return url.rstrip("/")


def database_url(settings: Any) -> str:
    url = setting_or_env(settings, "HARVESTER_DATABASE_URL", DEFAULT_DATABASE_URL)
    assert url is not None
    return url
