"""What every API spider shares: arguments, request factory, errback, dead letters.

Callbacks read an answer with :func:`harvester.answers.api_data` and never raise for
bad data: an answer that cannot be read becomes a ``response`` dead letter
(:meth:`ApiSpider.reject`), a record that cannot be read a ``record`` dead letter
(:meth:`ApiSpider.reject_record`); the rest of the page still goes on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy
from scrapy import signals as scrapy_signals
from scrapy.exceptions import UsageError
from scrapy.http import FormRequest, JsonRequest

from harvester import dead_letters, frontier, signals
from harvester.answers import received_at
from harvester.apis import get_provider
from harvester.apis.base import META_API, ApiError, ApiRejected, MissingCredentials
from harvester.config import base_url, provider_config
from harvester.items import ApiRecord, UnitDone
from harvester.ledger import Ledger
from harvester.spiders.arguments import ArgumentError, SpiderArguments

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

__all__ = ["BAD_DATA", "ApiSpider", "ArgumentError", "received_at"]

logger = logging.getLogger(__name__)

#: Request meta: the shared crawl's unit a request does (acknowledged by its answer).
META_SHARED = "harvester_shared_unit"

#: What reading malformed data may raise: callbacks turn these into dead letters. (The
#: provider modules raise ``ApiError`` with the path of the problem; the others are a
#: safety net for shapes they do not check yet.)
BAD_DATA = (
    ApiError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)


class ApiSpider(scrapy.Spider):
    """Base of the harvester's spiders.

    Subclasses set ``apis`` (provider names they call) and ``Arguments`` (a
    :class:`~harvester.spiders.arguments.SpiderArguments` model of their ``-a``
    arguments), and implement ``configure(arguments)``; settings they depend on are
    read in ``read_settings(settings)``. Every check runs before any request and
    raises :class:`ArgumentError` with a message saying what to pass.
    """

    apis: ClassVar[tuple[str, ...]] = ()
    #: The spider's ``-a`` arguments.
    Arguments: ClassVar[type[SpiderArguments]] = SpiderArguments
    #: Whether processes with the same arguments and ``HARVESTER_REDIS_URL`` share the
    #: crawl (:mod:`harvester.frontier`); ``shared`` is then this process's worker.
    shareable: ClassVar[bool] = False
    shared: frontier.FrontierWorker | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.read_settings(crawler.settings)
        spider.ledger.connect(crawler)
        spider.check_credentials(crawler.settings)
        crawler.signals.connect(spider.given_arguments, signal=signals.run_arguments)
        if spider.shareable:
            spider.shared = frontier.worker_for(crawler, spider.name, spider.arguments.model_dump())
        if spider.shared is not None:
            crawler.signals.connect(spider.shared_answer, signal=signals.answer_processed)
            crawler.signals.connect(spider.close_shared, signal=scrapy_signals.spider_closed)
        spider.connected(crawler)
        return spider

    @classmethod
    def check_arguments(cls, settings: Any, **kwargs: Any) -> None:
        """Validate arguments, settings and credentials without crawling (``scrapy crawl``
        calls it first); raises :class:`ArgumentError` / ``UsageError`` with what to pass."""
        spider = cls(**kwargs)
        spider.read_settings(settings)
        spider.check_credentials(settings)

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
        super().__init__()
        #: The work ledger: units done by the job this run resumes (harvester/ledger.py).
        self.ledger = Ledger()
        self._given = dict(kwargs)
        self.arguments = self.Arguments.parse(kwargs)
        self.configure(self.arguments)

    async def shared_units(self, units: list[str]) -> AsyncIterator[str]:
        """The work units (batch keys, ids: the same list in every worker) this process
        walks: all of them alone, those it claims as a worker of a shared crawl. Tag a
        unit's request with :meth:`tag`: its answer or failure acknowledges the unit."""
        if self.shared is None:
            for unit in units:
                yield unit
            return
        async for unit, _ in self.shared.claims(units):
            yield unit

    @staticmethod
    def tag(request: scrapy.Request, unit: str) -> scrapy.Request:
        request.meta[META_SHARED] = unit
        return request

    def unit_skipped(self, unit: str) -> None:
        """A claimed unit needs no call (done by the work ledger, over a cap)."""
        if self.shared is not None:
            self.shared.done(unit)

    def shared_answer(self, request: scrapy.Request, marker: UnitDone | None) -> None:
        """``answer_processed``: the callback of a claimed unit's answer has ended; the
        unit is acknowledged once its items are stored (its marker), or now."""
        if self.shared is not None and META_SHARED in request.meta:
            self.shared.done(request.meta[META_SHARED], None if marker is None else marker.unit)

    async def close_shared(self) -> None:
        if self.shared is not None:
            await self.shared.close()

    def configure(self, arguments: Any) -> None:
        """Set the spider up from its validated *arguments*."""

    def read_settings(self, settings: Any) -> None:
        """Read and check the settings the spider depends on (raise :class:`ArgumentError`)."""

    def connected(self, crawler: Crawler) -> None:
        """Hook: the spider has its crawler (connect signal handlers here)."""

    def given_arguments(self) -> dict[str, Any]:
        """The spider arguments as given (answers the ``run_arguments`` signal)."""
        return dict(self._given)

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
        """A POST/JSON request to *api*; signed at send time by the signing download handler."""
        return JsonRequest(
            self.api_url(api, path),
            data=data,
            callback=callback,
            errback=self.on_error,
            cb_kwargs=cb_kwargs or {},
            meta={META_API: api},
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
            meta={META_API: api},
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

    def reject(self, response: Response, error: Exception | str) -> None:
        """A whole answer a callback could not read: a ``response`` dead letter."""
        api = response.meta.get(META_API, "unknown")
        reason = describe(error)
        self.request_failed(response.request, reason)
        dead_letters.send(self.crawler, dead_letters.rejected(api, response, reason))

    def reject_record(
        self, api: str, payload: Any, error: Exception | str, response: Response
    ) -> None:
        """One record a callback could not read: a ``record`` dead letter."""
        dead_letters.send(
            self.crawler,
            dead_letters.bad_record(
                api, describe(error), payload, response.url, received_at(response)
            ),
        )

    def plan(self, count: int, api: str) -> None:
        """Progress: *count* more calls of *api* are needed (``units_planned``)."""
        if count > 0:
            self.crawler.signals.send_catch_log(signal=signals.units_planned, count=count, api=api)

    def unit_done(self, api: str) -> None:
        """Progress: one call of *api* has its answer or failure (``unit_finished``)."""
        self.crawler.signals.send_catch_log(signal=signals.unit_finished, api=api)

    def record_missing(self, api: str, ids: list[str], url: str) -> None:
        """Ids the API did not return: counted and kept as ``missing`` dead letters."""
        self.crawler.stats.inc_value(f"harvester/{self.name}/missing", len(ids))
        for product_id in ids:
            dead_letters.send(self.crawler, dead_letters.missing(api, product_id, url))

    @staticmethod
    def rejection(failure: Failure) -> ApiError | None:
        """The API's error answer behind *failure*, if that is what it is."""
        value = failure.value
        return value.error if isinstance(value, ApiRejected) else None

    def on_error(self, failure: Failure) -> None:
        """Keep every failed call as a dead letter: its reason, request and body."""
        request = failure.request  # type: ignore[attr-defined]
        api = request.meta.get(META_API, "unknown")
        error = failure.value
        if isinstance(error, ApiRejected):
            reason = str(error.error)
            letter = dead_letters.rejected(api, error.response, reason, request=request)
        else:
            reason = f"{type(error).__name__}: {error}"
            letter = dead_letters.unanswered(api, request, reason)
        self.unit_done(api)
        self.request_failed(request, reason)
        dead_letters.send(self.crawler, letter)

    def request_failed(self, request: scrapy.Request | None, reason: str) -> None:
        """Hook: a request failed for good (subclasses track completeness here; call this)."""
        if self.shared is not None and request is not None and META_SHARED in request.meta:
            self.shared.done(request.meta[META_SHARED])


def describe(error: Exception | str) -> str:
    """The reason of a dead letter: an API error as it says, anything else with its type."""
    if isinstance(error, (str, ApiError)):
        return str(error)
    return f"unreadable data: {type(error).__name__}: {error}"
