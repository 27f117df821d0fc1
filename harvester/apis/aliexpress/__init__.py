"""AliExpress affiliate ``aliexpress.affiliate.productdetail.get`` (TOP-style gateway).

``POST {base}/sync?{system params}`` with the application parameters
form-encoded in the body, ``sign`` over the union — as the
``python-aliexpress-api`` client (which embeds the platform's SDK) sends it.
Sources: ``shared/api-docs/aliexpress-affiliate-productdetail-get.txt``, protocols.md.

The provider is split along its seams: :mod:`.spec` (endpoint, limits, settings),
:mod:`.calls` (signing, form), :mod:`.answers` (envelope, error classes, products),
:mod:`.records` (product → product fields); this package re-exports their public names.
"""

from __future__ import annotations

from harvester.apis.aliexpress.answers import (
    BAN_MARGIN,
    ban_seconds,
    check_response,
    classify,
    products,
)
from harvester.apis.aliexpress.calls import (
    batch_form,
    sign,
    sign_params,
    system_params,
)
from harvester.apis.aliexpress.records import (
    to_product,
)
from harvester.apis.aliexpress.spec import (
    AUTH_PARAMS,
    BASE_URL_SETTING,
    CREDENTIAL_SETTINGS,
    CURRENCIES,
    DEFAULT_BASE_URL,
    DEFAULT_BATCH,
    DEFAULT_QPS,
    LANGUAGES,
    MAX_BATCH,
    METHOD,
    NAME,
    OPTION_SETTINGS,
    PARTNER_ID,
    PATH,
    SECRET_SETTINGS,
    SIGN_METHOD_SETTING,
    SIGN_METHODS,
    SOURCE,
)

__all__ = [
    "AUTH_PARAMS",
    "BAN_MARGIN",
    "BASE_URL_SETTING",
    "CREDENTIAL_SETTINGS",
    "CURRENCIES",
    "DEFAULT_BASE_URL",
    "DEFAULT_BATCH",
    "DEFAULT_QPS",
    "LANGUAGES",
    "MAX_BATCH",
    "METHOD",
    "NAME",
    "OPTION_SETTINGS",
    "PARTNER_ID",
    "PATH",
    "SECRET_SETTINGS",
    "SIGN_METHODS",
    "SIGN_METHOD_SETTING",
    "SOURCE",
    "ban_seconds",
    "batch_form",
    "check_response",
    "classify",
    "products",
    "sign",
    "sign_params",
    "system_params",
    "to_product",
]
