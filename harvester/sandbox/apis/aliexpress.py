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
from typing import TYPE_CHECKING

from harvester.apis import aliexpress as api
from harvester.sandbox import credentials
from harvester.sandbox.catalog import aliexpress_product, aliexpress_product_ids
from harvester.sandbox.server import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.server import SandboxApp, SandboxRequest

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
    if params.get("app_key") != credentials.get("ALIEXPRESS_APP_KEY"):
        return error("29", None)
    if not _timestamp_ok(params.get("timestamp", "")):
        return error("31", None)
    method = params.get("sign_method", "md5")
    try:
        expected = api.sign_params(params, credentials.get("ALIEXPRESS_APP_SECRET"), method)
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
