"""``scrapy crawl`` that checks a harvester spider's arguments and credentials
before starting the crawl, so that a mistake ends with one clear line and exit
code 2 (``Usage error: ...``) instead of a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and self.crawler_process is not None:
            spidercls = self.crawler_process.spider_loader.load(args[0])
            check = getattr(spidercls, "check_arguments", None)
            if check is not None:
                try:
                    check(self.settings, **opts.spargs)
                except UsageError as exc:
                    raise UsageError(str(exc), print_help=False) from None
        super().run(args, opts)
