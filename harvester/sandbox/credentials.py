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
