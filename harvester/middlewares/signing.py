"""Sign API requests at send time.

A request tagged ``meta[META_API] = "<provider>"`` is signed by that
provider's ``sign`` right before it reaches the downloader, so a request that
waited in the scheduler, was resumed from a JOBDIR or is a retry carries a
fresh timestamp, nonce and signature. Like ``HttpAuthMiddleware``, it only acts
on requests for its provider's configured host, and it never signs a request
with ``meta["harvester_dont_sign"]``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached

from harvester.apis import get_provider
from harvester.apis.base import META_API, MissingCredentials, Unsigned
from harvester.config import base_url, provider_config
from harvester.credentials import META_CREDENTIAL, CredentialPools

if TYPE_CHECKING:
    from types import ModuleType
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

API_META_KEY = META_API
__all__ = ["ApiSigningMiddleware", "apply_signature", "provider_config"]


def apply_signature(
    request: Request, provider: ModuleType, config: dict[str, str], now: float
) -> None:
    """Sign *request* in place for the instant *now*.

    In place, because returning ``request.replace(...)`` from ``process_request``
    would send the request back through the scheduler (and its dupe filter)
    instead of to the downloader. Headers are public API; URL and body of a
    request have no public setter, so the private ones that ``Request.__init__``
    uses are called here, in this one function.
    """
    unsigned = Unsigned(
        method=request.method,
        url=request.url,
        headers={k.decode().lower(): v[0].decode() for k, v in request.headers.items() if v},
        body=request.body,
    )
    signed = provider.sign(unsigned, config, now)
    for name, value in signed.headers.items():
        request.headers[name] = value
    if signed.url is not None:
        request._set_url(signed.url)  # noqa: SLF001 - see docstring
    if signed.body is not None:
        request._set_body(signed.body)  # noqa: SLF001 - see docstring


class ApiSigningMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        #: every API's credentials; a request is signed with the one the rate limiter
        #: chose for it (``meta["harvester_credential"]``), else the first
        self.pools = CredentialPools(crawler.settings)
        self._hosts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _config(self, name: str, credential: str | None) -> dict[str, str]:
        provider = get_provider(name)
        if name not in self._hosts:
            self._hosts[name] = urlparse_cached(
                Request(base_url(self.crawler.settings, provider))
            ).hostname
        return self.pools.config(provider, credential)

    def process_request(self, request: Request) -> None:
        name = request.meta.get(API_META_KEY)
        if not name or request.meta.get("harvester_dont_sign"):
            return
        try:
            config = self._config(name, request.meta.get(META_CREDENTIAL))
        except MissingCredentials as exc:
            raise IgnoreRequest(str(exc)) from None
        if urlparse_cached(request).hostname != self._hosts[name]:
            logger.warning(
                "Not signing %s for %s: host is not the configured base URL's", request.url, name
            )
            return
        apply_signature(request, get_provider(name), config, time.time())
        self.crawler.stats.inc_value(f"harvester/signing/{name}/signed")
