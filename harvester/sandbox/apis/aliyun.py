"""Alibaba Cloud ``GetProductInfoByIds`` (``POST /?<common params>`` + form body).

Takes the parameters from the query string and the form body together (as the
SDK splits them; all in the body works too) and checks them in the gateway's
order: ``Signature``/``SignatureNonce``/``Timestamp`` present
(``IncompleteSignature``), ``AccessKeyId`` (``InvalidAccessKeyId.NotFound``),
``Timestamp`` within 15 min (``InvalidTimeStamp.Expired``), the RPC v1
``Signature`` (``SignatureDoesNotMatch``), nonce reuse among the last 100 000
(``SignatureNonceUsed``), ``Action``/``Version`` (``InvalidApi.NotFound``), then
``ItemIds`` (``MissingItemIds``; more than 40: ``InvalidParameter``) and ``Pid``
(``MissingPid``). Errors answer with ``{RequestId, HostId, Code, Message,
Recommend}`` and the gateway's HTTP status; success with the docs' camelCase JSON.

Catalog: 500 Taobao items derived from the seed (``GET /_sandbox/taobao_items``
lists their ids); about half carry a dynamic ``itemId`` that differs from
``inputItemId``, some have coupons. Any other id is simply absent from ``auctions``.
"""

from __future__ import annotations

import hmac
import string
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harvester.apis import aliyun as api
from harvester.sandbox import credentials
from harvester.sandbox.catalog import WORDS, seeded_rng
from harvester.sandbox.messages import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.messages import SandboxRequest
    from harvester.sandbox.server import SandboxApp

NAME = api.NAME
BASE_URL_VARIABLE = api.BASE_URL_SETTING
CREDENTIAL_DEFAULTS = {
    "ALIYUN_ACCESS_KEY_ID": "sandbox-aliyun-key-id",
    "ALIYUN_ACCESS_KEY_SECRET": "sandbox-aliyun-key-secret",
    "ALIYUN_PID": "mm_123_456_789",
}
#: Code → (HTTP status, message), as Alibaba Cloud's gateway answers them.
ERRORS = {
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "Throttling.Api": (400, "Request was denied due to api flow control."),
    "Throttling": (400, "Request was denied due to flow control."),
    "InternalError": (500, "The request processing has failed due to some unknown error."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "SignatureDoesNotMatch": (400, "Specified signature is not matched with our calculation."),
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidApi.NotFound": (404, "Specified api is not found, please check your url and method."),
    "MissingItemIds": (400, "ItemIds is mandatory for this action."),
    "MissingPid": (400, "Pid is mandatory for this action."),
    "InvalidParameter": (400, "The specified parameter is not valid."),
    "InvalidAccessKeyId.Inactive": (400, "Specified access key is disabled."),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "Forbidden.RAM": (
        403,
        "User not authorized to operate on the specified resource, "
        "or this API doesn't support RAM.",
    ),
    "Forbidden": (403, "User not authorized to operate on the specified resource."),
}


def error(code: str, message: str | None, request: SandboxRequest | None = None) -> SandboxResponse:
    """The gateway's error answer for *code*, with its HTTP status (unknown codes: 400)."""
    status, default = ERRORS.get(code, (500 if code.startswith("Internal") else 400, "error"))
    return SandboxResponse(
        status,
        {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": "imagesearch.cn-shanghai.aliyuncs.com",
            "Code": code,
            "Message": message or default,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
        },
    )


class _Nonces:
    """Recently used ``SignatureNonce`` values (the gateway rejects a reuse)."""

    def __init__(self, size: int = 100_000) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.size = size
        self.lock = threading.Lock()

    def use(self, nonce: str) -> bool:
        with self.lock:
            if nonce in self.seen:
                return False
            self.seen[nonce] = None
            if len(self.seen) > self.size:
                self.seen.popitem(last=False)
            return True


class TaobaoItems:
    """The sandbox's Taobao items (derived from the catalog seed) and the used nonces."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.ids = frozenset(taobao_item_ids(seed))
        self.nonces = _Nonces()

    def auction(self, item_id: str) -> dict[str, Any] | None:
        """The docs' auction shape for *item_id*; ``None`` for an id the catalog does not know."""
        if item_id not in self.ids:
            return None
        return {
            "rankScore": round(seeded_rng(self.seed, "rank", item_id).random(), 4),
            "result": taobao_item(self.seed, item_id),
        }


def params_of(request: SandboxRequest) -> dict[str, str]:
    """Query string and form body together (the SDK splits them; all in the body works too)."""
    return {**request.query, **(request.form() if request.body else {})}


def check_signed(params: dict[str, str], method: str, nonces: _Nonces) -> SandboxResponse | None:
    """The gateway's checks, in its order; ``None`` when the call may proceed."""
    given = params.get("Signature")
    if not given or not params.get("SignatureNonce") or not params.get("Timestamp"):
        return error("IncompleteSignature", None)
    secret = credentials.secret_for(
        "ALIYUN_ACCESS_KEY_ID",
        params.get("AccessKeyId"),
        "ALIYUN_ACCESS_KEY_SECRET",
        CREDENTIAL_DEFAULTS,
    )
    if secret is None:  # the sandbox's credential, or one of the pool's
        return error("InvalidAccessKeyId.NotFound", None)
    try:
        stamp = (
            datetime.strptime(params["Timestamp"], api.TIMESTAMP_FORMAT)
            .replace(tzinfo=UTC)
            .timestamp()
        )
    except ValueError:
        return error("InvalidTimeStamp.Format", None)
    if abs(stamp - time.time()) > api.TIMESTAMP_TOLERANCE_S:
        return error("InvalidTimeStamp.Expired", None)
    expected = api.signature(method, params, secret)
    if not hmac.compare_digest(expected, given):
        return error("SignatureDoesNotMatch", None)
    # After the signature, so that a forged call cannot burn a nonce.
    if not nonces.use(params["SignatureNonce"]):
        return error("SignatureNonceUsed", None)
    if params.get("Action") != api.ACTION or params.get("Version") != api.VERSION:
        return error("InvalidApi.NotFound", None)
    return None


def get_product_info(items: TaobaoItems, request: SandboxRequest) -> SandboxResponse:
    params = params_of(request)
    rejected = check_signed(params, request.method, items.nonces)
    if rejected is not None:
        return rejected
    if not params.get("ItemIds"):
        return error("MissingItemIds", None)
    if not params.get("Pid"):
        return error("MissingPid", None)
    ids = list(dict.fromkeys(i.strip() for i in params["ItemIds"].split(",") if i.strip()))
    if len(ids) > api.MAX_BATCH:
        return error(
            "InvalidParameter", f"ItemIds accepts at most {api.MAX_BATCH} ids, got {len(ids)}."
        )
    auctions = [auction for auction in map(items.auction, ids) if auction is not None]
    return SandboxResponse(
        200,
        {
            "code": 0,
            "data": {"auctions": auctions},
            "requestId": str(uuid.uuid4()).upper(),
            "success": True,
        },
    )


def register(app: SandboxApp) -> None:
    items = TaobaoItems(app.catalog.seed)
    app.route("POST", api.PATH, NAME, lambda app, request: get_product_info(items, request))
    app.route(
        "GET",
        "/_sandbox/taobao_items",
        "_sandbox",
        lambda app, request: SandboxResponse(200, {"itemIds": sorted(items.ids)}),
    )
    app.error_builders[NAME] = error
    app.throttle_builders[NAME] = lambda request: error("Throttling.User", None, request)
    app.credential_of[NAME] = lambda request: params_of(request).get("AccessKeyId", "")


# --------------------------------------------------------------------------- the items

TAOBAO_ITEMS = 500
_TAOBAO_CATEGORIES = [
    ("USB风扇", "3C数码配件"),
    ("手机壳", "3C数码配件"),
    ("发饰", "饰品/流行首饰/时尚饰品新"),
    ("保温杯", "厨房/烹饪用具"),
]


def taobao_item_ids(seed: int) -> list[str]:
    """Ids of the Taobao items the sandbox knows (any other id is unknown)."""
    rng = seeded_rng(seed, "taobao")
    return sorted(
        {str(rng.randrange(520_000_000_000, 800_000_000_000)) for _ in range(TAOBAO_ITEMS)}
    )


def taobao_item(seed: int, item_id: str) -> dict[str, Any]:
    """One Taobao affiliate item in ``GetProductInfoByIds``'s camelCase result shape."""
    rng = seeded_rng(seed, "taobao", item_id)
    words = rng.sample(WORDS, rng.randint(3, 6))
    reserve = Decimal(str(round(10 ** rng.uniform(0.5, 3.2), 1)))
    final = (reserve * Decimal(str(rng.choice([1, 0.9, 0.8, 0.5])))).quantize(Decimal("0.1"))
    coupon = rng.choice([0, 0, 2, 5, 10])
    seller = str(rng.randrange(10_000_000, 3_000_000_000_000))
    tmall = rng.random() < 0.4
    shop = f"{words[0][0]}{'旗舰店' if tmall else '小店'}"
    dynamic = rng.random() < 0.5
    result: dict[str, Any] = {
        "itemId": ("Oqz93k" + "".join(rng.choice(string.ascii_letters) for _ in range(30)))
        if dynamic
        else item_id,
        "inputItemId": item_id,
        "title": "".join(cn for cn, _ in words),
        "shortTitle": "".join(cn for cn, _ in words[:2]),
        "subTitle": "".join(cn for cn, _ in words[1:3]),
        "picUrl": (
            f"//img.alicdn.com/i{rng.randint(1, 4)}/{item_id}/O1CN01{rng.randrange(10**9)}.jpg"
        ),
        "reservePrice": str(reserve),
        "zkFinalPrice": str(final),
        "userType": 1 if tmall else 0,
        "provcity": rng.choice(["广东 深圳", "浙江 杭州", "浙江 义乌", "江苏 苏州"]),
        "nick": shop,
        "sellerId": seller,
        "shopTitle": shop,
        # (leaf, top level) pairs, as in the docs' example ("USB风扇" under "3C数码配件").
        **dict(
            zip(
                ("categoryName", "levelOneCategoryName"),
                rng.choice(_TAOBAO_CATEGORIES),
                strict=True,
            )
        ),
        "volume": int(rng.expovariate(1 / 500)),
        "commissionRate": str(rng.choice([90, 150, 180, 300, 1550])),
        "url": f"//s.click.taobao.com/t?e={item_id}",
        "maxCommission": {"maxCommissionRate": f"{rng.choice([0.9, 1.5, 20.4]):.2f}"},
    }
    if coupon:
        result.update(
            couponAmount=coupon,
            couponInfo=f"满{coupon * 5}.0元减{coupon}.0元",
            couponStartFee=f"{coupon * 5}.000000",
            couponStartTime="2026-11-01",
            couponEndTime="2026-12-31",
            couponTotalCount="100000",
            couponRemainCount=rng.randrange(100000),
            couponShareUrl=f"//uland.taobao.com/coupon/edetail?e={item_id}",
            priceAfterCoupon=str(max(final - coupon, Decimal("0.1"))),
        )
    else:
        result["priceAfterCoupon"] = str(final)
    return result


#: Fixed conversion rates of the sandbox (USD → target currency).
