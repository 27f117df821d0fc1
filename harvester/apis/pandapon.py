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
from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned, load_json, text_of

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


def _code(value: Any) -> int | None:
    """The envelope's ``code`` as an integer, ``None`` when it is not one."""
    try:
        return fields.integer(value, "code")
    except fields.FieldError:
        return None


def parse_envelope(http_status: int, body: bytes, retry_after: float | None = None) -> Any:
    """Return ``data`` of a successful envelope or raise a classified :class:`ApiError`
    (a body that is not JSON: retryable, see :func:`~harvester.apis.base.load_json`)."""
    envelope = load_json(NAME, http_status, body, retry_after)
    if not isinstance(envelope, dict):
        kind = classify(http_status, None, "")
        raise ApiError(NAME, kind, f"HTTP {http_status}", "envelope is not an object", retry_after)
    code = _code(envelope.get("code"))
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


# --------------------------------------------------------------------------- normalization


def percent(value: Any, path: str = "repurchaseRate") -> Decimal | None:
    """``"100%"`` → ``Decimal("100")``; numbers pass through; ``None`` stays ``None``."""
    return fields.percentage(value, path)


def offer_url(offer_id: Any) -> str:
    """The 1688 product page of *offer_id* (PandaPon and vv-tool records alike)."""
    return f"https://detail.1688.com/offer/{offer_id}.html"


def to_product(offer: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one offer (store listing or related item) to product-schema fields.

    Raises :class:`~harvester.apis.fields.FieldError` naming the field path when the
    offer cannot be mapped.
    """
    record = fields.mapping(offer, "offer")
    product_id = fields.identifier(record.get("offerId"), "offerId", digits=True)
    price_info = fields.mapping(record.get("priceInfo"), "priceInfo")
    price_raw = price_info.get("price")
    price = fields.decimal(price_raw, "priceInfo.price")
    category_ids = [
        fields.integer(record.get(key), key)
        for key in ("topCategoryId", "secondCategoryId", "thirdCategoryId")
    ]
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": fields.text(record.get("subject"), "subject"),
        "title_en": fields.text(record.get("subjectTrans"), "subjectTrans"),
        "price": price,
        "price_raw": fields.raw_text(price_raw, "priceInfo.price"),
        "currency": CURRENCY,
        "image_url": fields.https_url(record.get("imageUrl"), "imageUrl"),
        "seller_id": fields.optional_id(context.get("seller_id"), "context.seller_id"),
        "category_ids": [c for c in category_ids if c is not None],
        "month_sold": fields.count(record.get("monthSold"), "monthSold"),
        "is_jxhy": fields.boolean(record.get("isJxhy"), "isJxhy"),
        "is_one_psale": fields.boolean(record.get("isOnePsale"), "isOnePsale"),
        "repurchase_rate": percent(record.get("repurchaseRate")),
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
    """The envelope's ``data``, or a classified :class:`ApiError` (nothing else)."""
    return parse_envelope(status, body, fields.retry_after_seconds(headers.get("retry-after")))
