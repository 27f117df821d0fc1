"""``scrapy dbupgrade [REVISION]``: migrate HARVESTER_DATABASE_URL to the latest schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

from harvester.config import database_url
from harvester.storage.db import make_engine
from harvester.storage.migrate import current, upgrade

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self) -> str:
        return "[revision]"

    def short_desc(self) -> str:
        return "Create or upgrade the harvester database schema (Alembic)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        engine = make_engine(database_url(self.settings))
        before = current(engine)
        upgrade(engine, args[0] if args else "head")
        print(f"database schema: {before or 'empty'} -> {current(engine)}")
