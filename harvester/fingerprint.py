"""A request fingerprinter that ignores auth parameters.

Signatures, timestamps and nonces change on every send; if they were part of
the fingerprint, dupe filtering, the HTTP cache and JOBDIR resume would break
for signed requests (protocols.md). Auth headers are not fingerprinted by
Scrapy anyway; this strips each provider's ``AUTH_PARAMS`` from the query string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.utils.request import fingerprint

from harvester.apis import all_providers

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler


class AuthlessRequestFingerprinter:
    def __init__(self) -> None:
        self._auth_params = frozenset(
            name for provider in all_providers() for name in getattr(provider, "AUTH_PARAMS", ())
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def strip(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return url
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in self._auth_params
        ]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def fingerprint(self, request: Request) -> bytes:
        stripped = self.strip(request.url)
        if stripped != request.url:
            request = request.replace(url=stripped)
        return fingerprint(request)
