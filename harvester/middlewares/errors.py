"""Classify every API answer by its provider's rules, including errors inside HTTP 200 bodies.

For a request tagged ``meta["harvester_api"]`` the provider's ``check_response``
reads the envelope:

- success: the envelope's ``data`` is put in ``response.meta["harvester_data"]``
  so the callback does not parse the body again, and the time the answer was read in
  ``response.meta["harvester_received_at"]`` (the ``fetched_at`` of its records);
- rate-limited (HTTP 429, ``Retry-After``, the provider's throttle / ban code):
  the API's download slot is backed off and held for the time asked
  (:data:`harvester.signals.api_backoff`, handled by the AutoThrottle extension)
  and the request retried (re-signed at send time by :mod:`.signing`) up to
  ``HARVESTER_RATE_LIMIT_RETRY_TIMES``, counted apart from ordinary retries
  (:func:`get_throttle_retry_request`) so throttling cannot use up ``RETRY_TIMES``;
- retryable (5xx, the provider's transient codes): the slot is slowed down by
  ``HARVESTER_RETRY_BACKOFF_FACTOR`` and the request retried up to ``RETRY_TIMES``;
- network errors (timeouts, dropped connections) of API requests: the slot is
  slowed down the same way and Scrapy's ``RetryMiddleware`` retries them up to
  ``RETRY_TIMES``; after that the spider's errback keeps a dead letter;
- auth / clock / quota: logged once with what to do, and the spider is closed
  with reason ``<api>_<class>`` (no retry storm);
- permanent, or retries exhausted: :class:`ApiRejected` goes to the request's
  errback, which keeps the response as a dead letter.

Stats: ``harvester/api/<api>/<class>`` per answer, ``harvester/api/<api>/network_error``
per network failure, ``harvester/retry/<api>/...`` and ``harvester/throttle_retry/<api>/...``
per retry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured

from harvester import signals
from harvester.apis import get_provider
from harvester.apis.base import ApiError, ErrorClass
from harvester.items import utcnow

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

FATAL_HINTS = {
    ErrorClass.AUTH: (
        "check the API's credentials (access key / secret / token) and that they are active"
    ),
    ErrorClass.CLOCK: (
        "the local clock is too far from the server's: fix the clock (NTP) and run again"
    ),
    ErrorClass.QUOTA: (
        "the call quota is exhausted or the API is not granted: top up or request access, "
        "then run again"
    ),
}
#: Meta key counting the throttle retries of a request (``retry_times`` counts the others).
THROTTLE_RETRIES = "harvester_throttle_retries"


class ApiRejected(IgnoreRequest):
    """An API answer that will not be retried; ``errback`` receives it."""

    def __init__(self, error: ApiError, response: Response) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP-date (RFC 9110)."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def get_throttle_retry_request(
    request: Request, *, spider: Spider, reason: str, max_retry_times: int, stats_base_key: str
) -> Request | None:
    """Scrapy's ``get_retry_request`` for a throttled request, counted in
    ``meta[THROTTLE_RETRIES]`` against *max_retry_times*: a request throttled a few
    times keeps all its ordinary retries (``retry_times`` / ``RETRY_TIMES``) and the
    other way round."""
    ordinary = request.meta.get("retry_times", 0)
    probe = request.copy()
    probe.meta["retry_times"] = request.meta.get(THROTTLE_RETRIES, 0)
    retry = get_retry_request(
        probe,
        spider=spider,
        reason=reason,
        max_retry_times=max_retry_times,
        stats_base_key=stats_base_key,
    )
    if retry is not None:
        retry.meta[THROTTLE_RETRIES] = retry.meta["retry_times"]
        retry.meta["retry_times"] = ordinary
    return retry


class ApiErrorMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HARVESTER_API_ERRORS_ENABLED"):
            raise NotConfigured("HARVESTER_API_ERRORS_ENABLED is off")
        self.crawler = crawler
        self.throttle_retry_times = crawler.settings.getint("HARVESTER_RATE_LIMIT_RETRY_TIMES")
        self.retry_backoff = crawler.settings.getfloat("HARVESTER_RETRY_BACKOFF_FACTOR")
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        name = request.meta.get("harvester_api")
        if not name:
            return response
        provider = get_provider(name)
        headers = {
            k.decode().lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v
        }
        stats = self.crawler.stats
        try:
            data = provider.check_response(response.status, headers, response.body)
        except ApiError as error:
            stats.inc_value(f"harvester/api/{name}/{error.error_class.value}")
            if error.retry_after is None and error.error_class in (
                ErrorClass.RATE_LIMITED,
                ErrorClass.RETRYABLE,
            ):
                # providers that do not read Retry-After themselves still get it honoured
                error = dataclasses.replace(
                    error, retry_after=retry_after_seconds(headers.get("retry-after"))
                )
            return self._on_error(request, response, error)
        stats.inc_value(f"harvester/api/{name}/ok")
        self.crawler.signals.send_catch_log(
            signal=signals.api_answer, request=request, response=response
        )
        request.meta["harvester_data"] = data
        request.meta["harvester_received_at"] = utcnow()
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """A network error of an API request: slow its slot down; ``RetryMiddleware`` retries it."""
        name = request.meta.get("harvester_api")
        if not name or isinstance(exception, IgnoreRequest):
            return
        self.crawler.stats.inc_value(f"harvester/api/{name}/network_error")
        error = ApiError(name, ErrorClass.RETRYABLE, type(exception).__name__, str(exception))
        self.crawler.signals.send_catch_log(
            signal=signals.api_backoff, request=request, error=error, factor=self.retry_backoff
        )

    def _on_error(self, request: Request, response: Response, error: ApiError) -> Request:
        if error.error_class in (ErrorClass.RETRYABLE, ErrorClass.RATE_LIMITED):
            throttled = error.error_class is ErrorClass.RATE_LIMITED
            # back the API's slot off first, so that the retry waits (and is re-signed when sent)
            self.crawler.signals.send_catch_log(
                signal=signals.api_backoff,
                request=request,
                error=error,
                factor=None if throttled else self.retry_backoff,
            )
            retry = self._retry(request, error, throttled)
            if retry is not None:
                return retry
            raise ApiRejected(error, response)
        if error.error_class in FATAL_HINTS:
            self._close(error)
        else:
            logger.warning("%s: %s (not retried)", request.url, error)
        raise ApiRejected(error, response)

    def _retry(self, request: Request, error: ApiError, throttled: bool) -> Request | None:
        reason = f"{error.api}:{error.code}"
        if throttled:
            return get_throttle_retry_request(
                request,
                spider=self.crawler.spider,
                reason=reason,
                max_retry_times=self.throttle_retry_times,
                stats_base_key=f"harvester/throttle_retry/{error.api}",
            )
        return get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            stats_base_key=f"harvester/retry/{error.api}",
        )

    def _close(self, error: ApiError) -> None:
        if self._closing:
            return
        self._closing = True
        logger.error("%s — %s. Stopping the crawl.", error, FATAL_HINTS[error.error_class])
        reason = f"{error.api}_{error.error_class.value}"
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))
