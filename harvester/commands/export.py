"""``scrapy export TABLE -o FILE`` or ``scrapy export --query "select ..." -o FILE``
(FILE ending in .csv, .jsonl or .parquet, or ``--format``; ``-o -`` writes to standard
output, CSV unless ``--format`` says otherwise): export from HARVESTER_DATABASE_URL."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from sqlalchemy.exc import SQLAlchemyError

from harvester.checks import ConfigurationError, fail, open_database
from harvester.config import database_url
from harvester.storage.export import FORMATS, STDOUT, export

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # no crawl: no Scrapy start-up banner before errors
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "[TABLE] [--query SQL] -o FILE.(csv|jsonl|parquet) [--format FORMAT]"

    def short_desc(self) -> str:
        return "Export a table or a query result to CSV, JSON Lines or Parquet"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            help="output file (.csv, .jsonl, .parquet); - for standard output (CSV by default)",
        )
        parser.add_argument("--query", help="a SQL query instead of a table")
        parser.add_argument(
            "-f", "--format", choices=FORMATS, help="output format (default: from the extension)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            engine = open_database(database_url(self.settings))
        except ConfigurationError as exc:
            fail("export", exc, self.settings)
        try:
            count = export(
                engine,
                opts.output,
                table=args[0] if args else None,
                query=opts.query,
                fmt=opts.format,
            )
        except BrokenPipeError:  # `scrapy export ... -o - | head`: the reader has enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        except ValueError as exc:
            fail("export", exc, self.settings)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail("export", f"the database refused the export: {reason}", self.settings)
        finally:
            engine.dispose()
        where = "standard output" if opts.output == STDOUT else opts.output
        print(
            f"exported {count} rows to {where}",
            file=sys.stderr if opts.output == STDOUT else sys.stdout,
        )
