"""What every API spider shares: argument validation, request factory, errback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy.exceptions import UsageError
from scrapy.http import FormRequest, JsonRequest

from harvester import signals
from harvester.apis import get_provider
from harvester.apis.base import MissingCredentials
from harvester.config import base_url
from harvester.items import ApiRecord, DeadLetter, utcnow
from harvester.middlewares.errors import ApiRejected
from harvester.middlewares.signing import provider_config

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)


class ArgumentError(UsageError):
    """A spider argument is missing or malformed (raised before any request)."""


def id_list(value: str | None, name: str, *, numeric: bool = False) -> list[str]:
    """Split ``a,b,c`` (or ``@path/to/file`` with one id per line) into ids."""
    if not value:
        return []
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise ArgumentError(f"-a {name}={value}: file {path} does not exist")
        raw = [line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        raw = value.split(",")
    ids = [item.strip() for item in raw if item.strip()]
    if numeric:
        bad = [item for item in ids if not item.isdigit()]
        if bad:
            raise ArgumentError(
                f"-a {name}: ids must be numeric, got {', '.join(map(repr, bad[:5]))}"
            )
    return list(dict.fromkeys(ids))


def int_arg(value: Any, name: str, *, default: int, minimum: int = 0) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"-a {name}={value!r}: must be an integer") from None
    if number < minimum:
        raise ArgumentError(f"-a {name}={value!r}: must be at least {minimum}")
    return number


class ApiSpider(scrapy.Spider):
    """Base of the harvester's spiders.

    Subclasses set ``apis`` (provider names they call) and implement
    ``parse_arguments(**kwargs)``, which validates ``-a`` arguments and raises
    :class:`ArgumentError` with a message saying what to pass.
    """

    apis: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.harvester_arguments = dict(kwargs)
        spider.check_credentials(crawler.settings)
        return spider

    @classmethod
    def check_arguments(cls, settings: Any, **kwargs: Any) -> None:
        """Validate arguments and credentials without crawling (``scrapy crawl`` calls it
        first); raises :class:`ArgumentError` / ``UsageError`` with what to pass."""
        cls(**kwargs).check_credentials(settings)

    def check_credentials(self, settings: Any) -> None:
        for name in self.required_apis():
            try:
                provider_config(settings, get_provider(name))
            except MissingCredentials as exc:
                raise UsageError(str(exc)) from None

    def required_apis(self) -> tuple[str, ...]:
        """APIs this run will call (their credentials must be configured)."""
        return self.apis

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parse_arguments(**kwargs)

    def parse_arguments(self, **kwargs: Any) -> None:
        raise NotImplementedError

    def api_url(self, api: str, path: str) -> str:
        return base_url(self.settings, get_provider(api)) + path

    def api_request(
        self,
        api: str,
        path: str,
        data: dict[str, Any],
        callback: Callable[..., Any],
        cb_kwargs: dict[str, Any] | None = None,
        priority: int = 0,
    ) -> JsonRequest:
        """A POST/JSON request to *api*; signed at send time by the signing middleware."""
        return JsonRequest(
            self.api_url(api, path),
            data=data,
            callback=callback,
            errback=self.on_error,
            cb_kwargs=cb_kwargs or {},
            meta={"harvester_api": api},
            priority=priority,
            dont_filter=False,
        )

    def api_form_request(
        self,
        api: str,
        path: str,
        formdata: dict[str, str],
        callback: Callable[..., Any],
        cb_kwargs: dict[str, Any] | None = None,
    ) -> FormRequest:
        """A POST with a form-encoded body to *api*; signed at send time."""
        return FormRequest(
            self.api_url(api, path),
            formdata=formdata,
            callback=callback,
            errback=self.on_error,
            cb_kwargs=cb_kwargs or {},
            meta={"harvester_api": api},
        )

    @staticmethod
    def record(
        api: str,
        payload: dict[str, Any],
        context: dict[str, Any],
        response: Response,
        url: str | None = None,
    ) -> ApiRecord:
        """One raw record of *response* (its URL unless *url* is given); every record of an
        answer has the answer's arrival time, stamped by the error middleware."""
        return ApiRecord(api, payload, context, url or response.url, received_at(response))

    def record_missing(self, api: str, ids: list[str], url: str) -> None:
        """Ids the API did not return: counted and kept as ``missing`` dead letters."""
        self.crawler.stats.inc_value(f"harvester/{self.name}/missing", len(ids))
        for product_id in ids:
            self.crawler.signals.send_catch_log(
                signal=signals.dead_letter,
                dead_letter=DeadLetter(
                    api=api,
                    reason=f"not returned by the API: {product_id}",
                    kind="missing",
                    url=url,
                    body=product_id,
                ),
            )

    def on_error(self, failure: Failure) -> None:
        """Keep every failed call as a dead letter: its reason, request and body."""
        request = failure.request  # type: ignore[attr-defined]
        api = request.meta.get("harvester_api", "unknown")
        error = failure.value
        if isinstance(error, ApiRejected):
            response = error.response
            reason, status = str(error.error), response.status
            body = response.text if response.body else None
            kind = "response"
        else:
            reason = f"{type(error).__name__}: {error}"
            status, body, kind = None, None, "request"
        self.crawler.stats.inc_value(f"harvester/failed_requests/{api}")
        self.request_failed(request, reason)
        self.crawler.signals.send_catch_log(
            signal=signals.dead_letter,
            dead_letter=DeadLetter(
                api=api,
                reason=reason,
                kind=kind,
                url=request.url,
                http_status=status,
                request_body=request.body.decode("utf-8", "replace") if request.body else None,
                body=body,
            ),
        )

    def request_failed(self, request: scrapy.Request, reason: str) -> None:
        """Hook: a request failed for good (subclasses track completeness here)."""


def received_at(response: Response) -> datetime:
    """When *response* was read (``meta["harvester_received_at"]``), else now."""
    received = response.meta.get("harvester_received_at")
    return received if received is not None else utcnow()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
