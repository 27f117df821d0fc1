"""PandaPon answers: error classes, the envelope, store and related pages, price bands."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.base import ApiError, ErrorClass, envelope_code, load_json, retry_after, text_of
from harvester.apis.pandapon.spec import NAME, SEARCH_WINDOW, SUCCESS_CODE


def classify(http_status: int, code: int | None, msg: str) -> ErrorClass:
    """Classify an answer. PandaPon publishes no error list (protocols.md), so:
    HTTP 429/5xx retryable or rate-limited, ``code == 200`` ok, signature/key
    errors fatal, timestamp errors "fix the clock", anything else permanent."""
    text = (msg or "").lower()
    if http_status == 429 or code == 429 or "frequent" in text or "rate limit" in text:
        return ErrorClass.RATE_LIMITED
    if http_status >= 500 or (code is not None and code >= 500):
        return ErrorClass.RETRYABLE
    if code == SUCCESS_CODE and http_status == 200:
        return ErrorClass.OK
    if "timestamp" in text:
        return ErrorClass.CLOCK
    if http_status in (401, 403) or code in (401, 403) or "sign" in text or "access-key" in text:
        return ErrorClass.AUTH
    if "quota" in text or "balance" in text:
        return ErrorClass.QUOTA
    return ErrorClass.PERMANENT


def parse_envelope(http_status: int, body: bytes, retry_after: float | None = None) -> Any:
    """Return ``data`` of a successful envelope or raise a classified :class:`ApiError`
    (a body that is not JSON: retryable, see :func:`~harvester.apis.base.load_json`)."""
    envelope = load_json(NAME, http_status, body, retry_after)
    if not isinstance(envelope, dict):
        kind = classify(http_status, None, "")
        raise ApiError(NAME, kind, f"HTTP {http_status}", "envelope is not an object", retry_after)
    code = envelope_code(envelope.get("code"))
    msg = text_of(envelope.get("msg"))
    error_class = classify(http_status, code, msg)
    if error_class is not ErrorClass.OK:
        raise ApiError(
            NAME, error_class, str(code if code is not None else http_status), msg, retry_after
        )
    if "data" not in envelope:
        raise ApiError(NAME, ErrorClass.PERMANENT, str(code), "envelope has no data")
    return envelope["data"]


#: Most pages one query may announce (``totalPage``): the 1688 search window (2 000
#: offers) at the smallest page size the server serves, with room. Beyond it an answer is
#: refused as permanent (``bounds``) instead of starting a runaway crawl.
MAX_PAGES = 2_000
#: Most records one query may announce (``totalRecords``); a store is split into price
#: bands long before, so a bigger figure is an answer gone wrong.
MAX_RECORDS = 10_000_000


@dataclass(frozen=True, slots=True)
class StorePage:
    total_records: int
    total_page: int
    page_size: int
    current_page: int
    offers: list[Any] = field(default_factory=list)


def _paging(data: dict[str, Any], key: str, most: int) -> int:
    try:
        value = fields.integer(data.get(key), f"data.{key}", bounds=(0, fields.INT64[1])) or 0
    except fields.FieldError as error:
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", str(error)) from None
    if value > most:
        raise ApiError(
            NAME, ErrorClass.PERMANENT, "bounds", f"data.{key}: {key} {value} beyond {most}"
        )
    return value


def parse_store_page(data: Any, max_pages: int = MAX_PAGES) -> StorePage:
    """Read the paging block of a ``selleroffer`` answer.

    Totals must be integers within bounds (``totalPage`` ≤ *max_pages*,
    ``totalRecords`` ≤ :data:`MAX_RECORDS`) and consistent (``totalPage`` at most
    ``ceil(totalRecords / pageSize)``), else :class:`ApiError` (``bounds``, permanent).
    ``offers`` are the entries of ``data.data`` exactly as received: the caller judges
    each one (an entry that is not an object, or has no ``offerId``, is a record dead
    letter; the rest of the page still lands).
    """
    if not isinstance(data, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "data is not an object")
    offers = data.get("data")
    if offers is None or offers == "":
        offers = []
    if not isinstance(offers, list):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "data.data is not a list")
    page = StorePage(
        total_records=_paging(data, "totalRecords", MAX_RECORDS),
        total_page=_paging(data, "totalPage", max_pages),
        page_size=_paging(data, "pageSize", fields.INT32[1]),
        current_page=_paging(data, "currentPage", fields.INT32[1]),
        offers=offers,
    )
    if page.page_size and page.total_page > max(1, -(-page.total_records // page.page_size)):
        raise ApiError(
            NAME,
            ErrorClass.PERMANENT,
            "bounds",
            f"data.totalPage: {page.total_page} pages for {page.total_records} records "
            f"of {page.page_size}",
        )
    return page


def parse_related_page(data: Any) -> list[Any]:
    """The entries of a related-items answer exactly as received (``[]`` for none); the
    caller judges each one (an entry that is not an object with a numeric ``offerId`` is
    a record dead letter). :class:`ApiError` when ``data`` is not a list."""
    if data is None or data == "":
        return []
    if not isinstance(data, list):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "data: not a list")
    return data


def is_last_related_page(offers: list[Any], page_size: int) -> bool:
    """Related items carry no totals: a page shorter than ``pageSize`` is the last."""
    return len(offers) < page_size


def needs_split(page: StorePage, window: int = SEARCH_WINDOW) -> bool:
    """True when a query matches more offers than the search window can page through."""
    return page.total_records > window


def split_band(
    start: Decimal, end: Decimal
) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]] | None:
    """Halve a price band on a cent boundary; ``None`` when it cannot be split further.

    Bands are inclusive on both ends (as 1688 filters are), so the halves are
    ``[start, mid]`` and ``[mid + 0.01, end]``: no offer is seen twice by design.
    """
    cent = Decimal("0.01")
    if end - start < cent:
        return None
    mid = ((start + end) / 2).quantize(cent, rounding="ROUND_FLOOR")
    return (start, mid), (mid + cent, end)


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    """The envelope's ``data``, or a classified :class:`ApiError` (nothing else)."""
    return parse_envelope(status, body, retry_after(headers))
