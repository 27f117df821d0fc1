"""Credentials the sandbox accepts: the environment variables the spiders read, with
each provider module's documented defaults (its ``CREDENTIAL_DEFAULTS``) when unset.

Every credential of every provider, and the environment that points the spiders at a
sandbox, are in :mod:`.providers` (which knows the provider modules; this module
knows none, so that they can import it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


def get(name: str, defaults: Mapping[str, str]) -> str:
    """The value the sandbox accepts for credential *name* (default from *defaults*)."""
    return os.environ.get(name) or defaults[name]


def secret_for(
    key_name: str, key: str | None, secret_name: str, defaults: Mapping[str, str]
) -> str | None:
    """The secret *secret_name* that goes with key *key* (setting *key_name*): the
    sandbox's own credential, or one of the pool in the JSON file named by the
    ``HARVESTER_CREDENTIALS_FILE`` environment variable (the crawl's credential pool);
    ``None`` for an unknown key."""
    import json
    from pathlib import Path

    if key and key == get(key_name, defaults):
        return get(secret_name, defaults)
    path = os.environ.get("HARVESTER_CREDENTIALS_FILE")
    pools = json.loads(Path(path).read_text()) if path else {}
    for entries in pools.values():
        for entry in entries:
            if key and entry.get(key_name) == key:
                return str(entry.get(secret_name))
    return None
