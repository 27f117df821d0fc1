"""Classify every API answer by its provider's rules, including errors inside HTTP 200 bodies.

For a request tagged ``meta["harvester_api"]`` the provider's ``check_response``
reads the envelope:

- success: the envelope's ``data`` is put in ``response.meta["harvester_data"]``
  so the callback does not parse the body again;
- retryable / rate-limited: the API's download slot is backed off
  (:data:`harvester.signals.api_backoff`, handled by the AutoThrottle extension),
  and the request retried with Scrapy's ``get_retry_request`` (so the retry is
  re-signed by :mod:`.signing`), up to ``RETRY_TIMES`` (``HARVESTER_RATE_LIMIT_RETRY_TIMES``
  for throttle answers);
- auth / clock / quota: logged once with what to do, and the spider is closed
  with reason ``<api>_<class>`` (no retry storm);
- permanent, or retries exhausted: :class:`ApiRejected` goes to the request's
  errback, which keeps the response as a dead letter.

Stats: ``harvester/api/<api>/<class>`` per answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured

from harvester import signals
from harvester.apis import get_provider
from harvester.apis.base import ApiError, ErrorClass

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)

FATAL_HINTS = {
    ErrorClass.AUTH: "check the API's credentials (access key / secret / token) and that they are active",
    ErrorClass.CLOCK: "the local clock is too far from the server's: fix the clock (NTP) and run again",
    ErrorClass.QUOTA: "the call quota is exhausted or the API is not granted: top up or request access, then run again",
}


class ApiRejected(IgnoreRequest):
    """An API answer that will not be retried; ``errback`` receives it."""

    def __init__(self, error: ApiError, response: Response) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


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
        headers = {k.decode().lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        stats = self.crawler.stats
        try:
            data = provider.check_response(response.status, headers, response.body)
        except ApiError as error:
            stats.inc_value(f"harvester/api/{name}/{error.error_class.value}")
            return self._on_error(request, response, error)
        stats.inc_value(f"harvester/api/{name}/ok")
        self.crawler.signals.send_catch_log(signal=signals.api_answer, request=request, response=response)
        request.meta["harvester_data"] = data
        return response

    def _on_error(self, request: Request, response: Response, error: ApiError) -> Request:
        if error.error_class in (ErrorClass.RETRYABLE, ErrorClass.RATE_LIMITED):
            throttled = error.error_class is ErrorClass.RATE_LIMITED
            # back the API's slot off first, so that the retry waits (and is re-signed when sent)
            self.crawler.signals.send_catch_log(
                signal=signals.api_backoff, request=request, error=error,
                factor=None if throttled else self.retry_backoff,
            )
            retry = get_retry_request(
                request,
                spider=self.crawler.spider,
                reason=f"{error.api}:{error.code}",
                max_retry_times=self.throttle_retry_times if throttled else None,
                stats_base_key=f"harvester/retry/{error.api}",
            )
            if retry is not None:
                return retry
            raise ApiRejected(error, response)
        if error.error_class in FATAL_HINTS:
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
