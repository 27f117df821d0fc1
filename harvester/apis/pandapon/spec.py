"""PandaPon: identity, endpoints, limits and settings."""

from __future__ import annotations

NAME = "pandapon"
#: ``products.source``: the marketplace, not the API vendor.
SOURCE = "1688"
CURRENCY = "CNY"

DEFAULT_BASE_URL = "https://api.pandapon.com"
BASE_URL_SETTING = "PANDAPON_BASE_URL"
CREDENTIAL_SETTINGS = ["PANDAPON_ACCESS_KEY", "PANDAPON_SECRET_KEY", "PANDAPON_USER_ID"]
#: Names that must never be logged (values are secrets).
SECRET_SETTINGS = ["PANDAPON_SECRET_KEY"]

STORE_PATH = "/alibaba/product/query/selleroffer"
RELATED_PATH = "/alibaba/product/productRelatedRecommendQuery"

#: No limit is documented; protocols.md: default to a conservative 10 QPS per credential.
DEFAULT_QPS = 10.0
#: The server may cap pageSize (the docs ask for 20 and get 10): paging follows totalPage.
DEFAULT_PAGE_SIZE = 50
#: 1688 search windows stop at about 2000 offers per query (protocols.md): bigger stores
#: are split into price bands. Inferred; overridable by HARVESTER_PANDAPON_SEARCH_WINDOW.
SEARCH_WINDOW = 2000
#: The server rejects timestamps more than this many seconds from its clock.
TIMESTAMP_TOLERANCE_S = 600
SORT_FIELDS = ("price", "rePurchaseRate", "monthSold")

SUCCESS_CODE = 200

#: Headers that carry auth; excluded from fingerprints and never logged.
AUTH_HEADERS = ("access-key", "timestamp", "nonce-str", "user-id", "signature")
AUTH_PARAMS = AUTH_HEADERS
#: ``HARVESTER_PANDAPON_TIMESTAMP_UNIT``: ``ms`` (the docs' example) or ``s`` (one client).
TIMESTAMP_UNIT_SETTING = "HARVESTER_PANDAPON_TIMESTAMP_UNIT"
#: Optional settings the signer reads, with defaults (passed in ``config`` beside credentials).
OPTION_SETTINGS = {TIMESTAMP_UNIT_SETTING: "ms"}
