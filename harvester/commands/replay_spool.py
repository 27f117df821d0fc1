"""``scrapy replay_spool``: write the batches spooled while the database was down."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.utils.log import configure_logging
from sqlalchemy.exc import SQLAlchemyError

from harvester.checks import ConfigurationError, fail, open_database
from harvester.config import database_url, project_path
from harvester.storage import spool
from harvester.storage.db import ensure_schema

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # no crawl: no Scrapy start-up banner before errors
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
        configure_logging(self.settings)
        directory = project_path(self.settings.get("HARVESTER_STORAGE_SPOOL_DIR"))
        url = database_url(self.settings)
        try:
            engine = open_database(url)
        except ConfigurationError as exc:
            waiting = len(spool.pending(directory))
            fail(
                "replay_spool",
                f"{exc}; the {waiting} spooled batches stay in {directory}",
                self.settings,
            )
        try:
            ensure_schema(engine)
            target = None if opts.any_database else url
            done = spool.replay(engine, directory, target)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail(
                "replay_spool",
                f"the database refused the replay: {reason}; the batches stay in {directory}",
                self.settings,
            )
        finally:
            engine.dispose()
        print(f"replayed {done.files} spooled batches ({done.items} items) from {directory}")
        others = len(spool.pending(directory)) - len(spool.pending(directory, target))
        if others:
            print(f"{others} batches were spooled for another database: left (see --any-database)")
        if done.failed:
            print(f"{len(done.failed)} batches failed again and stay in {directory}")
            self.exitcode = 1
