"""Keep every dead letter: counted, secrets stripped, stored — with or without a database.

Receives the ``dead_letter`` signal (:mod:`harvester.dead_letters` builds them), and for
each one:

1. counts it as ``harvester/dead_letter/<api>/<kind>`` and logs a warning line;
2. strips secrets: the value of every provider secret (settings or environment) and
   the signing parameters of URLs and form bodies (each provider's ``AUTH_PARAMS``)
   become ``***``;
3. keeps it: with storage on (``HARVESTER_STORAGE_ENABLED``) the SQL storage pipeline
   writes it to ``dead_letters`` (signal ``dead_letter_kept``); with storage off it is
   appended to ``HARVESTER_DEAD_LETTERS_FILE`` as one JSON line — never dropped.

``HARVESTER_DEAD_LETTERS_ENABLED = False`` turns this component off (dead letters are
then neither counted nor kept).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy import signals as scrapy_signals
from scrapy.exceptions import NotConfigured

from harvester import signals
from harvester.apis import all_providers
from harvester.config import project_path
from harvester.dead_letters import payload_text
from harvester.extensions.redact import SecretFilter, secret_values

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

    from harvester.items import DeadLetter

logger = logging.getLogger(__name__)

MASK = "***"
#: Where dead letters go with storage off, when HARVESTER_DEAD_LETTERS_FILE is empty.
DEFAULT_FILE = "data/dead_letters.jsonl"


class Redactor:
    """Removes secrets from a dead letter's text fields."""

    def __init__(self, secrets: list[str], params: set[str]) -> None:
        self.values = SecretFilter(secrets)
        self.params = {name.lower() for name in params}

    def text(self, value: str | None) -> str | None:
        return self.values.redact(value) if value else value

    def query(self, query: str) -> str:
        pairs = parse_qsl(query, keep_blank_values=True)
        if not any(name.lower() in self.params for name, _ in pairs):
            return query
        return urlencode(
            [(name, MASK if name.lower() in self.params else value) for name, value in pairs]
        )

    def url(self, url: str | None) -> str | None:
        if not url:
            return url
        parts = urlsplit(url)
        return self.text(urlunsplit(parts._replace(query=self.query(parts.query))))

    def body(self, body: str | None) -> str | None:
        if body and "=" in body and not body.lstrip().startswith(("{", "[")):
            body = self.query(body)  # a form-encoded request body
        return self.text(body)

    def __call__(self, letter: DeadLetter) -> DeadLetter:
        return dataclasses.replace(
            letter,
            reason=self.text(letter.reason) or "",
            url=self.url(letter.url),
            request_body=self.body(letter.request_body),
            body=self.text(letter.body),
        )


class DeadLetters:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("HARVESTER_DEAD_LETTERS_ENABLED"):
            raise NotConfigured("HARVESTER_DEAD_LETTERS_ENABLED is off")
        self.crawler = crawler
        self.to_storage = settings.getbool("HARVESTER_STORAGE_ENABLED")
        self.path = project_path(settings.get("HARVESTER_DEAD_LETTERS_FILE") or DEFAULT_FILE)
        params = {name for provider in all_providers() for name in provider.AUTH_PARAMS}
        self.redact = Redactor(secret_values(settings), params)
        self._file: TextIO | None = None
        crawler.signals.connect(self._dead_letter, signal=signals.dead_letter)
        crawler.signals.connect(self._spider_closed, signal=scrapy_signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _dead_letter(self, dead_letter: DeadLetter) -> None:
        self.crawler.stats.inc_value(f"harvester/dead_letter/{dead_letter.api}/{dead_letter.kind}")
        letter = self.redact(dead_letter)
        logger.warning("Dead letter from %s: %s (%s)", letter.api, letter.reason, letter.url)
        if self.to_storage:
            self.crawler.signals.send_catch_log(signal=signals.dead_letter_kept, dead_letter=letter)
        else:
            self._append(letter)

    def _append(self, letter: DeadLetter) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
            logger.info("Dead letters go to %s (storage is off)", self.path.resolve())
        record: dict[str, Any] = dataclasses.asdict(letter)
        record["fetched_at"] = letter.fetched_at.isoformat()
        self._file.write(payload_text(record) + "\n")
        self.crawler.stats.inc_value("harvester/dead_letters/file")

    def _spider_closed(self, spider: Any = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
