"""Alibaba Cloud RPC v1 signing and the business parameters of one call.

Signing as the official SDK (``aliyun-python-sdk-core``) does for a POST RPC call;
see ``shared/protocols.md``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from harvester.apis.aliyun.spec import (
    ACTION,
    COMMON_PARAMS,
    MAX_BATCH,
    PATH,
    TIMESTAMP_FORMAT,
    VERSION,
)
from harvester.apis.base import Signed, Unsigned

# --------------------------------------------------------------------------- signing (RPC v1)


def percent_encode(value: str) -> str:
    """RFC 3986 in UTF-8: ``A-Z a-z 0-9 - _ . ~`` as is, everything else ``%XY``
    (space → ``%20``, not ``+``; ``*`` → ``%2A``; ``~`` stays)."""
    return quote(str(value), safe="-_.~")


def canonical_query(params: dict[str, str]) -> str:
    """Sorted by name, each name and value percent-encoded, joined with ``&``."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(method: str, params: dict[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(method: str, params: dict[str, str], secret: str) -> str:
    """``Base64(HMAC-SHA1(key=secret + "&", StringToSign))``.

    Over every parameter but ``Signature``.
    """
    params = {k: v for k, v in params.items() if k != "Signature"}
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def common_params(access_key_id: str, now: float, nonce: str | None = None) -> dict[str, str]:
    """The common parameters for a call sent at *now* (epoch seconds)."""
    return {
        "Action": ACTION,
        "Format": "JSON",
        "Version": VERSION,
        "AccessKeyId": access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or str(uuid.uuid4()),
        "Timestamp": datetime.fromtimestamp(now, UTC).strftime(TIMESTAMP_FORMAT),
    }


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Sign *request* for *now*, as the official SDK does for a POST RPC call:
    common parameters + ``Signature`` in the query string, business parameters
    left in the form body, the signature over the union with method ``POST``.

    Every call gets a fresh ``SignatureNonce`` (uuid4) and UTC ``Timestamp``; the
    common parameters of an earlier signing (a retry) are replaced, any other
    query parameter is kept and signed.
    """
    parts = urlsplit(request.url)
    kept = _other_params(parts.query)
    business = (
        parse_qsl(request.body.decode("utf-8"), keep_blank_values=True) if request.body else []
    )
    common = common_params(config["ALIYUN_ACCESS_KEY_ID"], now)
    signed = {**dict(kept), **dict(business), **common}
    query = [
        *common.items(),
        *kept,
        ("Signature", signature(request.method, signed, config["ALIYUN_ACCESS_KEY_SECRET"])),
    ]
    return Signed(
        headers={},
        url=urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="-_.~"))),
    )


def unsigned_url(url: str) -> str:
    """*url* without the parameters :func:`sign` added (for storing beside records)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(_other_params(parts.query))))


def _other_params(query: str) -> list[tuple[str, str]]:
    """Parameters of *query* that :func:`sign` does not set."""
    return [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in COMMON_PARAMS]


# --------------------------------------------------------------------------- requests


class RequestParts(NamedTuple):
    """One call: ``POST {base}{path}`` with *form* as its form-encoded body (unsigned)."""

    method: str
    path: str
    form: dict[str, str]


def batches(ids: list[str], size: int = MAX_BATCH) -> list[list[str]]:
    """*ids* in order, cut into lists of at most *size* (≤ 40)."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH}, got {size}")
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def batch_request_parts(item_ids: list[str], pid: str, fields: str | None = None) -> RequestParts:
    """The business parameters of one call for up to 40 *item_ids*."""
    if not 1 <= len(item_ids) <= MAX_BATCH:
        raise ValueError(f"ItemIds takes 1 to {MAX_BATCH} ids, got {len(item_ids)}")
    form = {"ItemIds": ",".join(item_ids), "Pid": pid}
    if fields:
        form["Fields"] = fields
    return RequestParts("POST", PATH, form)
