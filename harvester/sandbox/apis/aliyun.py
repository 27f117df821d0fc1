"""Alibaba Cloud ``GetProductInfoByIds`` (``POST /?<common params>`` + form body).

Checks ``AccessKeyId``, ``Timestamp`` (15 min), ``SignatureNonce`` reuse and the
RPC v1 ``Signature`` exactly as :mod:`harvester.apis.aliyun` computes it, then
``Action``, ``Version``, ``ItemIds`` (≤ 40) and ``Pid``. Gateway errors answer
with Alibaba Cloud's ``{RequestId, HostId, Code, Message, Recommend}`` and the
matching HTTP status; success with the docs' camelCase JSON. Known item ids:
``GET /_sandbox/taobao_items``; any other id is simply absent from ``auctions``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from harvester.apis import aliyun as api
from harvester.sandbox import credentials
from harvester.sandbox.catalog import _rng, taobao_item, taobao_item_ids
from harvester.sandbox.server import SandboxResponse

if TYPE_CHECKING:
    from harvester.sandbox.server import SandboxApp, SandboxRequest

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
}


def error(code: str, message: str | None, request: SandboxRequest | None = None) -> SandboxResponse:
    status, default = ERRORS.get(code, (400, "error"))
    return SandboxResponse(
        status,
        {"RequestId": str(uuid.uuid4()).upper(), "HostId": "imagesearch.cn-shanghai.aliyuncs.com",
         "Code": code, "Message": message or default, "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}"},
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


def get_product_info(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    params = {**request.query, **(request.form() if request.body else {})}
    given = params.get("Signature")
    if not given or not params.get("SignatureNonce") or not params.get("Timestamp"):
        return error("IncompleteSignature", None)
    if params.get("AccessKeyId") != credentials.get("ALIYUN_ACCESS_KEY_ID"):
        return error("InvalidAccessKeyId.NotFound", None)
    try:
        stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return error("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
    if abs(stamp - time.time()) > 15 * 60:
        return error("InvalidTimeStamp.Expired", None)
    if api.signature(request.method, params, credentials.get("ALIYUN_ACCESS_KEY_SECRET")) != given:
        return error("SignatureDoesNotMatch", None)
    if not app.aliyun_nonces.use(params["SignatureNonce"]):  # type: ignore[attr-defined]
        return error("SignatureNonceUsed", None)
    if params.get("Action") != api.ACTION or params.get("Version") != api.VERSION:
        return error("InvalidApi.NotFound", None)
    if not params.get("ItemIds"):
        return error("MissingItemIds", None)
    if not params.get("Pid"):
        return error("MissingPid", None)
    ids = [i.strip() for i in params["ItemIds"].split(",") if i.strip()]
    if len(ids) > api.MAX_BATCH:
        return error("InvalidParameter", f"ItemIds accepts at most {api.MAX_BATCH} ids, got {len(ids)}.")
    known = app.taobao_ids  # type: ignore[attr-defined]
    auctions = [
        {"rankScore": round(_rng(app.catalog.seed, "rank", i).random(), 4), "result": taobao_item(app.catalog.seed, i)}
        for i in ids if i in known
    ]
    return SandboxResponse(
        200, {"code": 0, "data": {"auctions": auctions}, "requestId": str(uuid.uuid4()).upper(), "success": True}
    )


def known_items(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    return SandboxResponse(200, {"itemIds": sorted(app.taobao_ids)})  # type: ignore[attr-defined]


def register(app: SandboxApp) -> None:
    app.aliyun_nonces = _Nonces()  # type: ignore[attr-defined]
    app.taobao_ids = frozenset(taobao_item_ids(app.catalog.seed))  # type: ignore[attr-defined]
    app.route("POST", api.PATH, NAME, get_product_info)
    app.route("GET", "/_sandbox/taobao_items", "_sandbox", known_items)
    app.error_builders[NAME] = error
    app.throttle_builders[NAME] = lambda request: error("Throttling.User", None, request)
    app.credential_of[NAME] = lambda request: request.query.get("AccessKeyId", "")
