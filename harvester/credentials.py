"""Credential pools: an API may have several credentials, each held to its own limit.

Every API has the credential of its ``CREDENTIAL_SETTINGS`` (settings, else the
environment: ``ALIYUN_ACCESS_KEY_ID``, ...), and may have more in
``HARVESTER_CREDENTIALS`` (a JSON setting) or in the JSON file named by
``HARVESTER_CREDENTIALS_FILE``, both shaped::

    {"aliyun": [{"ALIYUN_ACCESS_KEY_ID": "...", "ALIYUN_ACCESS_KEY_SECRET": "...",
                 "ALIYUN_PID": "..."}]}

The rate-limit middleware picks a credential for each API request in turn
(``meta["harvester_credential"]``: its id) and paces it on that credential's own
schedule; the signing download handler signs the request with the same credential. A
credential is known everywhere else by its id (a hash of its first
``CREDENTIAL_SETTINGS`` value: the access key id, app key or token), never by value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harvester.apis import all_providers
from harvester.apis.base import MissingCredentials
from harvester.config import provider_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

#: ``request.meta`` key of the id of the credential a request is paced and signed with.
META_CREDENTIAL = "harvester_credential"


def credential_id(value: str | None) -> str:
    """A short, stable, non-reversible id of a credential, for slot names and logs."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:10]


def extra_credentials(settings: Any) -> dict[str, list[dict[str, str]]]:
    """API → the credentials of ``HARVESTER_CREDENTIALS`` and ``HARVESTER_CREDENTIALS_FILE``
    (checked: known APIs, every credential setting present; errors never show values)."""
    merged: dict[str, list[dict[str, str]]] = {}
    sources: list[tuple[str, Any]] = [
        ("HARVESTER_CREDENTIALS", settings.getdict("HARVESTER_CREDENTIALS"))
    ]
    path = settings.get("HARVESTER_CREDENTIALS_FILE")
    if path:
        try:
            sources.append((str(path), json.loads(Path(path).read_text())))
        except (OSError, ValueError) as exc:
            raise ValueError(f"HARVESTER_CREDENTIALS_FILE {path}: {exc}") from None
    known = {provider.NAME: provider for provider in all_providers()}
    for source, pools in sources:
        if not isinstance(pools, dict):
            raise ValueError(f"{source}: expected a JSON object of API → list of credentials")
        for api, entries in pools.items():
            if api not in known:
                raise ValueError(f"{source}: unknown API {api!r}; known: {', '.join(known)}")
            needed = known[api].CREDENTIAL_SETTINGS
            for number, entry in enumerate(entries if isinstance(entries, list) else [None], 1):
                if not isinstance(entry, dict) or any(not entry.get(n) for n in needed):
                    raise ValueError(
                        f"{source}: {api} credential #{number} needs {', '.join(needed)}"
                    )
                merged.setdefault(api, []).append({n: str(entry[n]) for n in needed})
    return merged


def secret_values(settings: Any) -> list[str]:
    """Every secret of the extra credentials (for the log filter)."""
    secrets = {provider.NAME: provider.SECRET_SETTINGS for provider in all_providers()}
    return [
        entry[name]
        for api, entries in extra_credentials(settings).items()
        for entry in entries
        for name in secrets[api]
    ]


class CredentialPools:
    """Each API's credentials by id, and a round-robin choice among them."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.extra = extra_credentials(settings)
        self._pools: dict[str, dict[str, dict[str, str] | None]] = {}
        self._turns: dict[str, Iterator[str]] = {}

    def pool(self, provider: ModuleType) -> dict[str, dict[str, str] | None]:
        """Credential id → signing config of *provider* (``None``: not configured)."""
        if provider.NAME not in self._pools:
            first = provider.CREDENTIAL_SETTINGS[0]
            pool: dict[str, dict[str, str] | None] = {}
            try:
                base: dict[str, str] | None = provider_config(self.settings, provider)
            except MissingCredentials:
                base = None
            if base is not None or not self.extra.get(provider.NAME):
                pool[credential_id(base and base[first])] = base
            options = {
                k: v for k, v in (base or {}).items() if k not in provider.CREDENTIAL_SETTINGS
            }
            for entry in self.extra.get(provider.NAME, []):
                pool.setdefault(credential_id(entry[first]), {**options, **entry})
            self._pools[provider.NAME] = pool
            self._turns[provider.NAME] = itertools.cycle(list(pool))
        return self._pools[provider.NAME]

    def key_value(self, provider: ModuleType, credential: str) -> str:
        """The key (access key id, app key, token) of credential id *credential*, or ``""``."""
        config = self.pool(provider).get(credential)
        return (config or {}).get(provider.CREDENTIAL_SETTINGS[0], "")

    def choose(self, provider: ModuleType) -> str:
        """The id of the next credential of *provider*, in turn."""
        self.pool(provider)
        return next(self._turns[provider.NAME])

    def config(self, provider: ModuleType, credential: str | None) -> dict[str, str]:
        """The signing config of credential id *credential* (``None``: the first one);
        raises :class:`MissingCredentials` when it is not configured."""
        pool = self.pool(provider)
        config = pool.get(credential) if credential else next(iter(pool.values()))
        if config is None:
            provider_config(self.settings, provider)  # raises, naming what is missing
            raise MissingCredentials(f"{provider.NAME}: unknown credential {credential}")
        return config
