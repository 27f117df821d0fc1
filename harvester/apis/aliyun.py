"""Alibaba Cloud ``GetProductInfoByIds`` (Image Search, Taobao-affiliate edition).

RPC-style API at ``POST /``: the common parameters and ``Signature`` travel in the
query string, the business parameters (``ItemIds``, ``Pid``, ``Fields``) in a
form-encoded body, and the signature covers the union of both with method
``POST`` — as the official SDK (``aliyun-python-sdk-core``) sends it.
Sources: ``shared/api-docs/aliyun-taobao-union-get-product-info-by-ids.txt`` (the
spec) and ``shared/protocols.md`` (signing, errors, limits).

Record shape: one element of ``data.auctions`` exactly as the API sent it,
``{"rankScore": 0.98, "result": {...}}`` — that is the ``ApiRecord.payload`` the
spider yields and what :func:`to_product` maps. Keys are read case-insensitively
(the docs' table is PascalCase, their JSON example camelCase).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from harvester.apis import fields
from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned, load_json, text_of

NAME = "aliyun"
#: ``products.source``: the marketplace, not the API vendor.
SOURCE = "taobao"
CURRENCY = "CNY"
DEFAULT_BASE_URL = "https://imagesearch.cn-shanghai.aliyuncs.com"
BASE_URL_SETTING = "ALIYUN_BASE_URL"
#: ``ALIYUN_PID`` (the affiliate's ``mm_xxx_xxx_xxx``) is required like a credential.
CREDENTIAL_SETTINGS = ["ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_PID"]
SECRET_SETTINGS = ["ALIYUN_ACCESS_KEY_SECRET"]
PATH = "/"
ACTION = "GetProductInfoByIds"
VERSION = "2021-05-01"
#: "查询操作默认5QPS" (the docs).
DEFAULT_QPS = 5.0
#: "商品ID串,用','分割,最大40个" (the docs).
MAX_BATCH = 40
#: The gateway rejects a ``Timestamp`` more than 15 minutes from its clock (protocols.md).
TIMESTAMP_TOLERANCE_S = 15 * 60
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Query parameters that change per send or per credential: never fingerprinted.
AUTH_PARAMS = (
    "Signature",
    "SignatureNonce",
    "Timestamp",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
)
#: Every parameter :func:`sign` sets; a re-signed request drops the old values first.
COMMON_PARAMS = frozenset({"Action", "Format", "Version", *AUTH_PARAMS})

# --------------------------------------------------------------------------- signing (RPC v1)


def percent_encode(value: str) -> str:
    """RFC 3986 in UTF-8: ``A-Z a-z 0-9 - _ . ~`` as is, everything else ``%XY``
    (space → ``%20``, not ``+``; ``*`` → ``%2A``; ``~`` stays)."""
    return quote(str(value), safe="-_.~")


def canonical_query(params: dict[str, str]) -> str:
    """Sorted by name, each name and value percent-encoded, joined with ``&``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: dict[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(method: str, params: dict[str, str], secret: str) -> str:
    """``Base64(HMAC-SHA1(key=secret + "&", StringToSign))``.

    Over every parameter but ``Signature``.
    """
    params = {k: v for k, v in params.items() if k != "Signature"}
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def common_params(access_key_id: str, now: float, nonce: str | None = None) -> dict[str, str]:
    """The common parameters for a call sent at *now* (epoch seconds)."""
    return {
        "Action": ACTION,
        "Format": "JSON",
        "Version": VERSION,
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or str(uuid.uuid4()),
        "Timestamp": datetime.fromtimestamp(now, UTC).strftime(TIMESTAMP_FORMAT),
    }


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Sign *request* for *now*, as the official SDK does for a POST RPC call:
    common parameters + ``Signature`` in the query string, business parameters
    left in the form body, the signature over the union with method ``POST``.

    Every call gets a fresh ``SignatureNonce`` (uuid4) and UTC ``Timestamp``; the
    common parameters of an earlier signing (a retry) are replaced, any other
    query parameter is kept and signed.
    """
    parts = urlsplit(request.url)
    kept = _other_params(parts.query)
    business = (
        parse_qsl(request.body.decode("utf-8"), keep_blank_values=True) if request.body else []
    )
    common = common_params(config["ALIYUN_ACCESS_KEY_ID"], now)
    signed = {**dict(kept), **dict(business), **common}
    query = [
        *common.items(),
        *kept,
        ("Signature", signature(request.method, signed, config["ALIYUN_ACCESS_KEY_SECRET"])),
    ]
    return Signed(
        headers={},
        url=urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="-_.~"))),
    )


def unsigned_url(url: str) -> str:
    """*url* without the parameters :func:`sign` added (for storing beside records)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(_other_params(parts.query))))


def _other_params(query: str) -> list[tuple[str, str]]:
    """Parameters of *query* that :func:`sign` does not set."""
    return [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in COMMON_PARAMS]


# --------------------------------------------------------------------------- requests


class RequestParts(NamedTuple):
    """One call: ``POST {base}{path}`` with *form* as its form-encoded body (unsigned)."""

    method: str
    path: str
    form: dict[str, str]


def batches(ids: list[str], size: int = MAX_BATCH) -> list[list[str]]:
    """*ids* in order, cut into lists of at most *size* (≤ 40)."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH}, got {size}")
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def batch_request_parts(item_ids: list[str], pid: str, fields: str | None = None) -> RequestParts:
    """The business parameters of one call for up to 40 *item_ids*."""
    if not 1 <= len(item_ids) <= MAX_BATCH:
        raise ValueError(f"ItemIds takes 1 to {MAX_BATCH} ids, got {len(item_ids)}")
    form = {"ItemIds": ",".join(item_ids), "Pid": pid}
    if fields:
        form["Fields"] = fields
    return RequestParts("POST", PATH, form)


# --------------------------------------------------------------------------- responses


def ci(mapping: dict[str, Any], key: str, default: Any = None) -> Any:
    """Case-insensitive key lookup (the docs' table is PascalCase, their JSON camelCase)."""
    if not isinstance(mapping, dict):
        return default
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for name, value in mapping.items():
        if name.lower() == lowered:
            return value
    return default


_RETRYABLE = {"InternalError", "ServiceUnavailable", "SignatureNonceUsed"}
_AUTH = {
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
}


def classify_code(code: str, http_status: int) -> ErrorClass:
    """Class of a gateway error ``Code`` (protocols.md)."""
    if code.startswith("Throttling") or http_status == 429:  # Throttling, .User, .Api
        return ErrorClass.RATE_LIMITED
    if code in _RETRYABLE:  # SignatureNonceUsed: the retry is re-signed with a new nonce
        return ErrorClass.RETRYABLE
    if code == "InvalidTimeStamp.Expired":
        return ErrorClass.CLOCK
    if code in _AUTH or code.startswith("Forbidden"):
        return ErrorClass.AUTH
    if code.startswith(("Missing", "Invalid")):  # parameters, InvalidApi.NotFound
        return ErrorClass.PERMANENT
    if http_status >= 500:
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT


def _retry_after(headers: dict[str, str]) -> float | None:
    return fields.retry_after_seconds(headers.get("retry-after"))


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    """Return ``Data`` of a successful answer, else raise a classified :class:`ApiError`.

    Gateway errors are HTTP 4xx/5xx with ``{RequestId, HostId, Code, Message,
    Recommend}``; a business failure is HTTP 200 with ``Success=false`` or
    ``Code != 0`` (permanent for those ids); a body that is not JSON is retryable.
    """
    envelope = load_json(NAME, status, body, _retry_after(headers))
    if not isinstance(envelope, dict):
        kind = classify_code("", status) if status != 200 else ErrorClass.PERMANENT
        raise ApiError(NAME, kind, f"HTTP {status}", "envelope is not an object")
    message = text_of(ci(envelope, "Message"))
    if status != 200:
        code = text_of(ci(envelope, "Code"), 64) or f"HTTP {status}"
        raise ApiError(NAME, classify_code(code, status), code, message, _retry_after(headers))
    success, code = ci(envelope, "Success"), ci(envelope, "Code")
    code_text = "0" if code is None else text_of(code, 64)
    if success is False or code_text not in ("0", "0.0"):
        raise ApiError(NAME, ErrorClass.PERMANENT, code_text, message or "request failed")
    data = ci(envelope, "Data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "Data: not an object")
    return data


class Auction(NamedTuple):
    """One answer element: the id asked for, its ``Result`` and ``RankScore``."""

    input_item_id: str | None
    result: dict[str, Any]
    rank_score: float | None

    def payload(self) -> dict[str, Any]:
        """The record as the spider stores it (the docs' auction shape)."""
        return {"rankScore": self.rank_score, "result": self.result}


def input_item_id(result: dict[str, Any]) -> str | None:
    """The id we asked for: ``InputItemId``; ``ItemId`` only when it is not a
    dynamic id (SDK ≥ 1.2.3 returns a dynamic ``ItemId``). ``None`` when neither is a
    usable id (not text or a number, or longer than 64 characters)."""
    value = ci(result, "InputItemId")
    if fields.absent(value):
        value = ci(result, "ItemId")
        if not isinstance(value, (str, int)) or not str(value).isdigit():
            return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        return fields.identifier(value, "result.InputItemId")
    except fields.FieldError:
        return None


def parse_auctions(data: Any) -> list[Auction]:
    """``Data.Auctions`` as ``(input_item_id, result, rank_score)`` tuples, one per entry
    in order; an entry that is not an object, or whose ``Result`` is not one, comes with
    ``result == {}`` and ``input_item_id is None`` (normalization dead-letters it with
    its path). :class:`ApiError` when ``Data`` or ``Data.Auctions`` has the wrong shape."""
    if not isinstance(data, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "Data: not an object")
    auctions = ci(data, "Auctions")
    if auctions is None or auctions == "":
        auctions = []
    if not isinstance(auctions, list):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "Data.Auctions: not a list")
    parsed = []
    for auction in auctions:
        if not isinstance(auction, dict):
            parsed.append(Auction(None, {}, None))
            continue
        result = ci(auction, "Result")
        result = result if isinstance(result, dict) else {}
        parsed.append(Auction(input_item_id(result), result, ci(auction, "RankScore")))
    return parsed


# --------------------------------------------------------------------------- normalization


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, {}, "")}


def _number(mapping: dict[str, Any], key: str, path: str, kind: type[Decimal] | type[int]) -> Any:
    """``mapping[key]`` (any case) as *kind*; :class:`~harvester.apis.fields.FieldError`
    names ``path.key`` if it is not one (or beyond the schema's range)."""
    value = ci(mapping, key)
    if kind is int:
        return fields.count(value, f"{path}.{key}")
    return fields.decimal(value, f"{path}.{key}")


def _url(mapping: dict[str, Any], key: str, path: str = "result") -> str | None:
    return fields.https_url(ci(mapping, key), f"{path}.{key}")


def _text(mapping: dict[str, Any], key: str, path: str = "result") -> str | None:
    return fields.text(ci(mapping, key), f"{path}.{key}")


def item_page_url(item_id: str, tmall: bool) -> str:
    host = "detail.tmall.com" if tmall else "item.taobao.com"
    return f"https://{host}/item.htm?id={item_id}"


def _coupon(result: dict[str, Any]) -> dict[str, Any]:
    def num(key: str, kind: type[Decimal] | type[int]) -> Any:
        return _number(result, key, "result", kind)

    return _compact(
        {
            "info": ci(result, "CouponInfo"),
            "amount": num("CouponAmount", Decimal),  # 元
            "start_fee": num("CouponStartFee", Decimal),  # threshold: usable from this amount, 元
            "start_time": ci(result, "CouponStartTime"),
            "end_time": ci(result, "CouponEndTime"),
            "total_count": num("CouponTotalCount", int),
            "remain_count": num("CouponRemainCount", int),
            "share_url": _url(result, "CouponShareUrl"),
            "deeplink_share_url": ci(result, "DeeplinkCouponShareUrl"),
        }
    )


def _max_commission(result: dict[str, Any]) -> dict[str, Any]:
    best = fields.mapping(ci(result, "MaxCommission"), "result.MaxCommission")
    return _compact(
        {
            # "20.4 表示 20.4%": already in percent, unlike CommissionRate.
            "rate": fields.percentage(
                ci(best, "MaxCommissionRate"), "result.MaxCommission.MaxCommissionRate"
            ),
            "click_url": _url(best, "MaxCommissionClickUrl", "result.MaxCommission"),
            "coupon_share_url": _url(best, "MaxCommissionCouponShareUrl", "result.MaxCommission"),
        }
    )


def to_product(record: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one auction ``{"rankScore", "result"}`` (a bare ``Result`` is accepted too)
    to product-schema fields; :class:`~harvester.apis.fields.FieldError` names the
    field path that is wrong."""
    record = fields.mapping(record, "auction")
    result = ci(record, "Result")
    if not isinstance(result, dict):
        result = record
    product_id = input_item_id(result)
    if not product_id:
        raise fields.FieldError("result.InputItemId", "missing")
    user_type = ci(result, "UserType")
    user_kind = str(user_type) if isinstance(user_type, (str, int)) else None
    tmall = user_kind == "1"
    seller_id = fields.optional_id(ci(result, "SellerId"), "result.SellerId")
    commission = _number(result, "CommissionRate", "result", Decimal)
    price_raw = ci(result, "ZkFinalPrice")
    dynamic_id = ci(result, "ItemId")
    url = _url(result, "Url")
    extra = {
        "dynamic_item_id": None
        if dynamic_id in (None, "", product_id)
        else fields.text(dynamic_id, "result.ItemId"),
        "user_type": {"1": "tmall", "0": "taobao"}.get(user_kind or "", user_type),
        "nick": ci(result, "Nick"),
        "provcity": ci(result, "Provcity"),
        "short_title": ci(result, "ShortTitle"),
        "sub_title": ci(result, "SubTitle"),
        "rank_score": ci(record, "RankScore"),
        "commission_rate_raw": ci(result, "CommissionRate"),
        "coupon": _coupon(result),
        "max_commission": _max_commission(result),
        "deeplink_url": ci(result, "DeeplinkUrl"),
        "item_page_url": item_page_url(product_id, tmall),
        "category_name": ci(result, "CategoryName"),
        "level_one_category_name": ci(result, "LevelOneCategoryName"),
    }
    categories = (_text(result, "LevelOneCategoryName"), _text(result, "CategoryName"))
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": _text(result, "Title"),
        "price": _number(result, "ZkFinalPrice", "result", Decimal),
        "price_raw": fields.raw_text(price_raw, "result.ZkFinalPrice"),
        "currency": CURRENCY,
        "original_price": _number(result, "ReservePrice", "result", Decimal),
        "coupon_price": _number(result, "PriceAfterCoupon", "result", Decimal),
        "image_url": _url(result, "PicUrl"),
        "seller_id": seller_id,
        "shop_id": seller_id,  # the API has no separate shop id
        "shop_name": _text(result, "ShopTitle") or _text(result, "Nick"),
        # Top level first. The docs' table calls CategoryName "一级类目" and
        # LevelOneCategoryName "叶子类目", but the field names and the docs' own
        # example ("3C数码配件" > "USB风扇") say the opposite; we follow the example.
        "category_names": [n for n in categories if n],
        "volume": _number(result, "Volume", "result", int),
        # "1550 表示 15.5%": the API's unit is 1/100 of a percent; stored in percent.
        "commission_rate": None if commission is None else _percent(commission / 100),
        # The affiliate (promotion) link when it is a web link; else the item page.
        "url": url if url and url.startswith("https://") else item_page_url(product_id, tmall),
        "extra": _compact(extra),
    }


def _percent(value: Decimal) -> Decimal:
    return fields.percentage(value, "result.CommissionRate") or Decimal(0)
