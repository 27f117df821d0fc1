"""Sign API requests at send time, in the download handler.

A request tagged ``meta[META_API] = "<provider>"`` is signed by that provider's
``sign`` as the download handler sends it, after every downloader middleware (the
rate limiter's grant included) has run: a request that waited in the scheduler or
for its rate limit, was resumed, or is a retry carries a fresh timestamp, nonce and
signature, and the time between the limiter's grant and the bytes leaving is as
short as the stack allows.

Why a download handler and not a downloader middleware: some signatures travel in
the query string or the form body (Alibaba Cloud RPC, Taobao Open Platform), and a
request's URL and body have no public setter; returning ``request.replace(...)``
from a middleware's ``process_request`` sends the copy back through the scheduler.
A handler may download any request it likes, so this one downloads a signed copy
with the transport handler (``HARVESTER_SIGNING_TRANSPORT``, Scrapy's HTTP/1.1
handler by default) and gives the response the original request back: callbacks,
retries and the work ledger only ever see the unsigned request, so nothing
downstream holds a signature, and a retry is signed anew.

Like ``HttpAuthMiddleware``, it only signs requests for its provider's configured
host, and never a request with ``meta["harvester_dont_sign"]``.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

from harvester.apis import get_provider
from harvester.apis.base import META_API, MissingCredentials, Unsigned
from harvester.config import base_url
from harvester.credentials import META_CREDENTIAL, CredentialPools

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

#: the handler that does the HTTP; Scrapy's own default for http and https
DEFAULT_TRANSPORT = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"


def signed_request(
    request: Request, provider: ModuleType, config: dict[str, str], now: float
) -> Request:
    """A copy of *request* signed by *provider* for the instant *now*."""
    unsigned = Unsigned(
        method=request.method,
        url=request.url,
        headers={k.decode().lower(): v[0].decode() for k, v in request.headers.items() if v},
        body=request.body,
    )
    signed = provider.sign(unsigned, config, now)
    headers = request.headers.copy()
    for name, value in signed.headers.items():
        headers[name] = value
    return request.replace(
        url=signed.url if signed.url is not None else request.url,
        body=signed.body if signed.body is not None else request.body,
        headers=headers,
    )


class Signer:
    """Which requests to sign, with which credential (the one the rate limiter chose
    for it, ``meta["harvester_credential"]``, else the API's first)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pools = CredentialPools(crawler.settings)
        self.hosts: dict[str, str | None] = {}

    def host(self, name: str) -> str | None:
        if name not in self.hosts:
            provider = get_provider(name)
            url = base_url(self.crawler.settings, provider)
            self.hosts[name] = urlparse_cached(Request(url)).hostname
        return self.hosts[name]

    def sign(self, request: Request) -> Request:
        """*request* signed now, or *request* itself when it is not an API call of a
        configured host. Missing credentials drop the request with the reason."""
        name = request.meta.get(META_API)
        if not name or request.meta.get("harvester_dont_sign"):
            return request
        provider = get_provider(name)
        try:
            config = self.pools.config(provider, request.meta.get(META_CREDENTIAL))
        except MissingCredentials as exc:
            raise IgnoreRequest(str(exc)) from None
        if urlparse_cached(request).hostname != self.host(name):
            logger.warning(
                "Not signing %s for %s: host is not the configured base URL's", request.url, name
            )
            return request
        signed = signed_request(request, provider, config, time.time())
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"harvester/signing/{name}/signed")
        return signed


class SigningDownloadHandler(BaseDownloadHandler):
    """``DOWNLOAD_HANDLERS`` for http and https: sign, then download with the transport."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.signer = Signer(crawler)
        transport = crawler.settings.get("HARVESTER_SIGNING_TRANSPORT") or DEFAULT_TRANSPORT
        self.transport: BaseDownloadHandler = build_from_crawler(load_object(transport), crawler)

    async def download_request(self, request: Request) -> Response:
        signed = self.signer.sign(request)
        response = await self.transport.download_request(signed)
        return response if signed is request else response.replace(request=request)

    async def close(self) -> None:
        await self.transport.close()
