"""vv-tool ``1688get-commodity``: full 1688 product detail (SKUs, price tiers, images).

``POST {base}/tool/erps/1688get-commodity`` with ``Authorization: Bearer <token>``
and a JSON body ``{shop_id, product_id, web_site?, scene?}``; envelope
``{code, msg, msec, time, data}``. Sources: ``shared/api-docs/vvtool-1688-get-commodity.txt``
and protocols.md. Every call is billed, even for a missing item.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned

NAME = "vvtool"
#: The marketplace: a vv-tool detail enriches the same row as a PandaPon store walk.
SOURCE = "1688"
CURRENCY = "CNY"
DEFAULT_BASE_URL = "http://api.vv-tool.com"
BASE_URL_SETTING = "VVTOOL_BASE_URL"
CREDENTIAL_SETTINGS = ["VVTOOL_TOKEN"]
SECRET_SETTINGS = ["VVTOOL_TOKEN"]
PATH = "/tool/erps/1688get-commodity"
#: "频率限制: 10 次/秒" (the docs).
DEFAULT_QPS = 10.0
AUTH_PARAMS: tuple[str, ...] = ()
IMAGE_BASE = "https://cbu01.alicdn.com/"
WEB_SITES = ("1688", "alibaba")
SCENES = ("lst", "1688")

#: code → (class, what it means), from the docs' 响应代码 table and protocols.md.
CODES: dict[int, tuple[ErrorClass, str]] = {
    100: (ErrorClass.PERMANENT, "bad request parameters (or no such product)"),
    101: (ErrorClass.RETRYABLE, "request timed out, retry"),
    103: (ErrorClass.PERMANENT, "the Wangwang account (shop_id) does not exist"),
    200: (ErrorClass.RETRYABLE, "vv-tool system error"),
    203: (ErrorClass.PERMANENT, "this API is not supported"),
    204: (ErrorClass.QUOTA, "no permission for this API or call quota exhausted: open the API / top up calls on vv-tool"),
    302: (ErrorClass.PERMANENT, "the shop has not authorized vv-tool: have it scan the authorization link"),
}


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    return Signed(headers={"Authorization": f"Bearer {config['VVTOOL_TOKEN']}"})


def body(shop_id: str, product_id: str | int, web_site: str | None = None, scene: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"shop_id": shop_id, "product_id": int(product_id)}
    if web_site:
        data["web_site"] = web_site
    if scene:
        data["scene"] = scene
    return data


def token_request_form(client_id: str, client_secret: str) -> dict[str, str]:
    """Form of ``POST {base}/api/proxy/oauth/token``. Fetching a token invalidates the
    previous one (protocols.md): only do it when asked to, and keep the result."""
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}


def parse_token(body_bytes: bytes) -> str:
    answer = json.loads(body_bytes)
    if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
        answer = answer["data"]
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not token:
        raise ValueError("token answer has no access_token")
    return str(token)


def check_response(status: int, headers: dict[str, str], body_bytes: bytes) -> Any:
    if status == 429 or status >= 500:
        kind = ErrorClass.RATE_LIMITED if status == 429 else ErrorClass.RETRYABLE
        retry_after = headers.get("retry-after")
        raise ApiError(NAME, kind, f"HTTP {status}", "vv-tool is busy",
                       float(retry_after) if retry_after and retry_after.isdigit() else None)
    try:
        envelope = json.loads(body_bytes)
    except ValueError:
        raise ApiError(NAME, ErrorClass.PERMANENT, f"HTTP {status}", "response is not JSON") from None
    if status in (401, 403):
        raise ApiError(NAME, ErrorClass.AUTH, f"HTTP {status}", str(envelope.get("msg") if isinstance(envelope, dict) else "")
                       or "token rejected: check VVTOOL_TOKEN")
    if not isinstance(envelope, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, f"HTTP {status}", "envelope is not an object")
    try:
        code = int(envelope.get("code"))
    except (TypeError, ValueError):
        raise ApiError(NAME, ErrorClass.PERMANENT, str(envelope.get("code")), "envelope has no numeric code") from None
    if code == 0:
        data = envelope.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("product_info"), dict):
            raise ApiError(NAME, ErrorClass.PERMANENT, "0", "data.product_info missing")
        return data
    error_class, meaning = CODES.get(code, (ErrorClass.PERMANENT, "undocumented code"))
    raise ApiError(NAME, error_class, str(code), f"{envelope.get('msg') or ''} — {meaning}")


# --------------------------------------------------------------------------- normalization


def money(value: Any, path: str) -> Decimal | None:
    """Prices arrive as int or float: read their decimal text, never do float arithmetic."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{path}: not a number: {value!r}") from None


def image(path: Any) -> str | None:
    if not path:
        return None
    path = str(path)
    if path.startswith("//"):
        return "https:" + path
    if path.startswith(("http://", "https://")):
        return "https://" + path.split("://", 1)[1]
    return IMAGE_BASE + path.lstrip("/")


def parse_time(value: Any) -> str | None:
    """``20181216141253000+0800`` → ISO 8601 (``2018-12-16T14:12:53+08:00``)."""
    if not value:
        return None
    text = str(value)
    try:
        return datetime.strptime(text[:14] + text[17:], "%Y%m%d%H%M%S%z").isoformat()
    except ValueError:
        return text


def to_product(record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    info = record.get("product_info") or {}
    if info.get("product_id") in (None, ""):
        raise ValueError("product_info.product_id: missing")
    product_id = str(info["product_id"])
    sale = info.get("sale_info") or {}
    tiers = [
        {"start_quantity": int(tier["start_quantity"]),
         "price": money(tier.get("price"), f"sale_info.price_ranges[{i}].price"), "currency": CURRENCY}
        for i, tier in enumerate(sale.get("price_ranges") or [])
    ]
    skus = []
    for i, sku in enumerate(info.get("sku_infos") or []):
        attributes = {a.get("attribute_name") or str(a.get("attribute_id")): a.get("attribute_value")
                      for a in sku.get("attributes") or []}
        image_url = next((image(a.get("sku_image_url")) for a in sku.get("attributes") or [] if a.get("sku_image_url")), None)
        price = money(sku.get("price"), f"sku_infos[{i}].price") or money(sku.get("consign_price"), f"sku_infos[{i}].consign_price")
        skus.append({
            "sku_id": str(sku.get("sku_id") or sku.get("spec_id")), "spec_id": sku.get("spec_id"),
            "attributes": attributes, "price": price, "currency": CURRENCY if price is not None else None,
            "stock": sku.get("amount_on_sale"), "image_url": image_url,
        })
    images = [url for url in (image(p) for p in (info.get("image") or {}).get("images") or []) if url]
    tier_prices = [t["price"] for t in tiers if t["price"] is not None]
    price = min(tier_prices) if tier_prices else money(sale.get("consign_price"), "sale_info.consign_price")
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": info.get("subject"),
        "price": price,
        "price_raw": None if price is None else str(price),
        "currency": CURRENCY if price is not None else None,
        "image_url": images[0] if images else None,
        "images": images,
        "seller_id": context.get("seller_id"),
        "shop_id": context.get("shop_id") or info.get("supplier_login_id"),
        "category_ids": [int(info["category_id"])] if info.get("category_id") else [],
        "category_names": [info["category_name"]] if info.get("category_name") else [],
        "stock": sale.get("amount_on_sale"),
        "available": info.get("status") == "published" if info.get("status") else None,
        "url": f"https://detail.1688.com/offer/{product_id}.html",
        "skus": skus,
        "price_tiers": tiers,
        "extra": {
            "status": info.get("status"),
            "product_type": info.get("product_type"),
            "attributes": {a.get("attribute_name"): a.get("value") for a in info.get("attributes") or []},
            "min_order_quantity": sale.get("min_order_quantity"),
            "unit": sale.get("unit"),
            "quote_type": sale.get("quote_type"),
            "quality_level": info.get("quality_level"),
            "cargo_number": info.get("product_cargo_number"),
            "create_time": parse_time(info.get("create_time") or record.get("create_time")),
            "last_update_time": parse_time(info.get("last_update_time") or record.get("last_update_time")),
            "withholding_money": record.get("withholding_money"),
        },
    }
