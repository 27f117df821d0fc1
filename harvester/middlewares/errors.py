"""Classify every API answer by its provider's rules, including errors inside HTTP 200 bodies.

For a request tagged ``meta[META_API]`` (``harvester.apis.base``) the provider's ``check_response``
reads the envelope:

- success: the envelope's ``data`` is put in ``response.meta[META_DATA]``
  so the callback does not parse the body again, and the time the answer was read in
  ``response.meta[META_RECEIVED_AT]`` (the ``fetched_at`` of its records);
- rate-limited (HTTP 429, ``Retry-After``, the provider's throttle / ban code):
  the API's download slot is backed off and held for the time asked
  (:data:`harvester.signals.api_backoff`, handled by the rate-limit middleware)
  and the request retried (re-signed at send time by :mod:`harvester.handlers.signing`) up to
  ``HARVESTER_RATE_LIMIT_RETRY_TIMES``, counted apart from ordinary retries
  (:func:`~harvester.answers.get_throttle_retry_request`) so throttling cannot use up
  ``RETRY_TIMES``;
- retryable (5xx, the provider's transient codes): the slot is slowed down by
  ``HARVESTER_RETRY_BACKOFF_FACTOR`` and the request retried up to ``RETRY_TIMES``;
- network errors (timeouts, dropped connections) of API requests: the slot is
  slowed down the same way and Scrapy's ``RetryMiddleware`` retries them up to
  ``RETRY_TIMES``; after that the spider's errback keeps a dead letter;
- auth / clock / quota: logged once with what to do, and the spider is closed
  with reason ``<api>_<class>`` (no retry storm);
- permanent, or retries exhausted: :class:`ApiRejected` goes to the request's
  errback, which keeps the response as a dead letter.

The rules are public helpers in :mod:`harvester.answers` (``check_answer``,
``get_api_retry_request``), which callbacks use too; this middleware applies them.

Stats: ``harvester/api/<api>/<class>`` per answer, ``harvester/api/<api>/network_error``
per network failure, ``harvester/retry/<api>/...`` and ``harvester/throttle_retry/<api>/...``
per retry.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest, NotConfigured

from harvester import signals
from harvester.answers import (
    RETRIED,
    THROTTLE_RETRIES,
    check_answer,
    get_api_retry_request,
    get_throttle_retry_request,
    retry_after_seconds,
)
from harvester.apis.base import (
    META_API,
    META_DATA,
    META_RECEIVED_AT,
    ApiError,
    ApiRejected,
    ErrorClass,
)
from harvester.items import utcnow

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = [
    "THROTTLE_RETRIES",
    "ApiErrorMiddleware",
    "ApiRejected",
    "get_throttle_retry_request",
    "retry_after_seconds",
]

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
        name = request.meta.get(META_API)
        if not name:
            return response
        try:
            data = check_answer(name, response)
        except ApiError as error:
            self.crawler.stats.inc_value(f"harvester/api/{name}/{error.error_class.value}")
            return self._on_error(request, response, error)
        self.crawler.stats.inc_value(f"harvester/api/{name}/ok")
        self.crawler.signals.send_catch_log(
            signal=signals.api_answer, request=request, response=response
        )
        request.meta[META_DATA] = data
        request.meta[META_RECEIVED_AT] = utcnow()
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """A network error of an API request: slow its slot down; ``RetryMiddleware`` retries it."""
        name = request.meta.get(META_API)
        if not name or isinstance(exception, IgnoreRequest):
            return
        self.crawler.stats.inc_value(f"harvester/api/{name}/network_error")
        error = ApiError(name, ErrorClass.RETRYABLE, type(exception).__name__, str(exception))
        self.crawler.signals.send_catch_log(
            signal=signals.api_backoff, request=request, error=error, factor=self.retry_backoff
        )

    def _on_error(self, request: Request, response: Response, error: ApiError) -> Request:
        """The policy: retry what may pass later, stop on what cannot, reject the rest."""
        if error.error_class in RETRIED:
            throttled = error.error_class is ErrorClass.RATE_LIMITED
            # back the API's slot off first, so that the retry waits (and is re-signed when sent)
            self.crawler.signals.send_catch_log(
                signal=signals.api_backoff,
                request=request,
                error=error,
                factor=None if throttled else self.retry_backoff,
            )
            retry = get_api_retry_request(
                request,
                error,
                spider=self.crawler.spider,
                throttle_retry_times=self.throttle_retry_times,
            )
            if retry is not None:
                return retry
        elif error.error_class in FATAL_HINTS:
            self._close(error)
        else:
            logger.warning("%s: %s (not retried)", request.url, error)
        raise ApiRejected(error, response)

    def _close(self, error: ApiError) -> None:
        if self._closing:
            return
        self._closing = True
        logger.error("%s — %s. Stopping the crawl.", error, FATAL_HINTS[error.error_class])
        reason = f"{error.api}_{error.error_class.value}"
        asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))
