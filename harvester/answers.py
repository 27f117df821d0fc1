"""Reading an API answer: the rules the error middleware and the spiders' callbacks share.

- :func:`check_answer`: the provider's ``check_response`` over a Scrapy response, with a
  ``Retry-After`` header honoured for providers that do not read it themselves, and a
  body that is not JSON (a truncated transfer, a gateway's HTML page) retryable for all;
- :func:`api_data`: what a callback parses: the error middleware's result when it ran
  (``meta[META_DATA]``), else :func:`check_answer` — so callbacks work the same with
  ``HARVESTER_API_ERRORS_ENABLED=False``;
- :func:`get_api_retry_request`: the retry of a failed answer by its error class, counted
  apart for throttled answers (:func:`get_throttle_retry_request`), on top of Scrapy's
  public ``get_retry_request``; ``None`` when the retries are used up;
- :class:`ApiRejected`: an answer that will not be retried, for the request's errback.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.retry import get_retry_request

from harvester.apis import get_provider
from harvester.apis.base import META_API, META_DATA, META_RECEIVED_AT, ApiError, ErrorClass
from harvester.apis.fields import retry_after_seconds
from harvester.items import utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from scrapy import Request, Spider
    from scrapy.http import Response

#: Meta key counting the throttle retries of a request (``retry_times`` counts the others).
THROTTLE_RETRIES = "harvester_throttle_retries"
#: Error classes worth another try.
RETRIED = (ErrorClass.RETRYABLE, ErrorClass.RATE_LIMITED)


def response_headers(response: Response) -> dict[str, str]:
    """The first value of each header, names lower-cased."""
    return {k.decode().lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v}


def check_answer(api: str, response: Response) -> Any:
    """The envelope's data of *response* from *api*, or a classified :class:`ApiError`."""
    headers = response_headers(response)
    try:
        return get_provider(api).check_response(response.status, headers, response.body)
    except ApiError as error:
        if error.error_class is ErrorClass.PERMANENT and not is_json(response.body):
            # a truncated transfer or a gateway's error page: a transport failure, retried
            # like a 5xx (and dead-lettered only after the retries)
            error = dataclasses.replace(error, error_class=ErrorClass.RETRYABLE)
        if error.retry_after is None and error.error_class in RETRIED:
            retry_after = retry_after_seconds(headers.get("retry-after"))
            error = dataclasses.replace(error, retry_after=retry_after)
        raise error from None
    except RecursionError:
        raise ApiError(api, ErrorClass.PERMANENT, "shape", "answer nested too deeply") from None


def is_json(body: bytes) -> bool:
    """Whether *body* parses as JSON (called on error answers only)."""
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def api_data(response: Response) -> Any:
    """The data of an API answer for a callback: the error middleware's result when it
    ran, else the provider's own check (raises :class:`ApiError` for an error answer)."""
    meta = response.meta
    if META_DATA in meta:
        return meta[META_DATA]
    return check_answer(meta[META_API], response)


def received_at(response: Response) -> datetime:
    """When *response* was read (``meta[META_RECEIVED_AT]``), else now."""
    received = response.meta.get(META_RECEIVED_AT)
    return received if received is not None else utcnow()


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


def get_api_retry_request(
    request: Request, error: ApiError, *, spider: Spider, throttle_retry_times: int
) -> Request | None:
    """The retry of *request* after *error* (retryable or throttled), or ``None`` when
    the error is not worth another try or the retries are used up. Ordinary retries
    follow ``RETRY_TIMES`` (stats ``harvester/retry/<api>/...``); throttled ones
    *throttle_retry_times* (stats ``harvester/throttle_retry/<api>/...``)."""
    reason = f"{error.api}:{error.code}"
    if error.error_class is ErrorClass.RATE_LIMITED:
        return get_throttle_retry_request(
            request,
            spider=spider,
            reason=reason,
            max_retry_times=throttle_retry_times,
            stats_base_key=f"harvester/throttle_retry/{error.api}",
        )
    if error.error_class is ErrorClass.RETRYABLE:
        return get_retry_request(
            request, spider=spider, reason=reason, stats_base_key=f"harvester/retry/{error.api}"
        )
    return None
