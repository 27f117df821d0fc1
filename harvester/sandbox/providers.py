"""The provider modules the sandbox serves: every module of :mod:`harvester.sandbox.apis`."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from harvester.sandbox import apis


def _discover() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"{apis.__name__}.{info.name}")
        for info in pkgutil.iter_modules(apis.__path__)
    ]
    return [module for module in modules if hasattr(module, "register")]


PROVIDER_MODULES: list[ModuleType] = _discover()
