"""PandaPon OpenAPI for 1688: store listing and related items.

Everything the project knows about PandaPon lives here as pure functions:
endpoints, request bodies, header signing, the response envelope, error
classes, paging and the mapping of an offer to the product schema.

Sources: ``shared/api-docs/pandapon-1688-*.txt`` (the spec) and
``shared/protocols.md`` (signing, paging, limits).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned, https_url

NAME = "pandapon"
#: ``products.source``: the marketplace, not the API vendor.
SOURCE = "1688"
CURRENCY = "CNY"

DEFAULT_BASE_URL = "https://api.pandapon.com"
BASE_URL_SETTING = "PANDAPON_BASE_URL"
CREDENTIAL_SETTINGS = ["PANDAPON_ACCESS_KEY", "PANDAPON_SECRET_KEY", "PANDAPON_USER_ID"]
#: Names that must never be logged (values are secrets).
SECRET_SETTINGS = ["PANDAPON_SECRET_KEY"]

STORE_PATH = "/alibaba/product/query/selleroffer"
RELATED_PATH = "/alibaba/product/productRelatedRecommendQuery"

#: No limit is documented; protocols.md: default to a conservative 10 QPS per credential.
DEFAULT_QPS = 10.0
#: The server may cap pageSize (the docs ask for 20 and get 10): paging follows totalPage.
DEFAULT_PAGE_SIZE = 50
#: 1688 search windows stop at about 2000 offers per query (protocols.md): bigger stores
#: are split into price bands. Inferred; overridable by HARVESTER_PANDAPON_SEARCH_WINDOW.
SEARCH_WINDOW = 2000
#: The server rejects timestamps more than this many seconds from its clock.
TIMESTAMP_TOLERANCE_S = 600
SORT_FIELDS = ("price", "rePurchaseRate", "monthSold")

SUCCESS_CODE = 200


# --------------------------------------------------------------------------- signing


def signature(access_key: str, timestamp: str, nonce: str, secret_key: str) -> str:
    """PandaPon's header signature.

    Replaceable: this rule comes from a third-party client, not the official text
    (protocols.md): ``UPPER_HEX(MD5(access_key + timestamp + nonce + secret_key))``,
    plain concatenation; the JSON body is not signed.
    """
    raw = f"{access_key}{timestamp}{nonce}{secret_key}".encode()
    return hashlib.md5(raw, usedforsecurity=False).hexdigest().upper()


def new_nonce() -> str:
    """32 random characters (the manual requires ``nonce-str`` on every call)."""
    return secrets.token_hex(16)


def sign_headers(
    *,
    access_key: str,
    secret_key: str,
    user_id: str,
    now: float,
    nonce: str | None = None,
    timestamp_unit: str = "ms",
) -> dict[str, str]:
    """The system headers for one call, signed for the instant *now* (epoch seconds)."""
    timestamp = str(int(now * 1000) if timestamp_unit == "ms" else int(now))
    nonce = nonce or new_nonce()
    return {
        "access-key": access_key,
        "timestamp": timestamp,
        "nonce-str": nonce,
        "user-id": user_id,
        "signature": signature(access_key, timestamp, nonce, secret_key),
    }


AUTH_HEADERS = ("access-key", "timestamp", "nonce-str", "user-id", "signature")


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class StoreQuery:
    """One store-listing query; ``price_start``/``price_end`` bound a price band."""

    seller_open_id: str
    keyword: str | None = None
    category_id: int | None = None
    price_start: Decimal | None = None
    price_end: Decimal | None = None
    sort: str | None = None
    filter: str | None = None
    country: str = "en"

    def body(self, page: int, page_size: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "beginPage": page,
            "pageSize": page_size,
            "country": self.country,
            "sellerOpenId": self.seller_open_id,
        }
        if self.keyword:
            body["keyword"] = self.keyword
        if self.category_id is not None:
            body["categoryId"] = self.category_id
        if self.price_start is not None:
            body["priceStart"] = str(self.price_start)
        if self.price_end is not None:
            body["priceEnd"] = str(self.price_end)
        if self.sort:
            body["sort"] = self.sort
        if self.filter:
            body["filter"] = self.filter
        return body

    def with_band(self, start: Decimal, end: Decimal) -> StoreQuery:
        return StoreQuery(
            self.seller_open_id,
            self.keyword,
            self.category_id,
            start,
            end,
            self.sort,
            self.filter,
            self.country,
        )


def sort_param(spec: str) -> str:
    """Turn ``price:asc`` (or ``monthSold``) into the API's ``{"price":"asc"}`` string."""
    name, _, direction = spec.partition(":")
    direction = direction or "desc"
    if name not in SORT_FIELDS or direction not in ("asc", "desc"):
        raise ValueError(
            f"sort must be FIELD[:asc|desc] with FIELD one of {', '.join(SORT_FIELDS)}; "
            f"got {spec!r}"
        )
    return json.dumps({name: direction}, separators=(",", ":"))


def related_body(
    offer_id: int, page_no: int, page_size: int, language: str = "en"
) -> dict[str, Any]:
    return {"offerId": offer_id, "pageNo": page_no, "pageSize": page_size, "language": language}


# --------------------------------------------------------------------------- responses


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
    """Return ``data`` of a successful envelope or raise a classified :class:`ApiError`."""
    try:
        envelope = json.loads(body)
    except ValueError:
        error_class = (
            ErrorClass.RETRYABLE
            if http_status >= 500 or http_status == 429
            else ErrorClass.PERMANENT
        )
        if http_status == 429:
            error_class = ErrorClass.RATE_LIMITED
        raise ApiError(
            NAME, error_class, f"HTTP {http_status}", "response is not JSON", retry_after
        ) from None
    if not isinstance(envelope, dict):
        raise ApiError(
            NAME, ErrorClass.PERMANENT, f"HTTP {http_status}", "envelope is not an object"
        )
    code = envelope.get("code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    msg = str(envelope.get("msg") or "")
    error_class = classify(http_status, code, msg)
    if error_class is not ErrorClass.OK:
        raise ApiError(
            NAME, error_class, str(code if code is not None else http_status), msg, retry_after
        )
    if "data" not in envelope:
        raise ApiError(NAME, ErrorClass.PERMANENT, str(code), "envelope has no data")
    return envelope["data"]


@dataclass(frozen=True, slots=True)
class StorePage:
    total_records: int
    total_page: int
    page_size: int
    current_page: int
    offers: list[dict[str, Any]] = field(default_factory=list)


def parse_store_page(data: Any) -> StorePage:
    """Read the paging block of a ``selleroffer`` answer."""
    if not isinstance(data, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "data is not an object")
    try:
        offers = data.get("data") or []
        if not isinstance(offers, list):
            raise TypeError("data.data is not a list")
        return StorePage(
            total_records=int(data.get("totalRecords") or 0),
            total_page=int(data.get("totalPage") or 0),
            page_size=int(data.get("pageSize") or 0),
            current_page=int(data.get("currentPage") or 0),
            offers=offers,
        )
    except (TypeError, ValueError) as exc:
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", f"bad paging block: {exc}") from None


def parse_related_page(data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "related data is not a list")
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


# --------------------------------------------------------------------------- normalization


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None


def percent(value: Any) -> Decimal | None:
    """``"100%"`` → ``Decimal("100")``; numbers pass through; ``None`` stays ``None``."""
    if value in (None, ""):
        return None
    return _decimal(str(value).strip().rstrip("%"))


def offer_url(offer_id: Any) -> str:
    return f"https://detail.1688.com/offer/{offer_id}.html"


def to_product(offer: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Map one offer (store listing or related item) to product-schema fields.

    Raises ``ValueError`` naming the field path when the offer cannot be mapped.
    """
    if offer.get("offerId") in (None, ""):
        raise ValueError("offerId: missing")
    product_id = str(offer["offerId"])
    if not product_id.isdigit():
        raise ValueError(f"offerId: not numeric: {product_id!r}")
    price_raw = (offer.get("priceInfo") or {}).get("price")
    try:
        price = _decimal(price_raw)
    except ValueError as exc:
        raise ValueError(f"priceInfo.price: {exc}") from None
    try:
        repurchase = percent(offer.get("repurchaseRate"))
    except ValueError as exc:
        raise ValueError(f"repurchaseRate: {exc}") from None
    category_ids = [
        int(offer[key])
        for key in ("topCategoryId", "secondCategoryId", "thirdCategoryId")
        if offer.get(key) not in (None, "")
    ]
    month_sold = offer.get("monthSold")
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": offer.get("subject"),
        "title_en": offer.get("subjectTrans"),
        "price": price,
        "price_raw": None if price_raw is None else str(price_raw),
        "currency": CURRENCY,
        "image_url": https_url(offer.get("imageUrl")),
        "seller_id": context.get("seller_id"),
        "category_ids": category_ids,
        "month_sold": int(month_sold) if month_sold is not None else None,
        "is_jxhy": offer.get("isJxhy"),
        "is_one_psale": offer.get("isOnePsale"),
        "repurchase_rate": repurchase,
        "url": offer_url(product_id),
    }


# --------------------------------------------------------------------------- provider protocol

#: Headers that carry auth; excluded from fingerprints and never logged.
AUTH_PARAMS = AUTH_HEADERS
#: ``HARVESTER_PANDAPON_TIMESTAMP_UNIT``: ``ms`` (the docs' example) or ``s`` (one client).
TIMESTAMP_UNIT_SETTING = "HARVESTER_PANDAPON_TIMESTAMP_UNIT"


#: Optional settings the signer reads, with defaults (passed in ``config`` beside credentials).
OPTION_SETTINGS = {TIMESTAMP_UNIT_SETTING: "ms"}


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Sign *request* for the instant *now*; *config* holds credentials and options."""
    credentials = config
    return Signed(
        headers=sign_headers(
            access_key=credentials["PANDAPON_ACCESS_KEY"],
            secret_key=credentials["PANDAPON_SECRET_KEY"],
            user_id=credentials["PANDAPON_USER_ID"],
            now=now,
            timestamp_unit=config.get(TIMESTAMP_UNIT_SETTING, "ms"),
        )
    )


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    retry_after = headers.get("retry-after")
    return parse_envelope(
        status, body, float(retry_after) if retry_after and retry_after.isdigit() else None
    )
