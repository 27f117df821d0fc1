"""vv-tool ``1688get-commodity``: full 1688 product detail (SKUs, price tiers, images).

``POST {base}/tool/erps/1688get-commodity`` with ``Authorization: Bearer <token>``
and a JSON body ``{shop_id, product_id, web_site?, scene?}``; envelope
``{code, msg, msec, time, data}``, success ``code == 0``. Sources:
``shared/api-docs/vvtool-1688-get-commodity.txt`` and protocols.md. Every call is
billed (``withholding_money``), even for a missing item.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.base import ApiError, ErrorClass, Signed, Unsigned, load_json, text_of
from harvester.apis.pandapon import offer_url

NAME = "vvtool"
#: The marketplace: a vv-tool detail enriches the same row as a PandaPon store walk.
SOURCE = "1688"
CURRENCY = "CNY"
DEFAULT_BASE_URL = "http://api.vv-tool.com"
BASE_URL_SETTING = "VVTOOL_BASE_URL"
CREDENTIAL_SETTINGS = ["VVTOOL_TOKEN"]
SECRET_SETTINGS = ["VVTOOL_TOKEN"]
PATH = "/tool/erps/1688get-commodity"
#: Token call (protocols.md). Never made automatically: a new token invalidates the old one.
TOKEN_PATH = "/api/proxy/oauth/token"
#: "频率限制: 10 次/秒" (the docs).
DEFAULT_QPS = 10.0
#: No auth in the query string: the token travels in the ``Authorization`` header,
#: which Scrapy's fingerprint does not cover.
AUTH_PARAMS: tuple[str, ...] = ()
IMAGE_BASE = "https://cbu01.alicdn.com/"
WEB_SITES = ("1688", "alibaba")
SCENES = ("lst", "1688")
SUCCESS_CODE = 0
#: The docs' code for a shop that has not authorized vv-tool.
UNAUTHORIZED_SHOP_CODE = 302
#: Codes that refuse the shop itself, whatever the product: every further call for that
#: shop would fail the same way (and be billed). Code → what the shop is, for the log.
SHOP_REFUSED = {
    "302": "has not authorized vv-tool: have the shop authorize it (link below), then run again",
    "103": "is not a known Wangwang account: check -a shop_id",
}

#: code → (class, what it means and what to do), from the docs' 响应代码 table and protocols.md.
CODES: dict[int, tuple[ErrorClass, str]] = {
    100: (
        ErrorClass.PERMANENT,
        "bad request parameters (or no such product for this shop); not retried",
    ),
    101: (ErrorClass.RETRYABLE, "vv-tool timed out; retrying"),
    103: (
        ErrorClass.PERMANENT,
        "the Wangwang account given as shop_id does not exist; check -a shop_id",
    ),
    200: (ErrorClass.RETRYABLE, "vv-tool system error; retrying a few times"),
    203: (ErrorClass.PERMANENT, "vv-tool does not support this API at the moment"),
    204: (
        ErrorClass.QUOTA,
        "no permission for this API, or the call quota is exhausted: "
        "open the API or top up calls on vv-tool",
    ),
    302: (
        ErrorClass.PERMANENT,
        "the shop has not authorized vv-tool: have it scan the authorization link",
    ),
}


# --------------------------------------------------------------------------- requests


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Bearer token; no timestamp, so signing at send time only sets the header."""
    return Signed(headers={"Authorization": f"Bearer {config['VVTOOL_TOKEN']}"})


def body(
    shop_id: str, product_id: str | int, web_site: str | None = None, scene: str | None = None
) -> dict[str, Any]:
    """The JSON body of one call; ``ValueError`` names the bad argument."""
    if not shop_id:
        raise ValueError("shop_id: missing")
    if not str(product_id).isdigit():
        raise ValueError(f"product_id: not numeric: {product_id!r}")
    if web_site not in (None, *WEB_SITES):
        raise ValueError(f"web_site: must be one of {', '.join(WEB_SITES)}, got {web_site!r}")
    if scene not in (None, *SCENES):
        raise ValueError(f"scene: must be one of {', '.join(SCENES)}, got {scene!r}")
    data: dict[str, Any] = {"shop_id": shop_id, "product_id": int(product_id)}
    if web_site:
        data["web_site"] = web_site
    if scene:
        data["scene"] = scene
    return data


def token_request_form(client_id: str, client_secret: str) -> dict[str, str]:
    """Form of ``POST {base}{TOKEN_PATH}``. Fetching a token invalidates the previous
    one (protocols.md): only do it when asked to, and keep the result."""
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
    }


def parse_token(body_bytes: bytes) -> str:
    """``access_token`` of a token answer, bare or wrapped in ``{code: 0, data: {...}}``."""
    answer = json.loads(body_bytes)
    if isinstance(answer, dict) and answer.get("code") not in (None, 0, "0"):
        raise ValueError(f"token call refused: code {answer.get('code')}: {answer.get('msg')}")
    if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
        answer = answer["data"]
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not token:
        raise ValueError("token answer has no access_token")
    return str(token)


# --------------------------------------------------------------------------- responses


def _auth_link(data: Any) -> str | None:
    """The authorization link a 302 answer carries (its field name is not documented)."""
    if isinstance(data, str) and data.startswith("http"):
        return data
    if isinstance(data, dict):
        return next(
            (str(v) for v in data.values() if isinstance(v, str) and v.startswith("http")), None
        )
    return None


def check_response(status: int, headers: dict[str, str], body_bytes: bytes) -> Any:
    """Return ``data`` of a successful answer or raise a classified :class:`ApiError`
    (and nothing else: a body that is not JSON is retryable)."""
    if status == 429 or status >= 500:
        kind = ErrorClass.RATE_LIMITED if status == 429 else ErrorClass.RETRYABLE
        raise ApiError(
            NAME,
            kind,
            f"HTTP {status}",
            "vv-tool is busy or failing; retrying",
            fields.retry_after_seconds(headers.get("retry-after")),
        )
    envelope = load_json(NAME, status, body_bytes)
    msg = text_of(envelope.get("msg")) if isinstance(envelope, dict) else ""
    if status in (401, 403):
        raise ApiError(
            NAME,
            ErrorClass.AUTH,
            f"HTTP {status}",
            f"{msg} — token rejected: check VVTOOL_TOKEN "
            "(a newly generated token invalidates the old one)",
        )
    if not isinstance(envelope, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, f"HTTP {status}", "envelope is not an object")
    try:
        code = fields.integer(envelope.get("code"), "code")
    except fields.FieldError:
        code = None
    if code is None:
        raise ApiError(
            NAME,
            ErrorClass.PERMANENT,
            text_of(envelope.get("code"), 32) or "shape",
            "envelope has no numeric code",
        )
    if code == SUCCESS_CODE:
        data = envelope.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("product_info"), dict):
            raise ApiError(NAME, ErrorClass.PERMANENT, "0", "data.product_info missing")
        return data
    error_class, meaning = CODES.get(code, (ErrorClass.PERMANENT, "undocumented code; not retried"))
    message = f"{msg} — {meaning}" if msg else meaning
    link = _auth_link(envelope.get("data")) if code == UNAUTHORIZED_SHOP_CODE else None
    raise ApiError(NAME, error_class, str(code), f"{message} ({link})" if link else message)


# --------------------------------------------------------------------------- normalization


def money(value: Any, path: str) -> Decimal | None:
    """Prices arrive as int or float: read their decimal text, never do float arithmetic."""
    return fields.decimal(value, path)


def image(path: Any, where: str = "image") -> str | None:
    """Relative image path → ``https://cbu01.alicdn.com/<path>``; absolute URLs as https."""
    return fields.https_url(path, where, base=IMAGE_BASE)


#: Without milliseconds first: ``%f`` would otherwise take the last digit of the seconds.
TIME_LAYOUTS = ("%Y%m%d%H%M%S%z", "%Y%m%d%H%M%S%f%z")
TIMES = (
    "create_time",
    "modify_time",
    "last_update_time",
    "approved_time",
    "last_repost_time",
    "expire_time",
)


def parse_time(value: Any) -> datetime | Any:
    """``20181216141253000+0800`` (milliseconds, UTC offset) → an aware datetime.

    A value of another shape is returned unchanged (kept in ``extra``): a date is not
    worth losing the record.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    text = str(value).strip()
    if len(text) > 32:
        return value
    for layout in TIME_LAYOUTS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return value


def _sku(sku: Any, path: str) -> dict[str, Any]:
    sku = fields.mapping(sku, path)
    raw_id = sku.get("sku_id")
    key = "sku_id" if not fields.absent(raw_id) else "spec_id"
    sku_id = fields.optional_id(sku.get(key), f"{path}.{key}")
    if sku_id is None:
        raise fields.FieldError(f"{path}.sku_id", "missing (and no spec_id)")
    attributes = [
        fields.mapping(a, f"{path}.attributes[{i}]")
        for i, a in enumerate(fields.sequence(sku.get("attributes"), f"{path}.attributes"))
    ]
    price = money(sku.get("price"), f"{path}.price")
    if price is None:
        price = money(sku.get("consign_price"), f"{path}.consign_price")
    names = {}
    for i, a in enumerate(attributes):
        name = a.get("attribute_name") or a.get("attribute_display_name") or a.get("attribute_id")
        where = f"{path}.attributes[{i}]"
        names[fields.text(name, f"{where}.attribute_name") or ""] = fields.text(
            a.get("attribute_value"), f"{where}.attribute_value"
        )
    image_url = next(
        (
            image(a["sku_image_url"], f"{path}.attributes[{i}].sku_image_url")
            for i, a in enumerate(attributes)
            if a.get("sku_image_url")
        ),
        None,
    )
    return {
        "sku_id": sku_id,
        "spec_id": fields.optional_id(sku.get("spec_id"), f"{path}.spec_id"),
        "attributes": names,
        "price": price,
        "currency": CURRENCY if price is not None else None,
        "stock": fields.count(sku.get("amount_on_sale"), f"{path}.amount_on_sale"),
        "image_url": image_url,
    }


def _times(info: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The product's dates (from product_info, else from the data level, where the docs
    repeat some), leaving out those absent."""
    times = {name: parse_time(info.get(name) or record.get(name)) for name in TIMES}
    return {name: value for name, value in times.items() if value is not None}


def _tiers(ranges: list[Any]) -> list[dict[str, Any]]:
    """Quantity breaks from the lowest start quantity up (``raw``: the price as received)."""
    tiers = []
    for i, tier in enumerate(ranges):
        path = f"product_info.sale_info.price_ranges[{i}]"
        tier = fields.mapping(tier, path)
        price = money(tier.get("price"), f"{path}.price")
        quantity = fields.integer(
            tier.get("start_quantity"), f"{path}.start_quantity", bounds=(1, fields.INT32[1])
        )
        if price is None or quantity is None:
            raise fields.FieldError(path, "start_quantity and price are required")
        tiers.append({"start_quantity": quantity, "price": price, "raw": tier.get("price")})
    return sorted(tiers, key=lambda t: t["start_quantity"])


def to_product(record: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one answer's ``data`` to product-schema fields.

    ``price`` is the price at the minimum order (the first quantity tier), as a
    1688 listing shows it, else the consign price, else the cheapest SKU;
    every tier is kept in ``price_tiers``. :class:`~harvester.apis.fields.FieldError`
    names the field path of a value that cannot be read.
    """
    record = fields.mapping(record, "data")
    info = fields.mapping(record.get("product_info"), "product_info")
    product_id = fields.identifier(info.get("product_id"), "product_info.product_id", digits=True)
    sale = fields.mapping(info.get("sale_info"), "product_info.sale_info")
    tiers = _tiers(fields.sequence(sale.get("price_ranges"), "product_info.sale_info.price_ranges"))
    skus = [
        _sku(sku, f"product_info.sku_infos[{i}]")
        for i, sku in enumerate(fields.sequence(info.get("sku_infos"), "product_info.sku_infos"))
    ]
    pictures = fields.mapping(info.get("image"), "product_info.image")
    images = [
        url
        for i, p in enumerate(fields.sequence(pictures.get("images"), "product_info.image.images"))
        if (url := image(p, f"product_info.image.images[{i}]"))
    ]
    if tiers:
        price, price_raw = tiers[0]["price"], tiers[0]["raw"]
    else:
        price_raw = sale.get("consign_price")
        price = money(price_raw, "product_info.sale_info.consign_price")
        if price is None and any(s["price"] is not None for s in skus):
            price = min(s["price"] for s in skus if s["price"] is not None)
            price_raw = str(price)
    category_id = fields.integer(info.get("category_id"), "product_info.category_id")
    category_name = fields.text(info.get("category_name"), "product_info.category_name")
    status = info.get("status")
    status = fields.text(status, "product_info.status") if status not in (None, "") else None
    withholding = record.get("withholding_money", info.get("withholding_money"))
    attributes = fields.sequence(info.get("attributes"), "product_info.attributes")
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": fields.text(info.get("subject"), "product_info.subject"),
        "price": price,
        "price_raw": fields.raw_text(price_raw, "price"),
        "currency": CURRENCY if price is not None else None,
        "image_url": images[0] if images else None,
        "images": images,
        "seller_id": fields.optional_id(context.get("seller_id"), "context.seller_id"),
        "shop_id": fields.optional_id(
            context.get("shop_id") or info.get("supplier_login_id"),
            "product_info.supplier_login_id",
        ),
        "category_ids": [category_id] if category_id else [],
        "category_names": [category_name] if category_name else [],
        "stock": fields.count(sale.get("amount_on_sale"), "product_info.sale_info.amount_on_sale"),
        "available": status == "published" if status else None,
        "url": offer_url(product_id),
        "skus": skus,
        "price_tiers": [
            {"start_quantity": t["start_quantity"], "price": t["price"], "currency": CURRENCY}
            for t in tiers
        ],
        "extra": {
            "status": status,
            "product_type": info.get("product_type"),
            "attributes": [
                {
                    "attribute_id": a.get("attribute_id"),
                    "name": a.get("attribute_name"),
                    "value": a.get("value"),
                }
                for a in (
                    fields.mapping(a, f"product_info.attributes[{i}]")
                    for i, a in enumerate(attributes)
                )
            ],
            "min_order_quantity": sale.get("min_order_quantity"),
            "unit": sale.get("unit"),
            "quote_type": sale.get("quote_type"),
            "quality_level": info.get("quality_level"),
            "supplier_login_id": info.get("supplier_login_id"),
            "cargo_number": info.get("product_cargo_number"),
            **_times(info, record),
            "withholding_money": money(withholding, "withholding_money"),
        },
    }
