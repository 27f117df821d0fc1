"""Provider modules, one per API, and the registry that finds them by name.

A provider module defines at least:

- ``NAME`` (registry key, also ``request.meta["harvester_api"]``), ``SOURCE`` (marketplace);
- ``DEFAULT_BASE_URL``, ``BASE_URL_SETTING``, ``CREDENTIAL_SETTINGS``, ``DEFAULT_QPS``;
- ``sign(request: Unsigned, config: dict[str, str], now: float) -> Signed`` where
  *config* holds ``CREDENTIAL_SETTINGS`` and ``OPTION_SETTINGS`` values;
- ``check_response(status, headers, body) -> Any`` returning the envelope's data or
  raising a classified :class:`~harvester.apis.base.ApiError`;
- ``to_product(record, context) -> dict`` mapping one raw record to product fields;
- ``AUTH_PARAMS``: query parameters and headers that must not be fingerprinted.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Registry name → module path. Add a provider here.
PROVIDERS: dict[str, str] = {
    "pandapon": "harvester.apis.pandapon",
}


def get_provider(name: str) -> ModuleType:
    try:
        return importlib.import_module(PROVIDERS[name])
    except KeyError:
        raise KeyError(f"unknown API {name!r}; known: {', '.join(sorted(PROVIDERS))}") from None


def all_providers() -> list[ModuleType]:
    return [get_provider(name) for name in PROVIDERS]
