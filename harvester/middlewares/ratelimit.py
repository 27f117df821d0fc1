"""Hold every API call to its credential's rate limit, in a downloader middleware.

For a request tagged ``meta["harvester_api"]``, ``process_request`` reserves the
next turn of its (API, credential) from the limiter (:mod:`harvester.limiter`),
awaits it with an asyncio sleep, then asks the limiter to admit the call: at most
QPS admissions in any ``1 + HARVESTER_RATE_LIMIT_MARGIN`` seconds (and none closer
than half a turn). A call that woke late (a busy reactor) still goes if that
window allows, else it waits the time the limiter says (stat
``harvester/ratelimit/<api>/waited``): turns are not lost to late wake-ups, and no
second ever holds more than QPS calls as long as calls reach the provider within
the margin of each other after their admission. An answer whose round trip
(admission asked → answer) is longer than the key's quickest by more than the
margin says its call may have arrived that much late: that admission then counts
as that much later (:meth:`harvester.limiter.Limiter.delay`, stat
``harvester/ratelimit/<api>/delayed``), so the calls after it keep the window from
there — a busy process (or network) costs rate, never the window, as long as the
answer comes back within about a second. The middleware runs after Scrapy's
own (940), so that little runs between the admission and the download handler,
which signs the call (:mod:`harvester.handlers.signing`).

Limits come from the provider module (``DEFAULT_QPS``), overridable per run and
per credential with ``HARVESTER_RATE_LIMITS = {"aliyun": 5, "aliyun:<AccessKeyId>": 2}``.
Every API and credential also gets its own download slot
(``meta["download_slot"] = "<api>:<credential id>"``), whose concurrency lets calls
be in flight while the limiter spaces them; AutoThrottle, if enabled, leaves these
slots alone (``autothrottle_dont_adjust_delay``). Slot names, stats and logs carry
credential ids (hashes), never credentials.

Back-off acts on the limiter (with AutoThrottle on or off): on
:data:`harvester.signals.api_backoff` (a throttle answer, a transient error) the
key's interval is multiplied by the factor sent, or ``HARVESTER_BACKOFF_FACTOR``
(at most ``HARVESTER_BACKOFF_MAX_DELAY`` s; once for a burst of answers to calls
reserved before the last back-off, in every process sharing the limiter), and held
for the time the provider asked (``Retry-After``, a ban); calls this process had
reserved before are rescheduled; each :data:`harvester.signals.api_answer` halves
the excess. With ``HARVESTER_REDIS_URL`` set, the limiter is shared by every
process using it (:mod:`harvester.limiter_redis`), holds and back-off included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals as scrapy_signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from harvester import signals
from harvester.apis import all_providers, get_provider
from harvester.apis.base import META_API, setting_or_env
from harvester.credentials import META_CREDENTIAL, CredentialPools, credential_id
from harvester.limiter import LocalLimiter, Pace, check_limits, resolve_qps

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from harvester.apis.base import ApiError
    from harvester.limiter import Limiter

logger = logging.getLogger(__name__)

#: ``request.meta`` key of the call's grant time on the limiter's clock (for back-off).
META_GRANTED = "harvester_granted"
#: ``request.meta`` key of the call's admission, ``time.monotonic()`` (for measurements).
META_ADMITTED = "harvester_admitted"
#: ``request.meta`` key of (limiter key, admission token, when the admission was asked).
META_ADMISSION = "harvester_admission"
#: Answers of a key seen before its quickest round trip is trusted (before: 0 s).
QUICKEST_AFTER = 10
#: Seconds the first call of each (API, credential) in a process may take from its admission
#: to the provider (the download handler loads, a connection opens): the calls after it
#: count it as admitted this much later (measured: up to ~30 ms on a loaded 2-core machine).
FIRST_CALL_ALLOWANCE = 0.1


__all__ = ["Pace", "RateLimitMiddleware", "check_limits", "credential_id", "resolve_qps"]


def make_limiter(redis_url: str | None) -> Limiter:
    """The shared Redis limiter if *redis_url* is set, else the in-process one."""
    if not redis_url:
        return LocalLimiter()
    from harvester.limiter_redis import RedisLimiter

    return RedisLimiter(redis_url)


class RateLimitMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_RATE_LIMITS_ENABLED"):
            raise NotConfigured("HARVESTER_RATE_LIMITS_ENABLED is off")
        self.crawler = crawler
        self.limits: dict[str, Any] = settings.getdict("HARVESTER_RATE_LIMITS")
        check_limits(self.limits, {provider.NAME for provider in all_providers()})
        self.margin = settings.getfloat("HARVESTER_RATE_LIMIT_MARGIN")
        if not 0 <= self.margin < 1:
            raise ValueError(f"HARVESTER_RATE_LIMIT_MARGIN must be in [0, 1), got {self.margin}")
        self.factor = settings.getfloat("HARVESTER_BACKOFF_FACTOR")
        self.max_delay = settings.getfloat("HARVESTER_BACKOFF_MAX_DELAY")
        self.pools = CredentialPools(settings)
        self.redis_url = setting_or_env(settings, "HARVESTER_REDIS_URL")
        self.limiter = make_limiter(self.redis_url)
        #: (api, credential id) → its limit as applied
        self._paces: dict[tuple[str, str], Pace] = {}
        #: limiter keys this process has sent a call of
        self._started: set[str] = set()
        #: limiter key → [answers seen, quickest round trip (admission asked → answer)]
        self._trips: dict[str, list[Any]] = {}
        #: limiter key → ``time.monotonic()`` until which this process holds its grants...
        self._held_until: dict[str, float] = {}
        #: ...and of the last back-off it saw
        self._backoff_at: dict[str, float] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._failed = False
        crawler.signals.connect(self._backoff, signal=signals.api_backoff)
        crawler.signals.connect(self._answer, signal=signals.api_answer)
        crawler.signals.connect(self._closed, signal=scrapy_signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def pace(self, api: str, credential: str) -> Pace:
        """The limit of *api* with *credential* (an id), logged at first use."""
        if (api, credential) not in self._paces:
            provider = get_provider(api)
            value = self.pools.key_value(provider, credential)
            qps = resolve_qps(self.limits, api, [value, credential], provider.DEFAULT_QPS)
            self._paces[(api, credential)] = Pace(qps, self.margin)
            logger.info(
                "API %s (credential %s): at most %.3g requests/s%s",
                api,
                credential,
                qps,
                " (shared through Redis)" if self.redis_url else "",
            )
            self.crawler.stats.set_value(f"harvester/ratelimit/{api}/qps", qps)
        return self._paces[(api, credential)]

    async def process_request(self, request: Request) -> None:
        api = request.meta.get(META_API)
        if not api:
            return
        credential = request.meta.get(META_CREDENTIAL) or self.pools.choose(get_provider(api))
        request.meta[META_CREDENTIAL] = credential
        key = f"{api}:{credential}"
        request.meta.setdefault("download_slot", key)
        request.meta.setdefault("autothrottle_dont_adjust_delay", True)
        pace = self.pace(api, credential)
        loop = asyncio.get_running_loop()  # its clock is time.monotonic(), the limiter's
        try:
            while True:
                asked = loop.time()
                due, granted = await self.limiter.reserve(key, pace.interval)
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                if self._backoff_at.get(key, 0.0) > asked or self._held_until.get(key, 0.0) > due:
                    # reserved before a back-off or hold seen here: reserve at the new pace
                    self.crawler.stats.inc_value(f"harvester/ratelimit/{api}/rescheduled")
                    await asyncio.sleep(max(0.0, self._held_until.get(key, 0.0) - loop.time()))
                    continue
                allowance = 0.0 if key in self._started else FIRST_CALL_ALLOWANCE
                while True:
                    admitting = loop.time()
                    wait, token = await self.limiter.admit(
                        key, pace.calls, pace.window, pace.gap, allowance
                    )
                    if not wait:
                        break
                    # woken before the window allows (an earlier call went late): wait
                    self.crawler.stats.inc_value(f"harvester/ratelimit/{api}/waited")
                    await asyncio.sleep(wait)
                break
        except Exception as exc:  # Redis down: stop with one clear line, no retry storm
            self._fail(exc)
            raise IgnoreRequest(f"rate limiter unavailable: {exc}") from None
        self._started.add(key)
        request.meta[META_ADMISSION] = (key, token, admitting)
        request.meta[META_ADMITTED] = loop.time()
        self.crawler.stats.inc_value(f"harvester/ratelimit/{api}/granted")
        request.meta[META_GRANTED] = granted

    def process_response(self, request: Request, response: Response) -> Response:
        """The answer's round trip bounds when the call reached the provider: one slower
        than this key's quickest by more than the margin may have arrived that much late,
        so its admission counts as that much later (stat ``harvester/ratelimit/<api>/delayed``)."""
        admission = request.meta.pop(META_ADMISSION, None)
        if admission is None:
            return response
        key, token, asked = admission
        trip = time.monotonic() - asked
        trips = self._trips.setdefault(key, [0, trip])
        trips[0] += 1
        trips[1] = min(trips[1], trip)
        # until a few answers came back, the quickest may not have been seen: take 0
        quickest = trips[1] if trips[0] > QUICKEST_AFTER else 0.0
        late = trip - quickest - self.margin
        if late > 0:
            self.crawler.stats.inc_value(f"harvester/ratelimit/{key.partition(':')[0]}/delayed")
            self._spawn(self.limiter.delay(key, token, late))
        return response

    def _backoff(self, request: Request, error: ApiError, factor: float | None = None) -> None:
        """A throttle answer or a transient error: slow the request's key down, hold it."""
        credential = request.meta.get(META_CREDENTIAL)
        if not credential:
            return
        key = f"{error.api}:{credential}"
        self._backoff_at[key] = time.monotonic()
        if error.retry_after:
            until = time.monotonic() + error.retry_after
            self._held_until[key] = max(self._held_until.get(key, 0.0), until)
            self.crawler.stats.inc_value(f"harvester/throttle/{error.api}/held")
        self.crawler.stats.inc_value(f"harvester/throttle/{error.api}/backoff")
        interval = self.pace(error.api, credential).interval
        held = f", held {error.retry_after:.1f} s" if error.retry_after else ""

        async def apply() -> None:
            slow = await self.limiter.backoff(
                key,
                factor or self.factor,
                self.max_delay,
                error.retry_after,
                request.meta.get(META_GRANTED, float("inf")),
            )
            logger.info(
                "%s: %s — slot %s delay now %.3f s%s",
                error.api,
                error.code,
                key,
                interval * slow,
                held,
            )

        self._spawn(apply())

    def _answer(self, request: Request, response: Response) -> None:
        credential = request.meta.get(META_CREDENTIAL)
        api = request.meta.get(META_API)
        if credential and api:
            self._spawn(self.limiter.recover(f"{api}:{credential}"))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    def _fail(self, exc: BaseException | None) -> None:
        """The limiter failed (Redis unreachable): say so once and stop the crawl."""
        self.crawler.stats.inc_value("harvester/ratelimit/limiter_error")
        if self._failed:
            return
        self._failed = True
        logger.error(
            "The rate limiter failed (%s: %s)%s. Stopping the crawl.",
            type(exc).__name__,
            exc,
            " — is the Redis server at HARVESTER_REDIS_URL running?" if self.redis_url else "",
        )
        # not awaited at spider_closed (that would wait for itself)
        asyncio.ensure_future(
            self.crawler.engine.close_spider_async(reason="ratelimit_unavailable")
        )

    async def _closed(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.limiter.close()
