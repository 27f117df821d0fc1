"""PandaPon OpenAPI for 1688: store listing and related items.

Everything the project knows about PandaPon lives in this package as pure functions,
split along its seams: :mod:`.spec` (endpoints, limits, settings), :mod:`.calls`
(header signing, request bodies), :mod:`.answers` (envelope, error classes, paging,
price bands), :mod:`.records` (an offer → product fields); this package re-exports
their public names.

Sources: ``shared/api-docs/pandapon-1688-*.txt`` (the spec) and
``shared/protocols.md`` (signing, paging, limits).
"""

from __future__ import annotations

from harvester.apis.pandapon.answers import (
    MAX_PAGES,
    MAX_RECORDS,
    StorePage,
    check_response,
    classify,
    is_last_related_page,
    needs_split,
    parse_envelope,
    parse_related_page,
    parse_store_page,
    split_band,
)
from harvester.apis.pandapon.calls import (
    StoreQuery,
    new_nonce,
    related_body,
    sign,
    sign_headers,
    signature,
    sort_param,
)
from harvester.apis.pandapon.records import (
    offer_url,
    percent,
    to_product,
)
from harvester.apis.pandapon.spec import (
    AUTH_HEADERS,
    AUTH_PARAMS,
    BASE_URL_SETTING,
    CREDENTIAL_SETTINGS,
    CURRENCY,
    DEFAULT_BASE_URL,
    DEFAULT_PAGE_SIZE,
    DEFAULT_QPS,
    NAME,
    OPTION_SETTINGS,
    RELATED_PATH,
    SEARCH_WINDOW,
    SECRET_SETTINGS,
    SORT_FIELDS,
    SOURCE,
    STORE_PATH,
    SUCCESS_CODE,
    TIMESTAMP_TOLERANCE_S,
    TIMESTAMP_UNIT_SETTING,
)

__all__ = [
    "AUTH_HEADERS",
    "AUTH_PARAMS",
    "BASE_URL_SETTING",
    "CREDENTIAL_SETTINGS",
    "CURRENCY",
    "DEFAULT_BASE_URL",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_QPS",
    "MAX_PAGES",
    "MAX_RECORDS",
    "NAME",
    "OPTION_SETTINGS",
    "RELATED_PATH",
    "SEARCH_WINDOW",
    "SECRET_SETTINGS",
    "SORT_FIELDS",
    "SOURCE",
    "STORE_PATH",
    "SUCCESS_CODE",
    "StorePage",
    "StoreQuery",
    "TIMESTAMP_TOLERANCE_S",
    "TIMESTAMP_UNIT_SETTING",
    "check_response",
    "classify",
    "is_last_related_page",
    "needs_split",
    "new_nonce",
    "offer_url",
    "parse_envelope",
    "parse_related_page",
    "parse_store_page",
    "percent",
    "related_body",
    "sign",
    "sign_headers",
    "signature",
    "sort_param",
    "split_band",
    "to_product",
]
