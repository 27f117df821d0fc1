"""``scrapy export TABLE -o FILE`` or ``scrapy export --query "select ..." -o FILE``
(FILE ending in .csv, .jsonl or .parquet, or ``--format``): export from HARVESTER_DATABASE_URL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy.exc import SQLAlchemyError

from harvester.config import database_url
from harvester.storage.db import make_engine
from harvester.storage.export import FORMATS, export

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self) -> str:
        return "[TABLE] [--query SQL] -o FILE.(csv|jsonl|parquet) [--format FORMAT]"

    def short_desc(self) -> str:
        return "Export a table or a query result to CSV, JSON Lines or Parquet"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument(
            "-o", "--output", required=True, help="output file (.csv, .jsonl, .parquet)"
        )
        parser.add_argument("--query", help="a SQL query instead of a table")
        parser.add_argument(
            "-f", "--format", choices=FORMATS, help="output format (default: from the extension)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        engine = make_engine(database_url(self.settings))
        try:
            count = export(
                engine,
                Path(opts.output),
                table=args[0] if args else None,
                query=opts.query,
                fmt=opts.format,
            )
        except ValueError as exc:
            raise UsageError(str(exc), print_help=False) from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UsageError(
                f"the database refused the export: {reason}", print_help=False
            ) from None
        finally:
            engine.dispose()
        print(f"exported {count} rows to {opts.output}")
