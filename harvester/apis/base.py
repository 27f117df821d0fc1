"""The provider contract and its shared vocabulary: error classes, API errors, meta keys,
credentials.

Every provider module (``harvester.apis.<provider>``) is pure: it builds request
bodies, signs, parses envelopes and classifies errors without a reactor or a network,
and satisfies :class:`Provider`. Coercions of record fields live in
:mod:`harvester.apis.fields`.
"""

from __future__ import annotations

import enum
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from scrapy.exceptions import IgnoreRequest

from harvester.apis.fields import FieldError, clean, integer, retry_after_seconds

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "META_API",
    "META_DATA",
    "META_RECEIVED_AT",
    "ApiError",
    "ApiRejected",
    "ErrorClass",
    "MissingCredentials",
    "Provider",
    "Signed",
    "Unsigned",
    "envelope_code",
    "load_json",
    "require",
    "retry_after",
    "setting_or_env",
    "text_of",
]

#: ``request.meta`` key naming the provider of an API request (signing, errors, slots).
META_API = "harvester_api"
#: ``response.meta`` key of the envelope data the error middleware checked.
META_DATA = "harvester_data"
#: ``response.meta`` key of the time the answer was read.
META_RECEIVED_AT = "harvester_received_at"


class ErrorClass(enum.Enum):
    """How the crawl should react to an API answer."""

    OK = "ok"
    #: Transient: retry with backoff (timeouts, 5xx, a body that is not JSON, the
    #: provider's "try again" codes).
    RETRYABLE = "retryable"
    #: Over the rate limit: back the API's download slot off, then retry.
    RATE_LIMITED = "rate_limited"
    #: Credentials or signature rejected: stop the spider, retrying cannot help.
    AUTH = "auth"
    #: Local clock too far from the server's: stop, and tell the user to fix the clock.
    CLOCK = "clock"
    #: Call quota exhausted or API not granted: stop cleanly and say so.
    QUOTA = "quota"
    #: Bad parameters / unknown item / an answer of the wrong shape: record, do not retry.
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class ApiError(Exception):
    """An error answer from a provider, already classified.

    For an answer of the wrong shape, ``code`` is ``"shape"`` (or ``"bounds"`` for totals
    beyond the sanity bounds) and ``message`` starts with the JSON path of the problem.
    """

    api: str
    error_class: ErrorClass
    code: str
    message: str
    #: Seconds the provider asked us to wait (``Retry-After`` or a ban duration).
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.api} error {self.code} ({self.error_class.value}): {self.message}"


class ApiRejected(IgnoreRequest):
    """An API answer that will not be retried; ``errback`` receives it."""

    def __init__(self, error: ApiError, response: Any) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


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


class Provider(Protocol):
    """What a provider module defines (modules satisfy it structurally; see
    :mod:`harvester.apis` for the registry)."""

    #: Registry key, also ``request.meta[META_API]``.
    NAME: str
    #: The marketplace (``products.source``): ``1688``, ``taobao``, ``aliexpress``.
    SOURCE: str
    DEFAULT_BASE_URL: str
    #: Setting (or environment variable) overriding ``DEFAULT_BASE_URL``.
    BASE_URL_SETTING: str
    #: Settings the signer needs; :class:`MissingCredentials` names those unset.
    CREDENTIAL_SETTINGS: list[str]
    #: Settings whose values are secrets: never logged.
    SECRET_SETTINGS: list[str]
    #: Default requests per second per credential.
    DEFAULT_QPS: float
    #: Query parameters (or headers) that carry auth: never fingerprinted.
    AUTH_PARAMS: tuple[str, ...]

    def sign(self, request: Unsigned, config: dict[str, str], now: float) -> Signed:
        """Sign *request* for the instant *now* (epoch seconds); *config* holds the
        ``CREDENTIAL_SETTINGS`` and optional ``OPTION_SETTINGS`` values."""
        ...

    def check_response(self, status: int, headers: dict[str, str], body: bytes) -> Any:
        """The envelope's data, or a classified :class:`ApiError` (never anything else)."""
        ...

    def to_product(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Product fields of one raw record, or a
        :class:`~harvester.apis.fields.FieldError` naming the JSON path."""
        ...


def load_json(api: str, status: int, body: bytes, retry_after: float | None = None) -> Any:
    """*body* parsed, or a classified :class:`ApiError`.

    A body that does not parse (a truncated transfer, a gateway's HTML page) is a
    transport failure: retryable with HTTP 200 or 5xx (retried re-signed, then
    dead-lettered), rate-limited with 429, permanent with another 4xx. A body nested
    too deeply for the parser is permanent: asking again returns the same.
    """
    try:
        return json.loads(body)
    except RecursionError:
        raise ApiError(api, ErrorClass.PERMANENT, "shape", "answer nested too deeply") from None
    except ValueError:  # UnicodeDecodeError too
        if status == 429:
            kind = ErrorClass.RATE_LIMITED
        elif status == 200 or status >= 500:
            kind = ErrorClass.RETRYABLE
        else:
            kind = ErrorClass.PERMANENT
        raise ApiError(api, kind, f"HTTP {status}", "response is not JSON", retry_after) from None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the answer's ``Retry-After`` header (lower-cased key) asks to wait."""
    return retry_after_seconds(headers.get("retry-after"))


def envelope_code(value: Any, path: str = "code") -> int | None:
    """An envelope's numeric code (an integer, digit string or integral float), ``None``
    when it is not one: the caller classes that answer, it never raises."""
    try:
        return integer(value, path)
    except FieldError:
        return None


def text_of(value: Any, limit: int = 300) -> str:
    """An envelope's message field as short, storable text, whatever its JSON type."""
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = json.dumps(value, ensure_ascii=True)
        except (RecursionError, ValueError):
            value = f"<{type(value).__name__}>"
    return clean(value[:limit])


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
            f"for the local sandbox, `python -m harvester.sandbox --print-env` prints them."
        )
    return {name: value for name, value in values.items() if value is not None}
