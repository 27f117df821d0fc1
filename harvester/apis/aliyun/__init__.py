"""Alibaba Cloud ``GetProductInfoByIds`` (Image Search, Taobao-affiliate edition).

RPC-style API at ``POST /``: the common parameters and ``Signature`` travel in the
query string, the business parameters (``ItemIds``, ``Pid``, ``Fields``) in a
form-encoded body, and the signature covers the union of both with method
``POST`` — as the official SDK (``aliyun-python-sdk-core``) sends it.
Sources: ``shared/api-docs/aliyun-taobao-union-get-product-info-by-ids.txt`` (the
spec) and ``shared/protocols.md`` (signing, errors, limits).

Record shape: one element of ``data.auctions`` exactly as the API sent it,
``{"rankScore": 0.98, "result": {...}}`` — that is the ``ApiRecord.payload`` the
spider yields and what :func:`to_product` maps. Keys are read case-insensitively
(the docs' table is PascalCase, their JSON example camelCase).

The provider is split along its seams: :mod:`.spec` (identity, limits, settings),
:mod:`.calls` (signing, request parameters), :mod:`.answers` (envelope, error classes),
:mod:`.records` (record → product fields); this package re-exports their public names.
"""

from __future__ import annotations

from harvester.apis.aliyun.answers import (
    Auction,
    check_response,
    ci,
    classify_code,
    input_item_id,
    parse_auctions,
)
from harvester.apis.aliyun.calls import (
    RequestParts,
    batch_request_parts,
    batches,
    canonical_query,
    common_params,
    percent_encode,
    sign,
    signature,
    string_to_sign,
    unsigned_url,
)
from harvester.apis.aliyun.records import (
    item_page_url,
    to_product,
)
from harvester.apis.aliyun.spec import (
    ACTION,
    AUTH_PARAMS,
    BASE_URL_SETTING,
    COMMON_PARAMS,
    CREDENTIAL_SETTINGS,
    CURRENCY,
    DEFAULT_BASE_URL,
    DEFAULT_QPS,
    MAX_BATCH,
    NAME,
    PATH,
    SECRET_SETTINGS,
    SOURCE,
    TIMESTAMP_FORMAT,
    TIMESTAMP_TOLERANCE_S,
    VERSION,
)

__all__ = [
    "ACTION",
    "AUTH_PARAMS",
    "Auction",
    "BASE_URL_SETTING",
    "COMMON_PARAMS",
    "CREDENTIAL_SETTINGS",
    "CURRENCY",
    "DEFAULT_BASE_URL",
    "DEFAULT_QPS",
    "MAX_BATCH",
    "NAME",
    "PATH",
    "RequestParts",
    "SECRET_SETTINGS",
    "SOURCE",
    "TIMESTAMP_FORMAT",
    "TIMESTAMP_TOLERANCE_S",
    "VERSION",
    "batch_request_parts",
    "batches",
    "canonical_query",
    "check_response",
    "ci",
    "classify_code",
    "common_params",
    "input_item_id",
    "item_page_url",
    "parse_auctions",
    "percent_encode",
    "sign",
    "signature",
    "string_to_sign",
    "to_product",
    "unsigned_url",
]
