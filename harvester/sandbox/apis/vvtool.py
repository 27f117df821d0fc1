"""vv-tool ``1688get-commodity`` over the sandbox's 1688 catalog.

``POST /tool/erps/1688get-commodity`` with ``Authorization: Bearer <VVTOOL_TOKEN>``
and a JSON body ``{shop_id, product_id, web_site?, scene?}``. ``shop_id`` is a
store's Wangwang login id (``sandbox-shop-<store index>``, listed as ``loginId``
by ``/_sandbox/stores``); ``product_id`` one of that store's offers.

A success is the docs' shape, field for field: ``data.product_info`` is built
deterministically from the same offer a PandaPon store walk returns (same id,
subject and status; three quantity tiers whose first, at the minimum order, is
the offer's price, then 95 % from 50 units and 90 % from 500; 1–4 SKUs by
colour, some with a capacity too; 2–6 relative image paths; times like
``20181216141253000+0800``); prices are JSON ints when whole, floats otherwise,
as in the docs. ``data.withholding_money`` is 1 per call.

Choices where the docs are silent (the client must cope with each):

- wrong or missing token: HTTP 401 with ``{code: 401, msg: "授权失败: access_token 无效"}``;
- missing or malformed ``shop_id`` / ``product_id``, or ``web_site`` / ``scene``
  outside the documented values: code 100;
- ``shop_id`` that is no store's login id: code 103 (unknown Wangwang account);
- store ``sandbox-shop-1`` (the 1-offer store; the 7-offer store stays usable for
  enrichment) has not authorized vv-tool: code 302 "未授权店铺" with
  ``data.auth_url``, the link the shop must scan;
- a product that does not exist, or belongs to another shop: code 100 (billed);
- over the sandbox's rate limit (``--rate-limit vvtool``): HTTP 429 with code 101,
  vv-tool documents no throttle answer;
- quota: code 204 through faults (``sandbox.fault("vvtool", "error", code="204")``);
  ``error`` builds any code's envelope with the docs' message for it.

Every call past the token check is counted in the sandbox stats as ``vvtool/billed``
(vv-tool bills even a missing item).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from harvester.apis import vvtool as api
from harvester.sandbox import credentials
from harvester.sandbox.catalog import seeded_rng
from harvester.sandbox.messages import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.catalog import Offer
    from harvester.sandbox.messages import SandboxRequest
    from harvester.sandbox.server import SandboxApp

NAME = api.NAME
BASE_URL_VARIABLE = api.BASE_URL_SETTING
CREDENTIAL_DEFAULTS = {"VVTOOL_TOKEN": "sandbox-vvtool-token"}
UNAUTHORIZED_SHOP = "sandbox-shop-1"
AUTH_URL = "https://www.vv-tool.com/auth?platform=1688&shop_id={shop}"
#: The docs' 响应代码 descriptions.
MESSAGES = {
    100: "请求参数错误",
    101: "请求超时,请重试",
    103: "旺旺账号不存在",
    200: "系统错误,请联系客服",
    203: "暂不支持当前接口",
    204: "请求异常:API 调用次数不足,请前往网站兑换次数。",
    302: "未授权店铺",
}
_COLOURS = ["清新蓝", "樱花粉", "象牙白", "墨黑色", "薄荷绿"]
_CAPACITIES = ["350ml", "500ml", "750ml"]


def envelope(
    code: int, msg: str, data: Any = None, status: int = 200, msec: int = 12
) -> SandboxResponse:
    return SandboxResponse(
        status, {"code": code, "msg": msg, "msec": msec, "time": int(time.time()), "data": data}
    )


def error(code: str, message: str | None, request: SandboxRequest | None = None) -> SandboxResponse:
    """Any code's envelope (faults use it too); 302 carries the authorization link."""
    number = int(code)
    data = None
    if number == 302:
        shop = ""
        if request is not None:
            try:
                shop = str((request.json() or {}).get("shop_id") or "")
            except (ValueError, AttributeError):
                shop = ""
        data = {"auth_url": AUTH_URL.format(shop=quote(shop))}
    return envelope(number, message or MESSAGES.get(number, "error"), data)


def _number(value: Decimal) -> int | float:
    """A price as vv-tool sends it: an int when whole, else a float (the client reads its text)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _stamp(rng: Any, year: int) -> str:
    return (
        f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 23):02d}"
        f"{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}000+0800"
    )


def product_info(seed: int, offer: Offer, login_id: str) -> dict[str, Any]:
    """``data.product_info`` of *offer*, deterministic for (seed, offer id, current price)."""
    rng = seeded_rng(seed, "vvtool", offer.offer_id)
    price = offer.price
    cent = Decimal("0.01")
    minimum = rng.choice([1, 2, 3])
    tiers = [
        (minimum, price),
        (50, (price * Decimal("0.95")).quantize(cent)),
        (500, (price * Decimal("0.9")).quantize(cent)),
    ]
    colours = rng.sample(_COLOURS, rng.randint(1, 4))
    capacity = rng.choice([None, *_CAPACITIES])
    images = [
        f"img/ibank/2026/{rng.randrange(100, 999)}/{rng.randrange(10**10)}_{offer.offer_id}.jpg"
        for _ in range(rng.randint(2, 6))
    ]
    stock = rng.randrange(0, 5000)
    created = _stamp(rng, rng.randint(2018, 2024))
    modified = _stamp(rng, 2025)
    skus = []
    for i, colour in enumerate(colours):
        attributes = [
            {
                "attribute_id": 3216,
                "attribute_value": colour,
                "sku_image_url": images[i % len(images)],
                "attribute_display_name": "颜色",
                "attribute_name": "颜色",
            }
        ]
        if capacity:
            attributes.append(
                {
                    "attribute_id": 2340,
                    "attribute_value": capacity,
                    "attribute_display_name": "容量",
                    "attribute_name": "容量",
                }
            )
        skus.append(
            {
                "attributes": attributes,
                "cargo_number": "",
                "amount_on_sale": stock // len(colours) + (stock % len(colours) if i == 0 else 0),
                "sku_code": str(offer.offer_id * 10 + i),
                "sku_id": offer.offer_id * 10 + i,
                "spec_id": f"{rng.getrandbits(128):032x}",
                "consign_price": _number(price),
            }
        )
    return {
        "product_id": offer.offer_id,
        "product_type": "wholesale",
        "category_id": offer.categories[2],
        "category_name": offer.subject_trans.split(" ")[-1],
        "attributes": [
            {"attribute_id": 2176, "attribute_name": "品牌", "value": "其他", "is_custom": False},
            {"attribute_id": 7869, "attribute_name": "是否进口", "value": "否", "is_custom": False},
        ],
        "status": "published" if offer.listed else "expired",
        "subject": offer.subject,
        "description": offer.subject,
        "language": "chinese",
        "period_of_validity": 3650,
        "biz_type": 1,
        "picture_auth": False,
        "image": {"images": images},
        "sku_infos": skus,
        "sale_info": {
            "support_online_trade": True,
            "mix_whole_sale": False,
            "sale_type": "normal",
            "price_auth": False,
            "price_ranges": [{"start_quantity": q, "price": _number(p)} for q, p in tiers],
            "amount_on_sale": stock,
            "unit": "件",
            "min_order_quantity": minimum,
            "quote_type": 2,
            "consign_price": _number(price),
        },
        "shipping_info": {"freight_template_id": 0},
        "extend_infos": [{"key": "is_support_mix", "value": "false"}],
        "quality_level": rng.randint(0, 5),
        "supplier_login_id": login_id,
        "product_cargo_number": f"HH-{offer.offer_id % 10000:04d}",
        "create_time": created,
        "modify_time": modified,
        "last_update_time": modified,
        "expire_time": "20361215124625000+0800",
    }


def get_commodity(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    if (
        request.headers.get("authorization", "")
        != f"Bearer {credentials.get('VVTOOL_TOKEN', CREDENTIAL_DEFAULTS)}"
    ):
        return envelope(401, "授权失败: access_token 无效", status=401)
    app.count(f"{NAME}/billed")
    try:
        body = request.json()
        shop_id, product_id = body["shop_id"], int(body["product_id"])
    except (ValueError, KeyError, TypeError):
        return error("100", "请求参数错误: shop_id 和 product_id 必填, product_id 为整数")
    if not isinstance(shop_id, str) or not shop_id:
        return error("100", "请求参数错误: shop_id 必须是字符串")
    if body.get("web_site") not in (None, *api.WEB_SITES) or body.get("scene") not in (
        None,
        *api.SCENES,
    ):
        return error("100", "请求参数错误: web_site 取值 1688/alibaba, scene 取值 lst/1688")
    store = next((s for s in app.catalog.stores if s.login_id == shop_id), None)
    if store is None:
        return error("103", None)
    if shop_id == UNAUTHORIZED_SHOP:
        return error("302", None, request)
    offer = app.catalog.offers.get(product_id)
    if offer is None or app.catalog.stores[offer.store_index] is not store:
        return error("100", "请求参数错误: 商品不存在")
    info = product_info(app.catalog.seed, offer, shop_id)
    data = {
        "product_info": info,
        "create_time": info["create_time"],
        "last_update_time": info["last_update_time"],
        "expire_time": info["expire_time"],
        "withholding_money": 1,
    }
    return envelope(0, "操作成功", data)


def register(app: SandboxApp) -> None:
    app.route("POST", api.PATH, NAME, get_commodity)
    app.error_builders[NAME] = error
    # vv-tool documents no throttle answer: the sandbox answers HTTP 429 with code 101 (retry).
    app.throttle_builders[NAME] = lambda request: envelope(101, "请求过于频繁,请重试", status=429)
    app.credential_of[NAME] = lambda request: request.headers.get("authorization", "")
