"""Credentials the sandbox accepts: the environment variables the spiders read,
with documented defaults (each provider module's ``CREDENTIAL_DEFAULTS``) when unset."""

from __future__ import annotations

import os


def defaults() -> dict[str, str]:
    """Default value of every credential variable of every provider."""
    from harvester.sandbox.providers import PROVIDER_MODULES  # providers import this module

    merged: dict[str, str] = {}
    for module in PROVIDER_MODULES:
        merged.update(module.CREDENTIAL_DEFAULTS)
    return merged


def get(name: str) -> str:
    """The value the sandbox accepts for credential *name*."""
    return os.environ.get(name) or defaults()[name]


def client_environment(base_url: str) -> dict[str, str]:
    """Environment variables that point every spider at a sandbox at *base_url*."""
    from harvester.sandbox.providers import PROVIDER_MODULES

    env = {name: get(name) for name in defaults()}
    env.update({module.BASE_URL_VARIABLE: base_url for module in PROVIDER_MODULES})
    return env
