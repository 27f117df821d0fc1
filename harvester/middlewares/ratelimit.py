"""Put every API request in its own download slot, one per API and credential.

The slot's floor delay is ``1/QPS`` with no jitter (no randomized bursts), so
Scrapy's downloader itself spaces the calls. Limits come from the provider
module (``DEFAULT_QPS``) and can be overridden per run and per credential with
``HARVESTER_RATE_LIMITS = {"aliyun": 5, "aliyun:<credential id>": 2}``, where the
credential id is the one logged at first use (a hash, never the credential).
The floors are registered through the downloader's ``DOWNLOAD_SLOTS`` table, which
:class:`harvester.extensions.throttle.ApiAutoThrottle` reads as each slot's minimum.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from harvester.apis import get_provider
from harvester.apis.base import setting_or_env

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)


def credential_id(value: str | None) -> str:
    """A short, stable, non-reversible id of a credential, for slot names and logs."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:10]


def resolve_qps(limits: dict[str, Any], api: str, credential: str, default: float) -> float:
    """Per-credential override, else per-API override, else the provider's default."""
    for key in (f"{api}:{credential}", api):
        if key in limits:
            qps = float(limits[key])
            if qps <= 0:
                raise ValueError(f"HARVESTER_RATE_LIMITS[{key!r}] must be positive, got {qps}")
            return qps
    return default


class ApiSlotMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_RATE_LIMITS_ENABLED"):
            raise NotConfigured("HARVESTER_RATE_LIMITS_ENABLED is off")
        self.crawler = crawler
        self.limits: dict[str, Any] = settings.getdict("HARVESTER_RATE_LIMITS")
        self.concurrency = settings.getint("HARVESTER_API_SLOT_CONCURRENCY")
        self._slots: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def slot_for(self, api: str) -> str:
        if api not in self._slots:
            provider = get_provider(api)
            credential = credential_id(setting_or_env(self.crawler.settings, provider.CREDENTIAL_SETTINGS[0]))
            qps = resolve_qps(self.limits, api, credential, provider.DEFAULT_QPS)
            key = f"{api}:{credential}"
            downloader = self.crawler.engine.downloader
            downloader.per_slot_settings.setdefault(
                key, {"delay": 1.0 / qps, "concurrency": self.concurrency, "jitter": 0}
            )
            logger.info("API %s (credential %s): at most %.3g requests/s", api, credential, qps)
            self.crawler.stats.set_value(f"harvester/ratelimit/{api}/qps", qps)
            self._slots[api] = key
        return self._slots[api]

    def process_request(self, request: Request) -> None:
        api = request.meta.get("harvester_api")
        if api and "download_slot" not in request.meta:
            request.meta["download_slot"] = self.slot_for(api)
