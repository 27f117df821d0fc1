"""vv-tool ``1688get-commodity``: full 1688 product detail (SKUs, price tiers, images).

``POST {base}/tool/erps/1688get-commodity`` with ``Authorization: Bearer <token>``
and a JSON body ``{shop_id, product_id, web_site?, scene?}``; envelope
``{code, msg, msec, time, data}``, success ``code == 0``. Sources:
``shared/api-docs/vvtool-1688-get-commodity.txt`` and protocols.md. Every call is
billed (``withholding_money``), even for a missing item.

The provider is split along its seams: :mod:`.spec` (endpoints, limits, settings),
:mod:`.calls` (token header, request body, token call), :mod:`.answers` (codes,
envelope), :mod:`.records` (answer → product fields); this package re-exports their
public names.
"""

from __future__ import annotations

from harvester.apis.vvtool.answers import (
    CODES,
    check_response,
)
from harvester.apis.vvtool.calls import (
    body,
    parse_token,
    sign,
    token_request_form,
)
from harvester.apis.vvtool.records import (
    TIME_LAYOUTS,
    TIMES,
    image,
    money,
    parse_time,
    to_product,
)
from harvester.apis.vvtool.spec import (
    AUTH_PARAMS,
    BASE_URL_SETTING,
    CREDENTIAL_SETTINGS,
    CURRENCY,
    DEFAULT_BASE_URL,
    DEFAULT_QPS,
    IMAGE_BASE,
    NAME,
    PATH,
    SCENES,
    SECRET_SETTINGS,
    SHOP_REFUSED,
    SOURCE,
    SUCCESS_CODE,
    TOKEN_PATH,
    UNAUTHORIZED_SHOP_CODE,
    WEB_SITES,
)

__all__ = [
    "AUTH_PARAMS",
    "BASE_URL_SETTING",
    "CODES",
    "CREDENTIAL_SETTINGS",
    "CURRENCY",
    "DEFAULT_BASE_URL",
    "DEFAULT_QPS",
    "IMAGE_BASE",
    "NAME",
    "PATH",
    "SCENES",
    "SECRET_SETTINGS",
    "SHOP_REFUSED",
    "SOURCE",
    "SUCCESS_CODE",
    "TIMES",
    "TIME_LAYOUTS",
    "TOKEN_PATH",
    "UNAUTHORIZED_SHOP_CODE",
    "WEB_SITES",
    "body",
    "check_response",
    "image",
    "money",
    "parse_time",
    "parse_token",
    "sign",
    "to_product",
    "token_request_form",
]
