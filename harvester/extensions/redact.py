"""Keep secrets out of logs.

Scrapy logs "Overridden settings" (which would show ``-s PANDAPON_SECRET_KEY=...``)
and components may log URLs or headers. This extension installs a logging filter
on the root handlers that replaces the value of every provider secret (from
settings or the environment) with ``***``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from harvester.apis import all_providers
from harvester.apis.base import setting_or_env

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class SecretFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def secret_values(settings: Any) -> list[str]:
    names = [
        name for provider in all_providers() for name in getattr(provider, "SECRET_SETTINGS", ())
    ]
    from harvester.credentials import secret_values as pool_secrets  # the credential pools'

    return [value for name in names if (value := setting_or_env(settings, name))] + pool_secrets(
        settings
    )


class RedactSecrets:
    def __init__(self, crawler: Crawler) -> None:
        self.filter = SecretFilter(secret_values(crawler.settings))
        for handler in logging.getLogger().handlers:
            handler.addFilter(self.filter)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)
