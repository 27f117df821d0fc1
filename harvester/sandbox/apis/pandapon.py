"""PandaPon endpoints: ``selleroffer`` (store listing) and ``productRelatedRecommendQuery``.

Checks the signed headers exactly as :mod:`harvester.apis.pandapon` builds them
(access key, timestamp within 600 s, signature), answers with PandaPon's
envelope ``{requestId, code, developId, msg, data}``. PandaPon publishes no error
codes; the sandbox uses 401 (access key / signature), 402 (timestamp), 400
(parameters) and 429 (too frequent) with explanatory ``msg`` texts.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from harvester.apis import pandapon as api
from harvester.sandbox import credentials
from harvester.sandbox.messages import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.catalog import Offer
    from harvester.sandbox.messages import SandboxRequest
    from harvester.sandbox.server import SandboxApp

NAME = api.NAME
BASE_URL_VARIABLE = api.BASE_URL_SETTING
CREDENTIAL_DEFAULTS = {
    "PANDAPON_ACCESS_KEY": "sandbox-pandapon-access-key",
    "PANDAPON_SECRET_KEY": "sandbox-pandapon-secret-key",
    "PANDAPON_USER_ID": "2100007341207",
}
DEVELOP_ID = "1023561483696472885"


def envelope(code: int, msg: str, data: Any = None, status: int = 200) -> SandboxResponse:
    return SandboxResponse(
        status,
        {
            "requestId": uuid.uuid4().hex,
            "code": code,
            "developId": DEVELOP_ID,
            "msg": msg,
            "data": data,
        },
    )


def error(code: str, message: str | None, request: SandboxRequest | None = None) -> SandboxResponse:
    defaults = {
        "401": "signature verification failed",
        "402": "timestamp expired",
        "429": "request too frequent, please slow down",
        "400": "parameter error",
        "500": "system error",
    }
    return envelope(int(code), message or defaults.get(code, "error"))


def check_auth(request: SandboxRequest) -> SandboxResponse | None:
    headers = request.headers
    access_key = headers.get("access-key", "")
    timestamp = headers.get("timestamp", "")
    nonce = headers.get("nonce-str", "")
    given = headers.get("signature", "")
    if not access_key or not timestamp or not given:
        return error("401", "missing access-key, timestamp or signature header")
    if access_key != credentials.get("PANDAPON_ACCESS_KEY", CREDENTIAL_DEFAULTS):
        return error("401", "invalid access-key")
    try:
        stamp = int(timestamp)
    except ValueError:
        return error("402", "timestamp must be epoch milliseconds")
    if abs(stamp / 1000 - time.time()) > api.TIMESTAMP_TOLERANCE_S:
        return error("402", "timestamp expired: more than 600 s from server time")
    expected = api.signature(
        access_key, timestamp, nonce, credentials.get("PANDAPON_SECRET_KEY", CREDENTIAL_DEFAULTS)
    )
    if given.upper() != expected:
        return error("401", "signature verification failed")
    return None


def offer_json(offer: Offer, related: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "imageUrl": offer.image_url,
        "subject": offer.subject,
        "subjectTrans": offer.subject_trans,
        "offerId": offer.offer_id,
        "isJxhy": offer.is_jxhy,
        "repurchaseRate": f"{offer.repurchase_rate}%",
        "monthSold": offer.month_sold,
        "traceInfo": f"object_id@{offer.offer_id}^object_type@offer",
        "isOnePsale": offer.is_one_psale,
        "priceInfo": {"price": offer.price_str()},
    }
    if related:
        # The related-items endpoint leaves these null and adds identities and categories.
        body.update(
            {
                "isJxhy": None,
                "isOnePsale": None,
                "monthSold": None,
                "sellerIdentities": offer.seller_identities,
                "offerIdentities": [],
                "topCategoryId": offer.categories[0],
                "secondCategoryId": offer.categories[1],
                "thirdCategoryId": offer.categories[2],
            }
        )
        del body["repurchaseRate"], body["traceInfo"]
    return body


def _int(body: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def _decimal(body: dict[str, Any], name: str) -> Decimal | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a decimal string") from None


def _json_body(request: SandboxRequest) -> dict[str, Any]:
    if "application/json" not in request.headers.get("content-type", ""):
        raise ValueError("Content-Type must be application/json")
    try:
        body = request.json()
    except ValueError:
        raise ValueError("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def selleroffer(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    denied = check_auth(request)
    if denied:
        return denied
    try:
        body = _json_body(request)
        page = _int(body, "beginPage")
        page_size = _int(body, "pageSize")
        seller = body.get("sellerOpenId")
        if not seller:
            raise ValueError("sellerOpenId is required")
        if not page or page < 1 or not page_size or page_size < 1:
            raise ValueError("beginPage and pageSize must be positive")
        sort = None
        if body.get("sort"):
            sort_spec = json.loads(body["sort"])
            ((name, direction),) = sort_spec.items()
            if name not in api.SORT_FIELDS or direction not in ("asc", "desc"):
                raise ValueError("unsupported sort")
            sort = (name, direction)
        price_start, price_end = _decimal(body, "priceStart"), _decimal(body, "priceEnd")
        category_id = _int(body, "categoryId", required=False)
    except ValueError as exc:
        return error("400", f"parameter error: {exc}")
    store = app.catalog.by_seller.get(seller)
    if store is None:
        return envelope(
            200,
            "成功",
            {"totalRecords": 0, "totalPage": 0, "pageSize": 0, "currentPage": page, "data": []},
        )
    offers = app.catalog.store_query(
        store,
        keyword=body.get("keyword") or None,
        category_id=category_id,
        price_start=price_start,
        price_end=price_end,
        sort=sort,
    )
    size = min(page_size, app.config.max_page_size)
    reachable = min(len(offers), app.config.search_window)
    total_page = math.ceil(reachable / size) if reachable else 0
    start = (page - 1) * size
    chunk = offers[start : min(start + size, reachable)] if page <= total_page else []
    data = {
        "totalRecords": len(offers),
        "totalPage": total_page,
        "pageSize": size,
        "currentPage": page,
        "data": [app.catalog.listing_json(o.offer_id, offer_json(o)) for o in chunk],
    }
    return envelope(200, "成功", data)


def related(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    denied = check_auth(request)
    if denied:
        return denied
    try:
        body = _json_body(request)
        offer_id = _int(body, "offerId")
        page_no = _int(body, "pageNo")
        page_size = _int(body, "pageSize")
        if not page_no or page_no < 1 or not page_size or page_size < 1:
            raise ValueError("pageNo and pageSize must be positive")
        if not body.get("language"):
            raise ValueError("language is required")
    except ValueError as exc:
        return error("400", f"parameter error: {exc}")
    ids = app.catalog.related(offer_id)  # type: ignore[arg-type]
    size = min(page_size, app.config.max_page_size)
    chunk = ids[(page_no - 1) * size : page_no * size]
    return envelope(200, "成功", [offer_json(app.catalog.offers[i], related=True) for i in chunk])


def register(app: SandboxApp) -> None:
    app.route("POST", api.STORE_PATH, NAME, selleroffer)
    app.route("POST", api.RELATED_PATH, NAME, related)
    app.error_builders[NAME] = error
    app.throttle_builders[NAME] = lambda request: error("429", None, request)
    app.credential_of[NAME] = lambda request: request.headers.get("access-key", "")
