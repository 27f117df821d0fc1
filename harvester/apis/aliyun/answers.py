"""Alibaba Cloud answers: the gateway's error classes, the envelope, ``Data.Auctions``."""

from __future__ import annotations

from typing import Any, NamedTuple

from harvester.apis import fields
from harvester.apis.aliyun.spec import NAME
from harvester.apis.base import ApiError, ErrorClass, load_json, retry_after, text_of


def ci(mapping: dict[str, Any], key: str, default: Any = None) -> Any:
    """Case-insensitive key lookup (the docs' table is PascalCase, their JSON camelCase)."""
    if not isinstance(mapping, dict):
        return default
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for name, value in mapping.items():
        if name.lower() == lowered:
            return value
    return default


_RETRYABLE = {"InternalError", "ServiceUnavailable", "SignatureNonceUsed"}
_AUTH = {
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
}


def classify_code(code: str, http_status: int) -> ErrorClass:
    """Class of a gateway error ``Code`` (protocols.md)."""
    if code.startswith("Throttling") or http_status == 429:  # Throttling, .User, .Api
        return ErrorClass.RATE_LIMITED
    if code in _RETRYABLE:  # SignatureNonceUsed: the retry is re-signed with a new nonce
        return ErrorClass.RETRYABLE
    if code == "InvalidTimeStamp.Expired":
        return ErrorClass.CLOCK
    if code in _AUTH or code.startswith("Forbidden"):
        return ErrorClass.AUTH
    if code.startswith(("Missing", "Invalid")):  # parameters, InvalidApi.NotFound
        return ErrorClass.PERMANENT
    if http_status >= 500:
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT


def check_response(status: int, headers: dict[str, str], body: bytes) -> Any:
    """Return ``Data`` of a successful answer, else raise a classified :class:`ApiError`.

    Gateway errors are HTTP 4xx/5xx with ``{RequestId, HostId, Code, Message,
    Recommend}``; a business failure is HTTP 200 with ``Success=false`` or
    ``Code != 0`` (permanent for those ids); a body that is not JSON is retryable.
    """
    envelope = load_json(NAME, status, body, retry_after(headers))
    if not isinstance(envelope, dict):
        kind = classify_code("", status) if status != 200 else ErrorClass.PERMANENT
        raise ApiError(NAME, kind, f"HTTP {status}", "envelope is not an object")
    message = text_of(ci(envelope, "Message"))
    if status != 200:
        code = text_of(ci(envelope, "Code"), 64) or f"HTTP {status}"
        raise ApiError(NAME, classify_code(code, status), code, message, retry_after(headers))
    success, code = ci(envelope, "Success"), ci(envelope, "Code")
    code_text = "0" if code is None else text_of(code, 64)
    if success is False or code_text not in ("0", "0.0"):
        raise ApiError(NAME, ErrorClass.PERMANENT, code_text, message or "request failed")
    data = ci(envelope, "Data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "Data: not an object")
    return data


class Auction(NamedTuple):
    """One answer element: the id asked for, its ``Result`` and ``RankScore``."""

    input_item_id: str | None
    result: dict[str, Any]
    rank_score: float | None

    def payload(self) -> dict[str, Any]:
        """The record as the spider stores it (the docs' auction shape)."""
        return {"rankScore": self.rank_score, "result": self.result}


def input_item_id(result: dict[str, Any]) -> str | None:
    """The id we asked for: ``InputItemId``; ``ItemId`` only when it is not a
    dynamic id (SDK ≥ 1.2.3 returns a dynamic ``ItemId``). ``None`` when neither is a
    usable id (not text or a number, or longer than 64 characters)."""
    value = ci(result, "InputItemId")
    if fields.absent(value):
        value = ci(result, "ItemId")
        if not isinstance(value, (str, int)) or not str(value).isdigit():
            return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        return fields.identifier(value, "result.InputItemId")
    except fields.FieldError:
        return None


def parse_auctions(data: Any) -> list[Auction]:
    """``Data.Auctions`` as ``(input_item_id, result, rank_score)`` tuples, one per entry
    in order; an entry that is not an object, or whose ``Result`` is not one, comes with
    ``result == {}`` and ``input_item_id is None`` (normalization dead-letters it with
    its path). :class:`ApiError` when ``Data`` or ``Data.Auctions`` has the wrong shape."""
    if not isinstance(data, dict):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "Data: not an object")
    auctions = ci(data, "Auctions")
    if auctions is None or auctions == "":
        auctions = []
    if not isinstance(auctions, list):
        raise ApiError(NAME, ErrorClass.PERMANENT, "shape", "Data.Auctions: not a list")
    parsed = []
    for auction in auctions:
        if not isinstance(auction, dict):
            parsed.append(Auction(None, {}, None))
            continue
        result = ci(auction, "Result")
        result = result if isinstance(result, dict) else {}
        parsed.append(Auction(input_item_id(result), result, ci(auction, "RankScore")))
    return parsed
