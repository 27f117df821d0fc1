"""The provider modules the sandbox serves: every module of :mod:`harvester.sandbox.apis`."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from harvester.sandbox import apis, credentials


def _discover() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{apis.__name__}.{info.name}")
        for info in pkgutil.iter_modules(apis.__path__)
    ]
    return [module for module in modules if hasattr(module, "register")]


PROVIDER_MODULES: list[ModuleType] = _discover()


def credential_defaults() -> dict[str, str]:
    """Default value of every credential variable of every provider."""
    merged: dict[str, str] = {}
    for module in PROVIDER_MODULES:
        merged.update(module.CREDENTIAL_DEFAULTS)
    return merged


def client_environment(base_url: str) -> dict[str, str]:
    """Environment variables that point every spider at a sandbox at *base_url*."""
    defaults = credential_defaults()
    env = {name: credentials.get(name, defaults) for name in defaults}
    env.update({module.BASE_URL_VARIABLE: base_url for module in PROVIDER_MODULES})
    return env
