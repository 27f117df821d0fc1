"""AliExpress affiliate ``productdetail.get``: identity, endpoint, limits, settings, the
accepted currencies and languages."""

from __future__ import annotations

NAME = "aliexpress"
SOURCE = "aliexpress"
DEFAULT_BASE_URL = "https://api-sg.aliexpress.com"
BASE_URL_SETTING = "ALIEXPRESS_BASE_URL"
PATH = "/sync"
METHOD = "aliexpress.affiliate.productdetail.get"
CREDENTIAL_SETTINGS = ["ALIEXPRESS_APP_KEY", "ALIEXPRESS_APP_SECRET"]
SECRET_SETTINGS = ["ALIEXPRESS_APP_SECRET"]
SIGN_METHOD_SETTING = "HARVESTER_ALIEXPRESS_SIGN_METHOD"
OPTION_SETTINGS = {SIGN_METHOD_SETTING: "md5"}
SIGN_METHODS = ("md5", "hmac-sha256", "sha256")
#: Inferred (protocols.md gives no number): a conservative rate for an affiliate app key.
DEFAULT_QPS = 5.0
#: Inferred: the docs give no maximum; the affiliate product APIs take up to 50 ids, we
#: default to 20 per call (HARVESTER_ALIEXPRESS_BATCH_SIZE).
MAX_BATCH = 50
DEFAULT_BATCH = 20
AUTH_PARAMS = ("sign", "timestamp", "app_key", "sign_method", "partner_id")
CURRENCIES = (
    "USD",
    "GBP",
    "CAD",
    "EUR",
    "UAH",
    "MXN",
    "TRY",
    "RUB",
    "BRL",
    "AUD",
    "INR",
    "JPY",
    "IDR",
    "SEK",
    "KRW",
)
LANGUAGES = (
    "EN",
    "RU",
    "PT",
    "ES",
    "FR",
    "ID",
    "IT",
    "TH",
    "JA",
    "AR",
    "VI",
    "TR",
    "DE",
    "HE",
    "KO",
    "NL",
    "PL",
    "MX",
    "CL",
    "IW",
    "IN",
)
PARTNER_ID = "harvester"
