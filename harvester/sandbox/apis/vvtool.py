"""vv-tool ``1688get-commodity`` over the 1688 catalog.

``shop_id`` is a store's Wangwang login id (``sandbox-shop-<n>``, see
``/_sandbox/stores``); ``product_id`` one of that store's offers. The answer is
the docs' shape, built from the same offer a PandaPon store walk returns (same
id, subject and price; three price tiers from the offer's price; 1–4 SKUs).
Choices where the docs are silent: a wrong token answers HTTP 401 ``{code: 401}``;
an unknown product or a product of another shop answers code 100; store
``sandbox-shop-1`` has not authorized vv-tool (code 302); an unknown shop is 103.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harvester.apis import vvtool as api
from harvester.sandbox import credentials
from harvester.sandbox.catalog import _rng
from harvester.sandbox.server import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.catalog import Offer
    from harvester.sandbox.server import SandboxApp, SandboxRequest

NAME = api.NAME
BASE_URL_VARIABLE = api.BASE_URL_SETTING
CREDENTIAL_DEFAULTS = {"VVTOOL_TOKEN": "sandbox-vvtool-token"}
UNAUTHORIZED_SHOP = "sandbox-shop-1"
MESSAGES = {
    100: "请求参数错误", 101: "请求超时,请重试", 103: "旺旺账号不存在", 200: "系统错误,请联系客服",
    203: "暂不支持当前接口", 204: "请求异常:API 调用次数不足,请前往网站兑换次数。", 302: "未授权店铺",
}


def envelope(code: int, msg: str, data: Any = None, status: int = 200) -> SandboxResponse:
    return SandboxResponse(status, {"code": code, "msg": msg, "msec": 12, "time": int(time.time()), "data": data})


def error(code: str, message: str | None, request: SandboxRequest | None = None) -> SandboxResponse:
    number = int(code)
    data = {"auth_url": "https://www.vv-tool.com/auth?platform=1688"} if number == 302 else None
    return envelope(number, message or MESSAGES.get(number, "error"), data)


def _stamp(rng: Any, year: int) -> str:
    return f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}000+0800"


def product_info(seed: int, offer: Offer, login_id: str) -> dict[str, Any]:
    rng = _rng(seed, "vvtool", offer.offer_id)
    price = offer.price
    tiers = [(rng.choice([1, 2, 3]), price), (50, (price * Decimal("0.95")).quantize(Decimal("0.01"))),
             (500, (price * Decimal("0.9")).quantize(Decimal("0.01")))]
    colors = rng.sample(["清新蓝", "樱花粉", "象牙白", "墨黑色", "薄荷绿"], rng.randint(1, 4))
    images = [f"img/ibank/2026/{rng.randrange(100, 999)}/{rng.randrange(10**10)}_{offer.offer_id}.jpg" for _ in range(rng.randint(2, 6))]
    stock = rng.randrange(0, 5000)
    created = _stamp(rng, rng.randint(2018, 2024))
    return {
        "product_id": offer.offer_id,
        "product_type": "wholesale",
        "category_id": offer.categories[2],
        "category_name": offer.subject_trans.split(" ")[-1],
        "attributes": [{"attribute_id": 2176, "attribute_name": "品牌", "value": "其他", "is_custom": False}],
        "status": "published" if offer.listed else "expired",
        "subject": offer.subject,
        "description": offer.subject,
        "language": "chinese",
        "biz_type": 1,
        "image": {"images": images},
        "sku_infos": [
            {
                "attributes": [
                    {"attribute_id": 3216, "attribute_value": color, "sku_image_url": images[i % len(images)],
                     "attribute_display_name": "颜色", "attribute_name": "颜色"},
                ],
                "cargo_number": "",
                "amount_on_sale": stock // len(colors),
                "sku_code": str(offer.offer_id * 10 + i),
                "sku_id": offer.offer_id * 10 + i,
                "spec_id": f"{rng.getrandbits(128):032x}",
                "consign_price": float(price),
            }
            for i, color in enumerate(colors)
        ],
        "sale_info": {
            "support_online_trade": True, "mix_whole_sale": False, "sale_type": "normal", "price_auth": False,
            "price_ranges": [{"start_quantity": q, "price": float(p)} for q, p in tiers],
            "amount_on_sale": stock, "unit": "件", "min_order_quantity": tiers[0][0], "quote_type": 2,
            "consign_price": float(price),
        },
        "shipping_info": {"freight_template_id": 0},
        "quality_level": rng.randint(0, 5),
        "supplier_login_id": login_id,
        "create_time": created,
        "last_update_time": created,
        "expire_time": "20361215124625000+0800",
    }


def get_commodity(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    if request.headers.get("authorization", "") != f"Bearer {credentials.get('VVTOOL_TOKEN')}":
        return envelope(401, "授权失败: access_token 无效", status=401)
    try:
        body = request.json()
        shop_id, product_id = str(body["shop_id"]), int(body["product_id"])
    except (ValueError, KeyError, TypeError):
        return error("100", "请求参数错误: shop_id 和 product_id 必填")
    if body.get("web_site") not in (None, *api.WEB_SITES) or body.get("scene") not in (None, *api.SCENES):
        return error("100", "请求参数错误: web_site / scene")
    stores = {store.login_id: store for store in app.catalog.stores}
    store = stores.get(shop_id)
    if store is None:
        return error("103", None)
    if shop_id == UNAUTHORIZED_SHOP:
        return error("302", None)
    offer = app.catalog.offers.get(product_id)
    if offer is None or app.catalog.stores[offer.store_index] is not store:
        return error("100", "请求参数错误: 商品不存在")
    data = {"product_info": product_info(app.catalog.seed, offer, shop_id), "withholding_money": 1,
            "create_time": product_info(app.catalog.seed, offer, shop_id)["create_time"]}
    return envelope(0, "操作成功", data)


def register(app: SandboxApp) -> None:
    app.route("POST", api.PATH, NAME, get_commodity)
    app.error_builders[NAME] = error
    # vv-tool documents no throttle answer: the sandbox uses HTTP 429 with code 101.
    app.throttle_builders[NAME] = lambda request: envelope(101, "请求过于频繁,请重试", status=429)
    app.credential_of[NAME] = lambda request: request.headers.get("authorization", "")
