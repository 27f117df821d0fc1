"""Put every API request in its own download slot, one per API and credential.

The slot's floor delay is ``1/QPS`` with no jitter (no randomized bursts), so
Scrapy's downloader itself spaces the calls: it sends a slot's next request at
``lastseen + delay``, whatever the slot's concurrency. Limits come from the
provider module (``DEFAULT_QPS``) and can be overridden per run and per
credential with ``HARVESTER_RATE_LIMITS = {"aliyun": 5, "aliyun:<AccessKeyId>": 2}``;
the credential is the provider's first ``CREDENTIAL_SETTINGS`` value (access key
id, app key, token), given as is or as its id — a hash logged at first use. Slot
names and logs only carry the id, never the credential.

The floors are registered in the downloader's ``DOWNLOAD_SLOTS`` table (an entry
set there by the user wins): :class:`harvester.pacing.PacedDownloader` keeps the
slots on schedule despite a busy reactor (``HARVESTER_RATE_LIMIT_CATCH_UP``), and
:class:`harvester.extensions.throttle.ApiAutoThrottle` reads them as each slot's
minimum. The middleware must run before the downloader picks the slot (any
``process_request`` position does: the downloader reads ``meta["download_slot"]``
after all of them).
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from harvester.apis import all_providers, get_provider
from harvester.apis.base import META_API, setting_or_env

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def credential_id(value: str | None) -> str:
    """A short, stable, non-reversible id of a credential, for slot names and logs."""
    return hashlib.sha256((value or "").encode()).hexdigest()[:10]


def resolve_qps(limits: dict[str, Any], api: str, credentials: list[str], default: float) -> float:
    """The first override of ``<api>:<credential>`` for *credentials* (its value, its id),
    else of ``<api>``, else the provider's *default*."""
    for key in [f"{api}:{credential}" for credential in credentials] + [api]:
        if key in limits:
            qps = float(limits[key])
            if qps <= 0:
                raise ValueError(f"HARVESTER_RATE_LIMITS[{key!r}] must be positive, got {qps}")
            return qps
    return default


def check_limits(limits: dict[str, Any], known: set[str]) -> None:
    """Refuse overrides of unknown APIs (a typo would silently leave the default in force)."""
    for key, value in limits.items():
        api = str(key).partition(":")[0]
        if api not in known:
            raise ValueError(
                f"HARVESTER_RATE_LIMITS: unknown API {api!r} in {key!r}; "
                f"known: {', '.join(sorted(known))}"
            )
        if float(value) <= 0:
            raise ValueError(f"HARVESTER_RATE_LIMITS[{key!r}] must be positive, got {value}")


def slot_settings(qps: float, concurrency: int, catch_up: float = 0.0) -> dict[str, Any]:
    """``DOWNLOAD_SLOTS`` entry of an API slot: one call per ``1/qps`` s, no jitter; a send
    up to *catch_up* × that interval late keeps the schedule (:mod:`harvester.pacing`)."""
    return {"delay": 1.0 / qps, "concurrency": concurrency, "jitter": 0, "catch_up": catch_up / qps}


class ApiSlotMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_RATE_LIMITS_ENABLED"):
            raise NotConfigured("HARVESTER_RATE_LIMITS_ENABLED is off")
        self.crawler = crawler
        self.limits: dict[str, Any] = settings.getdict("HARVESTER_RATE_LIMITS")
        check_limits(self.limits, {provider.NAME for provider in all_providers()})
        self.concurrency = settings.getint("HARVESTER_API_SLOT_CONCURRENCY")
        self.catch_up = settings.getfloat("HARVESTER_RATE_LIMIT_CATCH_UP")
        if not 0 <= self.catch_up < 1:
            raise ValueError(
                f"HARVESTER_RATE_LIMIT_CATCH_UP must be in [0, 1), got {self.catch_up}"
            )
        self._slots: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def slot_for(self, api: str) -> str:
        """The slot key of *api* (``<api>:<credential id>``), registered with its floor
        at first use."""
        if api not in self._slots:
            provider = get_provider(api)
            value = setting_or_env(self.crawler.settings, provider.CREDENTIAL_SETTINGS[0]) or ""
            credential = credential_id(value)
            qps = resolve_qps(self.limits, api, [value, credential], provider.DEFAULT_QPS)
            key = f"{api}:{credential}"
            self.crawler.engine.downloader.per_slot_settings.setdefault(
                key, slot_settings(qps, self.concurrency, self.catch_up)
            )
            logger.info("API %s (credential %s): at most %.3g requests/s", api, credential, qps)
            self.crawler.stats.set_value(f"harvester/ratelimit/{api}/qps", qps)
            self._slots[api] = key
        return self._slots[api]

    def process_request(self, request: Request) -> None:
        api = request.meta.get(META_API)
        if api and "download_slot" not in request.meta:
            request.meta["download_slot"] = self.slot_for(api)
