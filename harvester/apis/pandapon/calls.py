"""PandaPon header signing and request bodies (store listing, related items)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from harvester.apis.base import Signed, Unsigned
from harvester.apis.pandapon.spec import SORT_FIELDS, TIMESTAMP_UNIT_SETTING

# --------------------------------------------------------------------------- signing


def signature(access_key: str, timestamp: str, nonce: str, secret_key: str) -> str:
    """PandaPon's header signature.

    Replaceable: this rule comes from a third-party client, not the official text
    (protocols.md): ``UPPER_HEX(MD5(access_key + timestamp + nonce + secret_key))``,
    plain concatenation; the JSON body is not signed.
    """
    raw = f"{access_key}{timestamp}{nonce}{secret_key}".encode()
    return hashlib.md5(raw, usedforsecurity=False).hexdigest().upper()


def new_nonce() -> str:
    """32 random characters (the manual requires ``nonce-str`` on every call)."""
    return secrets.token_hex(16)


def sign_headers(
    *,
    access_key: str,
    secret_key: str,
    user_id: str,
    now: float,
    nonce: str | None = None,
    timestamp_unit: str = "ms",
) -> dict[str, str]:
    """The system headers for one call, signed for the instant *now* (epoch seconds)."""
    timestamp = str(int(now * 1000) if timestamp_unit == "ms" else int(now))
    nonce = nonce or new_nonce()
    return {
        "access-key": access_key,
        "timestamp": timestamp,
        "nonce-str": nonce,
        "user-id": user_id,
        "signature": signature(access_key, timestamp, nonce, secret_key),
    }


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Sign *request* for the instant *now*; *config* holds credentials and options."""
    credentials = config
    return Signed(
        headers=sign_headers(
            access_key=credentials["PANDAPON_ACCESS_KEY"],
            secret_key=credentials["PANDAPON_SECRET_KEY"],
            user_id=credentials["PANDAPON_USER_ID"],
            now=now,
            timestamp_unit=config.get(TIMESTAMP_UNIT_SETTING, "ms"),
        )
    )


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class StoreQuery:
    """One store-listing query; ``price_start``/``price_end`` bound a price band."""

    seller_open_id: str
    keyword: str | None = None
    category_id: int | None = None
    price_start: Decimal | None = None
    price_end: Decimal | None = None
    sort: str | None = None
    filter: str | None = None
    country: str = "en"

    def body(self, page: int, page_size: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "beginPage": page,
            "pageSize": page_size,
            "country": self.country,
            "sellerOpenId": self.seller_open_id,
        }
        if self.keyword:
            body["keyword"] = self.keyword
        if self.category_id is not None:
            body["categoryId"] = self.category_id
        if self.price_start is not None:
            body["priceStart"] = str(self.price_start)
        if self.price_end is not None:
            body["priceEnd"] = str(self.price_end)
        if self.sort:
            body["sort"] = self.sort
        if self.filter:
            body["filter"] = self.filter
        return body

    def with_band(self, start: Decimal, end: Decimal) -> StoreQuery:
        return StoreQuery(
            self.seller_open_id,
            self.keyword,
            self.category_id,
            start,
            end,
            self.sort,
            self.filter,
            self.country,
        )


def sort_param(spec: str) -> str:
    """Turn ``price:asc`` (or ``monthSold``) into the API's ``{"price":"asc"}`` string."""
    name, _, direction = spec.partition(":")
    direction = direction or "desc"
    if name not in SORT_FIELDS or direction not in ("asc", "desc"):
        raise ValueError(
            f"sort must be FIELD[:asc|desc] with FIELD one of {', '.join(SORT_FIELDS)}; "
            f"got {spec!r}"
        )
    return json.dumps({name: direction}, separators=(",", ":"))


def related_body(
    offer_id: int, page_no: int, page_size: int, language: str = "en"
) -> dict[str, Any]:
    return {"offerId": offer_id, "pageNo": page_no, "pageSize": page_size, "language": language}
