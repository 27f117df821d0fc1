"""AliExpress ``aliexpress.affiliate.productdetail.get`` on a TOP-style gateway (``POST /sync``).

System parameters in the query string, application parameters in the form
body (all in the body is accepted too). Checks ``app_key`` (29), ``timestamp``
within 10 minutes (31; epoch ms or ``yyyy-MM-dd HH:mm:ss`` GMT+8), ``sign``
for md5 / hmac-sha256 / sha256 (25), ``method`` (22) and ``product_ids`` (40 missing,
isv.invalid-parameter over the batch maximum). Known ids: ``GET /_sandbox/aliexpress_products``;
unknown ids are absent from the answer. Prices convert at fixed rates.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harvester.apis import aliexpress as api
from harvester.sandbox import credentials
from harvester.sandbox.catalog import WORDS, seeded_rng
from harvester.sandbox.messages import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.messages import SandboxRequest
    from harvester.sandbox.server import SandboxApp

NAME = api.NAME
BASE_URL_VARIABLE = api.BASE_URL_SETTING
CREDENTIAL_DEFAULTS = {
    "ALIEXPRESS_APP_KEY": "12345678",
    "ALIEXPRESS_APP_SECRET": "sandbox-aliexpress-secret",
    "ALIEXPRESS_TRACKING_ID": "sandbox-tracking",
}
ERRORS = {
    "7": (
        "App Call Limited",
        "accesscontrol.limited-by-api-access-count",
        "This ban will last for 1 more seconds",
    ),
    "10": ("Service Currently Unavailable", "isp.service-unavailable", None),
    "15": ("Remote service error", "isp.remote-service-error", "remote service timeout"),
    "22": ("Invalid Method", None, None),
    "25": ("Invalid signature", None, None),
    "29": ("Invalid app Key", None, None),
    "31": ("Invalid timestamp", None, None),
    "40": ("Missing required arguments", "isv.missing-parameter", "product_ids"),
    "41": ("Invalid arguments", "isv.invalid-parameter", None),
    "50": ("Remote service error", "isv.invalid-parameter", "非法参数"),
}


def error(code: str, message: str | None, request: SandboxRequest | None = None) -> SandboxResponse:
    msg, sub_code, sub_msg = ERRORS.get(code, ("Remote service error", None, None))
    body: dict[str, object] = {"code": int(code), "msg": msg, "request_id": uuid.uuid4().hex[:13]}
    if sub_code:
        body["sub_code"] = sub_code
    if message or sub_msg:
        body["sub_msg"] = message or sub_msg
    return SandboxResponse(200, {"error_response": body})


def _timestamp_ok(value: str) -> bool:
    try:
        stamp = (
            int(value) / 1000
            if value.isdigit()
            else datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            .replace(tzinfo=timezone(timedelta(hours=8)))
            .timestamp()
        )
    except ValueError:
        return False
    return abs(stamp - time.time()) <= 600


def productdetail(
    app: SandboxApp, request: SandboxRequest, known_ids: frozenset[str]
) -> SandboxResponse:
    params = {**request.query, **(request.form() if request.body else {})}
    if params.get("app_key") != credentials.get("ALIEXPRESS_APP_KEY", CREDENTIAL_DEFAULTS):
        return error("29", None)
    if not _timestamp_ok(params.get("timestamp", "")):
        return error("31", None)
    method = params.get("sign_method", "md5")
    try:
        expected = api.sign_params(
            params, credentials.get("ALIEXPRESS_APP_SECRET", CREDENTIAL_DEFAULTS), method
        )
    except ValueError:
        return error("25", None)
    if params.get("sign", "").upper() != expected:
        return error("25", None)
    if params.get("method") != api.METHOD:
        return error("22", None)
    ids = [i.strip() for i in params.get("product_ids", "").split(",") if i.strip()]
    if not ids:
        return error("40", None)
    if len(ids) > api.MAX_BATCH:
        return error("50", f"product_ids accepts at most {api.MAX_BATCH} ids")
    currency = params.get("target_currency") or "USD"
    products = [aliexpress_product(app.catalog.seed, i, currency) for i in ids if i in known_ids]
    return SandboxResponse(
        200,
        {
            "aliexpress_affiliate_productdetail_get_response": {
                "resp_result": {
                    "resp_code": 200,
                    "resp_msg": "success",
                    "result": {
                        "current_record_count": len(products),
                        "products": {"product": products},
                    },
                },
                "request_id": uuid.uuid4().hex[:13],
            }
        },
    )


def register(app: SandboxApp) -> None:
    known_ids = frozenset(aliexpress_product_ids(app.catalog.seed))
    app.route("POST", api.PATH, NAME, lambda app, request: productdetail(app, request, known_ids))
    app.route(
        "GET",
        "/_sandbox/aliexpress_products",
        "_sandbox",
        lambda app, request: SandboxResponse(200, {"productIds": sorted(known_ids)}),
    )
    app.error_builders[NAME] = error
    app.throttle_builders[NAME] = lambda request: error("7", None, request)
    app.credential_of[NAME] = lambda request: request.query.get("app_key", "")


# --------------------------------------------------------------------------- the products

ALIEXPRESS_PRODUCTS = 500
USD_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CAD": Decimal("1.36"),
    "AUD": Decimal("1.52"),
    "JPY": Decimal("151"),
    "KRW": Decimal("1370"),
    "BRL": Decimal("5.1"),
    "RUB": Decimal("92"),
    "MXN": Decimal("17"),
    "INR": Decimal("83"),
    "TRY": Decimal("32"),
    "UAH": Decimal("39"),
    "IDR": Decimal("15800"),
    "SEK": Decimal("10.6"),
}


def aliexpress_product_ids(seed: int) -> list[str]:
    """Ids of the AliExpress products the sandbox knows."""
    rng = seeded_rng(seed, "aliexpress")
    return sorted(
        {
            str(rng.randrange(1_005_000_000_000_000, 1_005_009_999_999_999))
            for _ in range(ALIEXPRESS_PRODUCTS)
        }
    )


def aliexpress_product(seed: int, product_id: str, currency: str = "USD") -> dict[str, Any]:
    """One product in ``productdetail.get``'s documented fields (prices as strings)."""
    rng = seeded_rng(seed, "aliexpress", product_id)
    words = rng.sample(WORDS, rng.randint(3, 6))
    original = Decimal(str(round(10 ** rng.uniform(0, 2.5), 2))).quantize(Decimal("0.01"))
    discount = rng.choice([0, 10, 25, 50])
    sale = (original * (100 - discount) / 100).quantize(Decimal("0.01"))
    rate = USD_RATES.get(currency, Decimal("1"))
    image = f"https://ae01.alicdn.com/kf/S{rng.getrandbits(64):016x}.jpg"
    shop = rng.randrange(100_000, 9_999_999)
    return {
        "app_sale_price": str(sale),
        "app_sale_price_currency": "USD",
        "commission_rate": f"{rng.choice([3, 3.5, 5, 7, 9])}%",
        "discount": f"{discount}%",
        "evaluate_rate": f"{rng.uniform(80, 100):.2f}%",
        "first_level_category_id": 200000345,
        "first_level_category_name": "Women's Clothing",
        "lastest_volume": int(rng.expovariate(1 / 300)),
        "hot_product_commission_rate": "0%",
        "original_price": str(original),
        "original_price_currency": "USD",
        "platform_product_type": rng.choice(["ALL", "PLAZA", "TMALL"]),
        "product_detail_url": f"https://www.aliexpress.com/item/{product_id}.html",
        "product_id": int(product_id),
        "product_main_image_url": image,
        "product_small_image_urls": {"string": [image]},
        "product_title": " ".join(en for _, en in words),
        "promotion_link": f"https://s.click.aliexpress.com/e/_{product_id[-8:]}",
        "sale_price": str(sale),
        "sale_price_currency": "USD",
        "second_level_category_id": 200000347,
        "second_level_category_name": "Dresses",
        "shop_id": shop,
        "shop_url": f"https://www.aliexpress.com/store/{shop}",
        "target_app_sale_price": str((sale * rate).quantize(Decimal("0.01"))),
        "target_app_sale_price_currency": currency,
        "target_original_price": str((original * rate).quantize(Decimal("0.01"))),
        "target_original_price_currency": currency,
        "target_sale_price": str((sale * rate).quantize(Decimal("0.01"))),
        "target_sale_price_currency": currency,
        "relevant_market_commission_rate": "10%",
    }
