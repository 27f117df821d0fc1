"""``scrapy replay_spool``: write the batches spooled while the database was down."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

from harvester.config import database_url
from harvester.storage import spool
from harvester.storage.db import ensure_schema, make_engine

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": True}

    def short_desc(self) -> str:
        return "Write spooled batches (HARVESTER_STORAGE_SPOOL_DIR) to the database"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "--any-database",
            action="store_true",
            help="also replay batches spooled for another database URL",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        directory = Path(self.settings.get("HARVESTER_STORAGE_SPOOL_DIR"))
        url = database_url(self.settings)
        engine = make_engine(url)
        ensure_schema(engine)
        target = None if opts.any_database else url
        done = spool.replay(engine, directory, target)
        engine.dispose()
        print(f"replayed {done.files} spooled batches ({done.items} items) from {directory}")
        others = len(spool.pending(directory)) - len(spool.pending(directory, target))
        if others:
            print(f"{others} batches were spooled for another database: left (see --any-database)")
        if done.failed:
            print(f"{len(done.failed)} batches failed again and stay in {directory}")
            self.exitcode = 1
