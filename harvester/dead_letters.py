"""Dead letters, built in one place: what failed, why, and its body, losslessly.

Spiders, pipelines and the errback build :class:`~harvester.items.DeadLetter` items
with these functions and hand them to :func:`send` (the ``dead_letter`` signal);
the dead-letter extension (:mod:`harvester.extensions.dead_letters`) counts them as
``harvester/dead_letter/<api>/<kind>``, strips secrets and keeps them. Kinds:

- ``response``: a whole API answer rejected (error answer, or not readable);
- ``request``: a call that got no answer (timeout, dropped connection), after retries;
- ``record``: one record of an answer that could not be read or normalized;
- ``missing``: an id asked for that the answer did not contain.

Bodies keep any text: a lone UTF-16 surrogate (valid JSON: ``"\\ud800"``, e.g. a
truncated emoji) is kept as escaped JSON, bytes that are not UTF-8 as ``\\xNN``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from harvester import signals
from harvester.items import DeadLetter, utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


def payload_text(payload: Any) -> str:
    """*payload* as JSON text that any UTF-8 store accepts, without loss."""
    try:
        text = json.dumps(payload, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # circular or absurdly deep: keep what repr shows
        return body_text(repr(payload).encode("utf-8", "backslashreplace"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escape them (json.loads gives them back)
        return json.dumps(payload, ensure_ascii=True, default=str)
    return text


def body_text(body: bytes | None) -> str | None:
    """A response body as text: UTF-8 as is, other bytes as ``\\xNN`` escapes."""
    if not body:
        return None
    return body.decode("utf-8", "backslashreplace")


def request_body(request: Request) -> str | None:
    return body_text(request.body)


def rejected(
    api: str, response: Response, reason: str, *, request: Request | None = None
) -> DeadLetter:
    """A whole answer that was refused or could not be read."""
    request = request if request is not None else response.request
    return DeadLetter(
        api=api,
        reason=reason,
        kind="response",
        url=response.url,
        http_status=response.status,
        request_body=request_body(request) if request is not None else None,
        body=body_text(response.body),
    )


def unanswered(api: str, request: Request, reason: str) -> DeadLetter:
    """A call that got no answer at all."""
    return DeadLetter(
        api=api, reason=reason, kind="request", url=request.url, request_body=request_body(request)
    )


def bad_record(
    api: str, reason: str, payload: Any, url: str | None, fetched_at: datetime | None = None
) -> DeadLetter:
    """One record that could not be read or normalized."""
    return DeadLetter(
        api=api,
        reason=reason,
        kind="record",
        url=url,
        body=payload_text(payload),
        fetched_at=fetched_at or utcnow(),
    )


def missing(api: str, item_id: str, url: str) -> DeadLetter:
    """An id asked for that the answer left out."""
    return DeadLetter(
        api=api, reason=f"not returned by the API: {item_id}", kind="missing", url=url, body=item_id
    )


def send(crawler: Crawler, dead_letter: DeadLetter) -> None:
    """Hand *dead_letter* to whoever keeps dead letters (the ``dead_letter`` signal)."""
    crawler.signals.send_catch_log(signal=signals.dead_letter, dead_letter=dead_letter)
