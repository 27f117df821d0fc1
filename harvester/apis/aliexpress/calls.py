"""AliExpress TOP signing (md5 / HMAC-SHA256) and the application parameters of a call."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harvester.apis.aliexpress.spec import METHOD, PARTNER_ID, SIGN_METHOD_SETTING, SIGN_METHODS
from harvester.apis.base import Signed, Unsigned


def sign_params(params: dict[str, str], secret: str, method: str = "md5") -> str:
    """TOP ``sign``: parameters but ``sign`` sorted by name, ``name + value`` concatenated;
    md5 wraps it in the secret; hmac-sha256 / sha256 (IOP) key an HMAC-SHA256 with it."""
    concatenated = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign")
    if method == "md5":
        return (
            hashlib.md5(f"{secret}{concatenated}{secret}".encode(), usedforsecurity=False)
            .hexdigest()
            .upper()
        )
    if method in ("hmac-sha256", "sha256"):
        return hmac.new(secret.encode(), concatenated.encode(), hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unsupported sign_method {method!r}; use one of {', '.join(SIGN_METHODS)}")


def system_params(app_key: str, now: float, sign_method: str) -> dict[str, str]:
    return {
        "app_key": app_key,
        "method": METHOD,
        "timestamp": str(int(now * 1000)),  # epoch ms, as the python-aliexpress-api client
        "format": "json",
        "v": "2.0",
        "sign_method": sign_method,
        "partner_id": PARTNER_ID,
    }


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    method = config.get(SIGN_METHOD_SETTING, "md5")
    application = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    query = system_params(config["ALIEXPRESS_APP_KEY"], now, method)
    query["sign"] = sign_params({**query, **application}, config["ALIEXPRESS_APP_SECRET"], method)
    parts = urlsplit(request.url)
    return Signed(headers={}, url=urlunsplit(parts._replace(query=urlencode(query))))


def batch_form(
    product_ids: list[str],
    *,
    target_currency: str,
    target_language: str,
    country: str | None,
    tracking_id: str,
    fields: str | None = None,
) -> dict[str, str]:
    form = {
        "product_ids": ",".join(product_ids),
        "target_currency": target_currency,
        "target_language": target_language,
        "tracking_id": tracking_id,
    }
    if country:
        form["country"] = country
    if fields:
        form["fields"] = fields
    return form
