"""vv-tool calls: the bearer token, the JSON body of one call, the token call."""

from __future__ import annotations

import json
from typing import Any

from harvester.apis.base import Signed, Unsigned
from harvester.apis.vvtool.spec import SCENES, WEB_SITES


def sign(request: Unsigned, config: dict[str, str], now: float) -> Signed:
    """Bearer token; no timestamp, so signing at send time only sets the header."""
    return Signed(headers={"Authorization": f"Bearer {config['VVTOOL_TOKEN']}"})


def body(
    shop_id: str, product_id: str | int, web_site: str | None = None, scene: str | None = None
) -> dict[str, Any]:
    """The JSON body of one call; ``ValueError`` names the bad argument."""
    if not shop_id:
        raise ValueError("shop_id: missing")
    if not str(product_id).isdigit():
        raise ValueError(f"product_id: not numeric: {product_id!r}")
    if web_site not in (None, *WEB_SITES):
        raise ValueError(f"web_site: must be one of {', '.join(WEB_SITES)}, got {web_site!r}")
    if scene not in (None, *SCENES):
        raise ValueError(f"scene: must be one of {', '.join(SCENES)}, got {scene!r}")
    data: dict[str, Any] = {"shop_id": shop_id, "product_id": int(product_id)}
    if web_site:
        data["web_site"] = web_site
    if scene:
        data["scene"] = scene
    return data


def token_request_form(client_id: str, client_secret: str) -> dict[str, str]:
    """Form of ``POST {base}{TOKEN_PATH}``. Fetching a token invalidates the previous
    one (protocols.md): only do it when asked to, and keep the result."""
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
    }


def parse_token(body_bytes: bytes) -> str:
    """``access_token`` of a token answer, bare or wrapped in ``{code: 0, data: {...}}``."""
    answer = json.loads(body_bytes)
    if isinstance(answer, dict) and answer.get("code") not in (None, 0, "0"):
        raise ValueError(f"token call refused: code {answer.get('code')}: {answer.get('msg')}")
    if isinstance(answer, dict) and isinstance(answer.get("data"), dict):
        answer = answer["data"]
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not token:
        raise ValueError("token answer has no access_token")
    return str(token)
