"""vv-tool answers: the documented codes and their classes, the envelope."""

from __future__ import annotations

from typing import Any

from harvester.apis.base import ApiError, ErrorClass, envelope_code, load_json, retry_after, text_of
from harvester.apis.vvtool.spec import NAME, SUCCESS_CODE, UNAUTHORIZED_SHOP_CODE

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
            retry_after(headers),
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
    code = envelope_code(envelope.get("code"))
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
