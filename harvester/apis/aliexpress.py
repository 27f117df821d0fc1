"""AliExpress affiliate ``aliexpress.affiliate.productdetail.get`` (TOP-style gateway).

``POST {base}/sync?{system params}`` with the application parameters
form-encoded in the body, ``sign`` over the union — as the
``python-aliexpress-api`` client (which embeds the platform's SDK) sends it.
Sources: ``shared/api-docs/aliexpress-affiliate-productdetail-get.txt``, protocols.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harvester.apis import fields
from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned, load_json, text_of

NAME = "aliexpress"
SOURCE = "aliexpress"
DEFAULT_BASE_URL = "https://api-sg.aliexpress.com"
BASE_URL_SETTING = "ALIEXPRESS_BASE_URL"
PATH = "/sync"
METHOD = "aliexpress.affiliate.productdetail.get"
CREDENTIAL_SETTINGS = ["ALIEXPRESS_APP_KEY", "ALIEXPRESS_APP_SECRET"]
SECRET_SETTINGS = ["ALIEXPRESS_APP_SECRET"]
SIGN_METHOD_SETTING = "HARVESTER_ALIEXPRESS_SIGN_METHOD"
OPTION_SETTINGS = {SIGN_METHOD_SETTING: "md5"}
SIGN_METHODS = ("md5", "hmac-sha256", "sha256")
#: Inferred (protocols.md gives no number): a conservative rate for an affiliate app key.
DEFAULT_QPS = 5.0
#: Inferred: the docs give no maximum; the affiliate product APIs take up to 50 ids, we
#: default to 20 per call (HARVESTER_ALIEXPRESS_BATCH_SIZE).
MAX_BATCH = 50
DEFAULT_BATCH = 20
AUTH_PARAMS = ("sign", "timestamp", "app_key", "sign_method", "partner_id")
CURRENCIES = (
    "USD",
    "GBP",
    "CAD",
    "EUR",
    "UAH",
    "MXN",
    "TRY",
    "RUB",
    "BRL",
    "AUD",
    "INR",
    "JPY",
    "IDR",
    "SEK",
    "KRW",
)
LANGUAGES = (
    "EN",
    "RU",
    "PT",
    "ES",
    "FR",
    "ID",
    "IT",
    "TH",
    "JA",
    "AR",
    "VI",
    "TR",
    "DE",
    "HE",
    "KO",
    "NL",
    "PL",
    "MX",
    "CL",
    "IW",
    "IN",
)
PARTNER_ID = "harvester"

# --------------------------------------------------------------------------- signing


def sign_params(params: dict[str, str], secret: str, method: str = "md5") -> str:
    """TOP ``sign``: parameters but ``sign`` sorted by name, ``name + value`` concatenated;
    md5 wraps it in the secret; hmac-sha256 / sha256 (IOP) key an HMAC-SHA256 with it."""
    concatenated = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign")
    if method == "md5":
        return (
            hashlib.md5(f"{secret}{concatenated}{secret}".encode(), usedforsecurity=False)
            .hexdigest()
            .upper()
        )
    if method in ("hmac-sha256", "sha256"):
        return hmac.new(secret.encode(), concatenated.encode(), hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unsupported sign_method {method!r}; use one of {', '.join(SIGN_METHODS)}")


def system_params(app_key: str, now: float, sign_method: str) -> dict[str, str]:
    return {
        "app_key": app_key,
        "method": METHOD,
        "timestamp": str(int(now * 1000)),  # epoch ms, as the python-aliexpress-api client
        "format": "json",
        "v": "2.0",
        "sign_method": sign_method,
        "partner_id": PARTNER_ID,
    }


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    method = config.get(SIGN_METHOD_SETTING, "md5")
    application = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    query = system_params(config["ALIEXPRESS_APP_KEY"], now, method)
    query["sign"] = sign_params({**query, **application}, config["ALIEXPRESS_APP_SECRET"], method)
    parts = urlsplit(request.url)
    return Signed(headers={}, url=urlunsplit(parts._replace(query=urlencode(query))))


def batch_form(
    product_ids: list[str],
    *,
    target_currency: str,
    target_language: str,
    country: str | None,
    tracking_id: str,
    fields: str | None = None,
) -> dict[str, str]:
    form = {
        "product_ids": ",".join(product_ids),
        "target_currency": target_currency,
        "target_language": target_language,
        "tracking_id": tracking_id,
    }
    if country:
        form["country"] = country
    if fields:
        form["fields"] = fields
    return form


# --------------------------------------------------------------------------- responses

_BAN = re.compile(r"ban will last for (\d+) more seconds", re.I)
#: Seconds added to a ban before the slot sends again.
BAN_MARGIN = 1.0


def ban_seconds(sub_msg: str | None) -> float | None:
    match = _BAN.search(sub_msg or "")
    if not match:
        return None
    return min(float(match.group(1)[:9]), fields.MAX_RETRY_AFTER) + BAN_MARGIN


def classify(code: str, sub_code: str | None) -> ErrorClass:
    sub_code = sub_code or ""
    if code in ("4", "5", "6", "7", "8", "ApiCallLimit") or sub_code.startswith("accesscontrol."):
        return ErrorClass.RATE_LIMITED
    if code in (
        "25",
        "27",
        "29",
        "IncompleteSignature",
        "InvalidSignature",
        "InvalidAppKey",
        "IllegalAccessToken",
    ):
        return ErrorClass.AUTH
    if code in ("31", "InvalidTimestamp"):
        return ErrorClass.CLOCK
    if code == "10" or sub_code.startswith("isp."):
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT  # 40/41, isv.*, and anything undocumented


def _resp_code(value: Any) -> int | None:
    """``resp_code`` as an integer (``200``, ``"200"``, ``"200.0"``); ``None`` if not one."""
    try:
        return fields.integer(value, "resp_code")
    except fields.FieldError:
        pass
    try:
        number = fields.decimal(value, "resp_code")
    except fields.FieldError:
        return None
    return int(number) if number is not None and number == number.to_integral_value() else None


def _shape(message: str) -> ApiError:
    return ApiError(NAME, ErrorClass.PERMANENT, "shape", message)


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    """The ``result`` of a successful answer, or a classified :class:`ApiError` (nothing
    else: a body that is not JSON is retryable, an unexpected shape permanent)."""
    envelope = load_json(NAME, status, body, fields.retry_after_seconds(headers.get("retry-after")))
    if not isinstance(envelope, dict):
        kind = ErrorClass.RETRYABLE if status >= 500 else ErrorClass.PERMANENT
        raise ApiError(NAME, kind, f"HTTP {status}", "envelope is not an object")
    if "error_response" in envelope:
        err = envelope["error_response"]
        if not isinstance(err, dict):
            raise _shape("error_response: not an object")
        code, sub_code = text_of(err.get("code"), 64), text_of(err.get("sub_code"), 128)
        sub_msg = text_of(err.get("sub_msg"))
        message = " / ".join(x for x in (text_of(err.get("msg")), sub_code, sub_msg) if x)
        raise ApiError(NAME, classify(code, sub_code), code, message, ban_seconds(sub_msg))
    # the new gateway's shape
    if "code" in envelope and text_of(envelope.get("code"), 64) != "0" and "type" in envelope:
        code = text_of(envelope["code"], 64)
        raise ApiError(NAME, classify(code, None), code, text_of(envelope.get("message")))
    if status >= 500 or status == 429:
        raise ApiError(
            NAME,
            ErrorClass.RETRYABLE if status >= 500 else ErrorClass.RATE_LIMITED,
            f"HTTP {status}",
            "",
            fields.retry_after_seconds(headers.get("retry-after")),
        )
    response = envelope.get("aliexpress_affiliate_productdetail_get_response")
    result = response.get("resp_result") if isinstance(response, dict) else None
    if not isinstance(result, dict):
        raise _shape("no resp_result in the answer")
    raw_code = result.get("resp_code")
    resp_code = 0 if fields.absent(raw_code) else _resp_code(raw_code)
    if resp_code != 200:
        kind = {401: ErrorClass.AUTH, 404: ErrorClass.RETRYABLE}.get(
            resp_code or 0, ErrorClass.PERMANENT
        )
        code = str(resp_code) if resp_code is not None else text_of(raw_code, 64)
        raise ApiError(NAME, kind, code, text_of(result.get("resp_msg")))
    data = result.get("result")
    if fields.absent(data):
        return {}
    if not isinstance(data, dict):
        raise _shape("resp_result.result: not an object")
    return data


def products(result: Any) -> list[Any]:
    """``products.product`` or ``products`` directly (both occur in JSON), the entries
    exactly as received: the caller judges each one (an entry that is not an object with
    a ``product_id`` is a record dead letter). :class:`ApiError` when the list is not one."""
    if not isinstance(result, dict):
        raise _shape("result: not an object")
    listed = result.get("products")
    if isinstance(listed, dict):
        listed = listed.get("product")
        if isinstance(listed, dict):  # XML-shaped JSON with a single product
            listed = [listed]
    if fields.absent(listed):
        return []
    if not isinstance(listed, list):
        raise _shape("result.products: not a list")
    return list(listed)


# --------------------------------------------------------------------------- normalization


def _decimal(record: dict[str, Any], key: str, percent: bool = False) -> Decimal | None:
    if percent:
        return fields.percentage(record.get(key), key)
    return fields.decimal(record.get(key), key)


def _currency(record: dict[str, Any], key: str) -> str | None:
    value = fields.text(record.get(f"{key}_currency"), f"{key}_currency", max_length=16)
    return value.strip().upper() or None if value else None


def _prices(record: dict[str, Any], name: str) -> list[tuple[str, Decimal, str | None]]:
    """``(key, value, currency)`` of ``target_<name>`` then ``<name>``, those present."""
    found = []
    for key in (f"target_{name}", name):
        value = _decimal(record, key)
        if value is not None:
            found.append((key, value, _currency(record, key)))
    return found


def _list_price(
    record: dict[str, Any], currency: str | None
) -> tuple[Decimal | None, dict[str, Any] | None]:
    """The list price in the sale price's *currency*, and a note when one was given only
    in another currency (an answer asked in EUR may carry the list price in USD alone):
    the product keeps its sale price; the list price is left out, noted in ``extra``."""
    offered = _prices(record, "original_price")
    for _key, value, its_currency in offered:
        if currency is None or its_currency in (None, currency):
            return value, None
    key, value, its_currency = offered[0] if offered else (None, None, None)
    if key is None:
        return None, None
    return None, {
        "key": key,
        "value": str(value),
        "currency": its_currency,
        "reason": f"currency {its_currency} differs from the sale price's {currency}",
    }


def to_product(record: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one product of an answer to product-schema fields;
    :class:`~harvester.apis.fields.FieldError` names the field path that is wrong."""
    record = fields.mapping(record, "product")
    product_id = fields.identifier(record.get("product_id"), "product_id")
    sale = _prices(record, "sale_price")
    price, currency = (sale[0][1], sale[0][2]) if sale else (None, None)
    original, dropped = _list_price(record, currency)
    smalls = record.get("product_small_image_urls")
    if isinstance(smalls, dict):  # XML-shaped JSON: {"string": [...]}
        smalls = smalls.get("string")
    smalls = fields.sequence(smalls, "product_small_image_urls")
    candidates = [("product_main_image_url", record.get("product_main_image_url"))] + [
        (f"product_small_image_urls[{i}]", url) for i, url in enumerate(smalls)
    ]
    images = [url for path, raw in candidates if (url := fields.https_url(raw, path))]
    category_ids = [
        fields.integer(record.get(f"{lvl}_level_category_id"), f"{lvl}_level_category_id")
        for lvl in ("first", "second")
    ]
    category_names = [
        fields.text(record.get(f"{lvl}_level_category_name"), f"{lvl}_level_category_name")
        for lvl in ("first", "second")
    ]
    extra = {
        "sale_price": record.get("sale_price"),
        "sale_price_currency": record.get("sale_price_currency"),
        "app_sale_price": record.get("target_app_sale_price") or record.get("app_sale_price"),
        "app_sale_price_currency": record.get("target_app_sale_price_currency")
        or record.get("app_sale_price_currency"),
        "discount": record.get("discount"),
        "hot_product_commission_rate": record.get("hot_product_commission_rate"),
        "relevant_market_commission_rate": record.get("relevant_market_commission_rate"),
        "platform_product_type": record.get("platform_product_type"),
        "promotion_link": record.get("promotion_link"),
        "video_url": record.get("product_video_url"),
        "promo_code_info": record.get("promo_code_info"),
    }
    if dropped is not None:
        extra["original_price_dropped"] = dropped
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": fields.text(record.get("product_title"), "product_title"),
        "price": price,
        "price_raw": None if price is None else str(price),
        "currency": currency,
        "original_price": original,
        "image_url": images[0] if images else None,
        "images": list(dict.fromkeys(images)),
        "shop_id": fields.optional_id(record.get("shop_id"), "shop_id"),
        "shop_url": fields.https_url(record.get("shop_url"), "shop_url"),
        "category_ids": [cid for cid in category_ids if cid is not None],
        "category_names": [name for name in category_names if name],
        "volume": fields.count(record.get("lastest_volume"), "lastest_volume"),
        "commission_rate": _decimal(record, "commission_rate", percent=True),
        "rating": _decimal(record, "evaluate_rate", percent=True),
        "url": fields.https_url(record.get("product_detail_url"), "product_detail_url"),
        "extra": extra,
    }
