"""``scrapy dbupgrade [REVISION]``: migrate HARVESTER_DATABASE_URL to the latest schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from sqlalchemy.exc import SQLAlchemyError

from harvester.checks import ConfigurationError, fail, open_database
from harvester.config import database_url, masked
from harvester.storage.migrate import current, upgrade

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # no crawl: no Scrapy start-up banner before errors

    def syntax(self) -> str:
        return "[revision]"

    def short_desc(self) -> str:
        return "Create or upgrade the harvester database schema (Alembic)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        url = database_url(self.settings)
        try:
            engine = open_database(url)
            try:
                before = current(engine)
                upgrade(engine, args[0] if args else "head")
                print(f"database schema of {masked(url)}: {before or 'empty'} -> {current(engine)}")
            finally:
                engine.dispose()
        except ConfigurationError as exc:
            fail("dbupgrade", exc, self.settings)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail("dbupgrade", ConfigurationError(f"the upgrade failed: {reason}"), self.settings)
