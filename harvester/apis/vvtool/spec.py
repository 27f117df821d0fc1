"""vv-tool ``1688get-commodity``: identity, endpoints, limits and settings."""

from __future__ import annotations

NAME = "vvtool"
#: The marketplace: a vv-tool detail enriches the same row as a PandaPon store walk.
SOURCE = "1688"
CURRENCY = "CNY"
DEFAULT_BASE_URL = "http://api.vv-tool.com"
BASE_URL_SETTING = "VVTOOL_BASE_URL"
CREDENTIAL_SETTINGS = ["VVTOOL_TOKEN"]
SECRET_SETTINGS = ["VVTOOL_TOKEN"]
PATH = "/tool/erps/1688get-commodity"
#: Token call (protocols.md). Never made automatically: a new token invalidates the old one.
TOKEN_PATH = "/api/proxy/oauth/token"
#: "频率限制: 10 次/秒" (the docs).
DEFAULT_QPS = 10.0
#: No auth in the query string: the token travels in the ``Authorization`` header,
#: which Scrapy's fingerprint does not cover.
AUTH_PARAMS: tuple[str, ...] = ()
IMAGE_BASE = "https://cbu01.alicdn.com/"
WEB_SITES = ("1688", "alibaba")
SCENES = ("lst", "1688")
SUCCESS_CODE = 0
#: The docs' code for a shop that has not authorized vv-tool.
UNAUTHORIZED_SHOP_CODE = 302
#: Codes that refuse the shop itself, whatever the product: every further call for that
#: shop would fail the same way (and be billed). Code → what the shop is, for the log.
SHOP_REFUSED = {
    "302": "has not authorized vv-tool: have the shop authorize it (link below), then run again",
    "103": "is not a known Wangwang account: check -a shop_id",
}
