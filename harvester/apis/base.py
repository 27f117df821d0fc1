"""Shared vocabulary of the provider modules: error classes, API errors, credentials.

Every provider module (``harvester.apis.<provider>``) is pure: it builds request
bodies, signs, parses envelopes and classifies errors without a reactor or a network.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from collections.abc import Mapping


class ErrorClass(enum.Enum):
    """How the crawl should react to an API answer."""

    OK = "ok"
    #: Transient: retry with backoff (timeouts, 5xx, the provider's "try again" codes).
    RETRYABLE = "retryable"
    #: Over the rate limit: back the API's download slot off, then retry.
    RATE_LIMITED = "rate_limited"
    #: Credentials or signature rejected: stop the spider, retrying cannot help.
    AUTH = "auth"
    #: Local clock too far from the server's: stop, and tell the user to fix the clock.
    CLOCK = "clock"
    #: Call quota exhausted or API not granted: stop cleanly and say so.
    QUOTA = "quota"
    #: Bad parameters / unknown item: record, do not retry.
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class ApiError(Exception):
    """An error answer from a provider, already classified."""

    api: str
    error_class: ErrorClass
    code: str
    message: str
    #: Seconds the provider asked us to wait (``Retry-After`` or a ban duration).
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.api} error {self.code} ({self.error_class.value}): {self.message}"


class MissingCredentials(ValueError):
    """A credential needed to sign requests for an API is not configured."""


def setting_or_env(
    settings: Mapping[str, Any] | Any, name: str, default: str | None = None
) -> str | None:
    """Return setting *name*, else environment variable *name*, else *default*.

    Settings win so that ``scrapy crawl -s PANDAPON_ACCESS_KEY=...`` overrides the
    environment; empty strings count as unset.
    """
    value = settings.get(name) if settings is not None else None
    if value in (None, ""):
        value = os.environ.get(name)
    if value in (None, ""):
        return default
    return str(value)


def require(settings: Mapping[str, Any] | Any, names: list[str], api: str) -> dict[str, str]:
    """Read every credential in *names*; raise :class:`MissingCredentials` naming the
    missing ones."""
    values = {name: setting_or_env(settings, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise MissingCredentials(
            f"{api}: missing credentials {', '.join(missing)}. Set them as environment "
            f"variables or Scrapy settings (e.g. `scrapy crawl ... -s {missing[0]}=...`); "
            f"for the local sandbox, `make demo` shows the values it accepts."
        )
    return {name: value for name, value in values.items() if value is not None}


def https_url(url: Any) -> str | None:
    """``//host/x`` and ``http://host/x`` → ``https://host/x``; other schemes stay as they are."""
    if not url:
        return None
    url = str(url).strip()
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("http://"):
        return "https://" + url.removeprefix("http://")
    return url


def mask(secret: str) -> str:
    """A loggable stand-in for a secret: its length and last two characters at most."""
    if len(secret) <= 6:
        return "***"
    return f"***{secret[-2:]}"


@dataclass(frozen=True, slots=True)
class Unsigned:
    """The parts of an outgoing request a signer may read."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Signed:
    """What a signer changes: headers to set, and a new URL or body when the
    signature travels in the query string or form."""

    headers: dict[str, str]
    url: str | None = None
    body: bytes | None = None


#: ``request.meta`` key naming the provider of an API request (signing, errors, slots).
META_API = "harvester_api"
#: ``response.meta`` key of the envelope data the error middleware checked.
META_DATA = "harvester_data"
#: ``response.meta`` key of the time the answer was read.
META_RECEIVED_AT = "harvester_received_at"


class ApiRejected(IgnoreRequest):
    """An API answer that will not be retried; ``errback`` receives it."""

    def __init__(self, error: ApiError, response: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response
