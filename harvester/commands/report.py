"""``scrapy report [RUN_ID | --last N] -o FILE.html``: a crawl run as one HTML file.

The page (:mod:`harvester.reporting.report`) is self-contained — inline styles and SVG
charts, no script, font or link to fetch — so it opens from disk. Without ``RUN_ID`` it
reports the newest run; ``--last N`` sets how many runs (up to it) are compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy.exc import SQLAlchemyError

from harvester.config import database_url
from harvester.storage.db import make_engine
from harvester.storage.migrate import current

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[RUN_ID | --last N] -o FILE.html"

    def short_desc(self) -> str:
        return "Write a crawl run's report (charts, figures, last runs) as one HTML file"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE.html", help="where to write it")
        parser.add_argument(
            "--last", type=int, default=10, metavar="N", help="runs compared (default 10)"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) > 1 or (args and not args[0].isdigit()):
            raise UsageError("scrapy report [RUN_ID]: RUN_ID is a number", print_help=False)
        if not opts.output:
            raise UsageError("scrapy report: -o FILE.html is required", print_help=False)
        if opts.last < 1:
            raise UsageError("scrapy report: --last N needs N >= 1", print_help=False)
        from harvester.reporting.queries import last_run_ids
        from harvester.reporting.report import render

        engine = make_engine(database_url(self.settings))
        try:
            if current(engine) is None:
                raise UsageError("no crawl runs yet (no harvester schema)", print_help=False)
            newest = last_run_ids(engine, 1)
            run_id = int(args[0]) if args else (newest[0] if newest else None)
            page = render(engine, run_id, opts.last) if run_id is not None else None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UsageError(f"cannot read crawl runs: {reason}", print_help=False) from None
        finally:
            engine.dispose()
        if page is None:
            raise UsageError(
                f"no crawl run {run_id if run_id is not None else 'yet'}", print_help=False
            )
        path = Path(opts.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
        print(f"report of crawl run {run_id} written to {path} (open it in a browser)")
