"""Alibaba Cloud ``GetProductInfoByIds`` (Image Search, Taobao-affiliate edition).

RPC-style API: common parameters and ``Signature`` in the query string, business
parameters (``ItemIds``, ``Pid``, ``Fields``) form-encoded in the body, the
signature over the union with method ``POST`` — as the official SDK
(``aliyun-python-sdk-core``) sends it. Sources:
``shared/api-docs/aliyun-taobao-union-get-product-info-by-ids.txt`` and protocols.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned

NAME = "aliyun"
SOURCE = "taobao"
CURRENCY = "CNY"
DEFAULT_BASE_URL = "https://imagesearch.cn-shanghai.aliyuncs.com"
BASE_URL_SETTING = "ALIYUN_BASE_URL"
CREDENTIAL_SETTINGS = ["ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_PID"]
SECRET_SETTINGS = ["ALIYUN_ACCESS_KEY_SECRET"]
PATH = "/"
ACTION = "GetProductInfoByIds"
VERSION = "2021-05-01"
#: "查询操作默认5QPS" (the docs).
DEFAULT_QPS = 5.0
#: "商品ID串,用','分割,最大40个" (the docs).
MAX_BATCH = 40
#: Query parameters that change on every send: never fingerprinted.
AUTH_PARAMS = ("Signature", "SignatureNonce", "Timestamp", "AccessKeyId", "SignatureMethod", "SignatureVersion")

# --------------------------------------------------------------------------- signing


def percent_encode(value: str) -> str:
    """RFC 3986: ``A-Z a-z 0-9 - _ . ~`` as is, everything else ``%XY`` (space → %20, * → %2A)."""
    return quote(str(value), safe="-_.~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: dict[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(method: str, params: dict[str, str], secret: str) -> str:
    """``Base64(HMAC-SHA1(secret + "&", StringToSign))`` over every parameter but ``Signature``."""
    params = {k: v for k, v in params.items() if k != "Signature"}
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def common_params(access_key_id: str, now: float, nonce: str | None = None) -> dict[str, str]:
    return {
        "Action": ACTION,
        "Format": "JSON",
        "Version": VERSION,
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Sign for *now*: a fresh ``SignatureNonce`` and ``Timestamp`` on every send."""
    parts = urlsplit(request.url)
    business = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    query = common_params(config["ALIYUN_ACCESS_KEY_ID"], now)
    query["Signature"] = signature(request.method, {**query, **business}, config["ALIYUN_ACCESS_KEY_SECRET"])
    return Signed(headers={}, url=urlunsplit(parts._replace(query=urlencode(query, quote_via=quote))))


# --------------------------------------------------------------------------- requests


def batches(ids: list[str], size: int = MAX_BATCH) -> list[list[str]]:
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH}")
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def batch_form(item_ids: list[str], pid: str, fields: str | None = None) -> dict[str, str]:
    """The business parameters of one call (the form body)."""
    form = {"ItemIds": ",".join(item_ids), "Pid": pid}
    if fields:
        form["Fields"] = fields
    return form


# --------------------------------------------------------------------------- responses

_RATE_LIMITED = {"Throttling", "Throttling.User", "Throttling.Api"}
_RETRYABLE = {"InternalError", "ServiceUnavailable", "SignatureNonceUsed"}
_AUTH = {"SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive"}


def classify_code(code: str, http_status: int) -> ErrorClass:
    if code in _RATE_LIMITED or http_status == 429:
        return ErrorClass.RATE_LIMITED
    if code in _RETRYABLE:
        return ErrorClass.RETRYABLE
    if code == "InvalidTimeStamp.Expired":
        return ErrorClass.CLOCK
    if code in _AUTH or code.startswith("Forbidden"):
        return ErrorClass.AUTH
    if code.startswith(("Missing", "Invalid")):
        return ErrorClass.PERMANENT
    if http_status >= 500:
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT


def ci(mapping: dict[str, Any], key: str, default: Any = None) -> Any:
    """Case-insensitive key lookup (the docs' table is PascalCase, their JSON camelCase)."""
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for name, value in mapping.items():
        if name.lower() == lowered:
            return value
    return default


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    try:
        envelope = json.loads(body)
    except ValueError:
        error_class = ErrorClass.RETRYABLE if status >= 500 else ErrorClass.PERMANENT
        raise ApiError(NAME, error_class, f"HTTP {status}", "response is not JSON") from None
    if not isinstance(envelope, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, f"HTTP {status}", "envelope is not an object")
    if status != 200:  # gateway error: {RequestId, HostId, Code, Message, Recommend}
        code = str(ci(envelope, "Code") or f"HTTP {status}")
        retry_after = headers.get("retry-after")
        raise ApiError(
            NAME, classify_code(code, status), code, str(ci(envelope, "Message") or ""),
            float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    success, code = ci(envelope, "Success"), ci(envelope, "Code")
    if success is False or (code not in (None, 0, "0")):
        raise ApiError(NAME, ErrorClass.PERMANENT, str(code), str(ci(envelope, "Message") or "request failed"))
    return ci(envelope, "Data") or {}


def parse_auctions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each auction's ``Result`` with ``RankScore`` added, as one record."""
    records = []
    for auction in ci(data, "Auctions") or []:
        result = dict(ci(auction, "Result") or {})
        result["rankScore"] = ci(auction, "RankScore")
        records.append(result)
    return records


def input_id(record: dict[str, Any]) -> str | None:
    """The id we asked for; ``ItemId`` may be a dynamic id (SDK ≥ 1.2.3)."""
    value = ci(record, "InputItemId") or ci(record, "ItemId")
    return None if value is None else str(value)


# --------------------------------------------------------------------------- normalization


def _decimal(record: dict[str, Any], key: str) -> Decimal | None:
    value = ci(record, key)
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{key}: not a decimal: {value!r}") from None


def https(url: Any) -> str | None:
    if not url:
        return None
    url = str(url)
    if url.startswith("//"):
        return "https:" + url
    if url.startswith("http://"):
        return "https://" + url[7:]
    return url


def to_product(record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    product_id = input_id(record)
    if not product_id:
        raise ValueError("InputItemId: missing")
    commission = _decimal(record, "CommissionRate")
    seller_id = ci(record, "SellerId")
    user_type = ci(record, "UserType")
    max_commission = ci(record, "MaxCommission") or {}
    url = https(ci(record, "Url"))
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": ci(record, "Title"),
        "price": _decimal(record, "ZkFinalPrice"),
        "price_raw": None if ci(record, "ZkFinalPrice") is None else str(ci(record, "ZkFinalPrice")),
        "original_price": _decimal(record, "ReservePrice"),
        "coupon_price": _decimal(record, "PriceAfterCoupon"),
        "currency": CURRENCY,
        "image_url": https(ci(record, "PicUrl")),
        "seller_id": None if seller_id is None else str(seller_id),
        "shop_id": None if seller_id is None else str(seller_id),
        "shop_name": ci(record, "ShopTitle") or ci(record, "Nick"),
        "category_names": [n for n in (ci(record, "LevelOneCategoryName"), ci(record, "CategoryName")) if n],
        "volume": ci(record, "Volume"),
        # "1550 表示 15.5%": the API's unit is 1/100 of a percent.
        "commission_rate": None if commission is None else commission / 100,
        "url": url if url and url.startswith("https://") else None,
        "extra": {
            "item_id": ci(record, "ItemId"),
            "short_title": ci(record, "ShortTitle"),
            "sub_title": ci(record, "SubTitle"),
            "platform": {1: "tmall", 0: "taobao"}.get(user_type, user_type),
            "nick": ci(record, "Nick"),
            "provcity": ci(record, "Provcity"),
            "promotion_url": https(ci(record, "Url")),
            "coupon": {
                key: ci(record, key)
                for key in ("CouponInfo", "CouponAmount", "CouponStartFee", "CouponStartTime", "CouponEndTime",
                            "CouponTotalCount", "CouponRemainCount", "CouponShareUrl")
                if ci(record, key) is not None
            },
            "max_commission_rate": ci(max_commission, "MaxCommissionRate"),
            "rank_score": ci(record, "RankScore"),
        },
    }
