"""AliExpress answers: the gateway's error classes and bans, the envelope, the products."""

from __future__ import annotations

import re
from typing import Any

from harvester.apis import fields
from harvester.apis.aliexpress.spec import NAME
from harvester.apis.base import ApiError, ErrorClass, envelope_code, load_json, retry_after, text_of

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
    code = envelope_code(value, "resp_code")
    if code is not None:
        return code
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
    envelope = load_json(NAME, status, body, retry_after(headers))
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
            retry_after(headers),
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
