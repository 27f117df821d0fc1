"""AliExpress affiliate ``aliexpress.affiliate.productdetail.get`` (TOP-style gateway).

``POST {base}/sync?{system params}`` with the application parameters
form-encoded in the body, ``sign`` over the union — as the
``python-aliexpress-api`` client (which embeds the platform's SDK) sends it.
Sources: ``shared/api-docs/aliexpress-affiliate-productdetail-get.txt``, protocols.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned, https_url

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
    return float(match.group(1)) + BAN_MARGIN if match else None


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


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    try:
        envelope = json.loads(body)
    except ValueError:
        kind = ErrorClass.RETRYABLE if status >= 500 else ErrorClass.PERMANENT
        raise ApiError(NAME, kind, f"HTTP {status}", "response is not JSON") from None
    if not isinstance(envelope, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, f"HTTP {status}", "envelope is not an object")
    if "error_response" in envelope:
        err = envelope["error_response"] or {}
        code, sub_code = str(err.get("code")), err.get("sub_code")
        message = " / ".join(str(x) for x in (err.get("msg"), sub_code, err.get("sub_msg")) if x)
        raise ApiError(
            NAME, classify(code, sub_code), code, message, ban_seconds(err.get("sub_msg"))
        )
    # the new gateway's shape
    if "code" in envelope and str(envelope.get("code")) != "0" and "type" in envelope:
        code = str(envelope["code"])
        raise ApiError(NAME, classify(code, None), code, str(envelope.get("message") or ""))
    if status >= 500 or status == 429:
        raise ApiError(
            NAME,
            ErrorClass.RETRYABLE if status >= 500 else ErrorClass.RATE_LIMITED,
            f"HTTP {status}",
            "",
        )
    result = (envelope.get("aliexpress_affiliate_productdetail_get_response") or {}).get(
        "resp_result"
    )
    if not isinstance(result, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "no resp_result in the answer")
    resp_code = int(result.get("resp_code") or 0)
    if resp_code != 200:
        kind = {401: ErrorClass.AUTH, 404: ErrorClass.RETRYABLE}.get(
            resp_code, ErrorClass.PERMANENT
        )
        raise ApiError(NAME, kind, str(resp_code), str(result.get("resp_msg") or ""))
    return result.get("result") or {}


def products(result: dict[str, Any]) -> list[dict[str, Any]]:
    """``products.product`` or ``products`` directly (both occur in JSON)."""
    listed = result.get("products") or []
    if isinstance(listed, dict):
        listed = listed.get("product") or []
    return list(listed)


# --------------------------------------------------------------------------- normalization


def _decimal(record: dict[str, Any], key: str) -> Decimal | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise ValueError(f"{key}: not a number: {value!r}") from None


def _price(record: dict[str, Any], name: str) -> tuple[Decimal | None, str | None]:
    """The target-currency price when present, else the original one, with its currency."""
    for key in (f"target_{name}", name):
        value = _decimal(record, key)
        if value is not None:
            return value, record.get(f"{key}_currency")
    return None, None


def to_product(record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    if record.get("product_id") in (None, ""):
        raise ValueError("product_id: missing")
    price, currency = _price(record, "sale_price")
    original, original_currency = _price(record, "original_price")
    if original is not None and currency and original_currency != currency:
        raise ValueError(
            f"original_price: currency {original_currency} differs from sale price's {currency}"
        )
    smalls = record.get("product_small_image_urls") or []
    if isinstance(smalls, dict):  # XML-shaped JSON: {"string": [...]}
        smalls = smalls.get("string") or []
    images = [url for url in map(https_url, [record.get("product_main_image_url"), *smalls]) if url]
    categories = [
        (record.get(f"{lvl}_level_category_id"), record.get(f"{lvl}_level_category_name"))
        for lvl in ("first", "second")
    ]
    return {
        "source": SOURCE,
        "product_id": str(record["product_id"]),
        "title": record.get("product_title"),
        "price": price,
        "price_raw": None if price is None else str(price),
        "currency": currency,
        "original_price": original,
        "image_url": images[0] if images else None,
        "images": list(dict.fromkeys(images)),
        "shop_id": None if record.get("shop_id") is None else str(record["shop_id"]),
        "shop_url": https_url(record.get("shop_url")),
        "category_ids": [int(cid) for cid, _ in categories if cid not in (None, "")],
        "category_names": [name for _, name in categories if name],
        "volume": record.get("lastest_volume"),
        "commission_rate": _decimal(record, "commission_rate"),
        "rating": _decimal(record, "evaluate_rate"),
        "url": https_url(record.get("product_detail_url")),
        "extra": {
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
        },
    }
