"""Providers, one per API, found automatically by their ``NAME``.

The contract is :class:`harvester.apis.base.Provider`. A provider is a package
``harvester/apis/<provider>/`` split along the same seams for every API — ``spec``
(identity, endpoints, limits, settings), ``calls`` (signing, request bodies), ``answers``
(envelope, error classes, paging), ``records`` (record → product fields) — whose
``__init__`` re-exports their public names: callers import ``harvester.apis.<provider>``
only. In short, a provider defines at least:

- ``NAME`` (registry key, also ``request.meta[META_API]``), ``SOURCE`` (marketplace);
- ``DEFAULT_BASE_URL``, ``BASE_URL_SETTING``, ``CREDENTIAL_SETTINGS``, ``SECRET_SETTINGS``,
  ``DEFAULT_QPS``, optional ``OPTION_SETTINGS`` (setting → default) read by the signer;
- ``sign(request: Unsigned, config: dict[str, str], now: float) -> Signed`` where
  *config* holds the ``CREDENTIAL_SETTINGS`` and ``OPTION_SETTINGS`` values;
- ``check_response(status, headers, body) -> Any`` returning the envelope's data or
  raising a classified :class:`~harvester.apis.base.ApiError` (never another exception);
- ``to_product(record, context) -> dict`` mapping one raw record to product fields,
  coerced by :mod:`harvester.apis.fields` (a bad value: ``FieldError`` naming its path);
- ``AUTH_PARAMS``: query parameters and headers that must not be fingerprinted.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType


@cache
def _registry() -> dict[str, ModuleType]:
    registry: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in ("base", "fields") or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "sign"):
            registry[module.NAME] = module
    return registry


def get_provider(name: str) -> ModuleType:
    try:
        return _registry()[name]
    except KeyError:
        raise KeyError(f"unknown API {name!r}; known: {', '.join(sorted(_registry()))}") from None


def all_providers() -> list[ModuleType]:
    return list(_registry().values())
