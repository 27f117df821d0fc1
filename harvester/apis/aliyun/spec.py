"""Alibaba Cloud ``GetProductInfoByIds``: identity, endpoint, limits and settings."""

from __future__ import annotations

NAME = "aliyun"
#: ``products.source``: the marketplace, not the API vendor.
SOURCE = "taobao"
CURRENCY = "CNY"
DEFAULT_BASE_URL = "https://imagesearch.cn-shanghai.aliyuncs.com"
BASE_URL_SETTING = "ALIYUN_BASE_URL"
#: ``ALIYUN_PID`` (the affiliate's ``mm_xxx_xxx_xxx``) is required like a credential.
CREDENTIAL_SETTINGS = ["ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_PID"]
SECRET_SETTINGS = ["ALIYUN_ACCESS_KEY_SECRET"]
PATH = "/"
ACTION = "GetProductInfoByIds"
VERSION = "2021-05-01"
#: "查询操作默认5QPS" (the docs).
DEFAULT_QPS = 5.0
#: "商品ID串,用','分割,最大40个" (the docs).
MAX_BATCH = 40
#: The gateway rejects a ``Timestamp`` more than 15 minutes from its clock (protocols.md).
TIMESTAMP_TOLERANCE_S = 15 * 60
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Query parameters that change per send or per credential: never fingerprinted.
AUTH_PARAMS = (
    "Signature",
    "SignatureNonce",
    "Timestamp",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
)
#: Every parameter :func:`sign` sets; a re-signed request drops the old values first.
COMMON_PARAMS = frozenset({"Action", "Format", "Version", *AUTH_PARAMS})
