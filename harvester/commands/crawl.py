"""``scrapy crawl`` that checks a harvester spider's arguments and credentials
before starting the crawl, so that a mistake ends with one clear line and exit
code 2 (``scrapy crawl: error: ...``) instead of a traceback; an unknown spider name
gets a "did you mean". ``scrapy crawl SPIDER -h`` also lists the spider's arguments
(its ``Arguments`` model) with their descriptions, choices and defaults.

A crawl exits with its run's outcome (:mod:`harvester.outcome`: 0 only for a complete
run; README "Unattended runs"), which cron mails and Scrapyd's job list go by."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from harvester import outcome
from harvester import signals as harvester_signals
from harvester.checks import check_configuration

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiderloader import SpiderLoaderProtocol


class _SpiderHelp(argparse.Action):
    """``-h``: noted here, printed in :meth:`Command.process_options` once the spider
    name (a positional argument) is known."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        namespace.spider_help = True


class Command(ScrapyCrawlCommand):
    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        self._parser = parser
        # replaces argparse's own -h (Scrapy's parser resolves conflicting options)
        parser.add_argument(
            "-h",
            "--help",
            action=_SpiderHelp,
            nargs=0,
            default=False,
            dest="spider_help",
            help="show this help (with the spider's arguments) and exit",
        )

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        if getattr(opts, "spider_help", False):
            self._parser.print_help()
            if args:
                print(spider_help(get_spider_loader(self.settings), args[0]))
            sys.exit(0)
        super().process_options(args, opts)
        if len(args) == 1:
            # before the crawler process exists (and logs): a mistake is one line, exit 2
            try:
                spidercls = load(get_spider_loader(self.settings), args[0])
                check = getattr(spidercls, "check_arguments", None)
                if check is not None:
                    check(self.settings, **opts.spargs)
                check_configuration(self.settings)  # environment and database: one line
            except UsageError as exc:
                print(f"scrapy crawl: error: {exc}", file=sys.stderr)
                sys.exit(2)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's crawl, exiting with the code of ``harvester.signals.run_finished``."""
        if len(args) != 1 or self.crawler_process is None:
            super().run(args, opts)  # Scrapy's own usage errors
            return
        crawler = self.crawler_process.create_crawler(args[0])
        finished = watch_outcome(crawler)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        self.exitcode = outcome.process_exit_code(
            finished,
            started=not self.crawler_process.bootstrap_failed,
            outcome_enabled=crawler.settings.getbool("HARVESTER_OUTCOME_ENABLED"),
        )


def watch_outcome(crawler: Crawler) -> dict[str, Any]:
    """A dict that receives the keywords of *crawler*'s
    :data:`harvester.signals.run_finished` (status, exit code, reason) when it is sent."""
    finished: dict[str, Any] = {}
    crawler.signals.connect(
        lambda **kwargs: finished.update(kwargs),
        signal=harvester_signals.run_finished,
        weak=False,
    )
    return finished


def load(loader: SpiderLoaderProtocol, name: str) -> Any:
    """The spider class *name*, or a :class:`UsageError` suggesting the closest name."""
    try:
        return loader.load(name)
    except KeyError:
        known = sorted(loader.list())
        match = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {match[0]}?" if match else f"known: {', '.join(known)}"
        raise UsageError(f"unknown spider {name}; {hint}") from None


def spider_help(loader: SpiderLoaderProtocol, name: str) -> str:
    """The arguments of spider *name*, for ``-h``."""
    try:
        spidercls = load(loader, name)
    except UsageError as exc:
        return str(exc)
    arguments = getattr(spidercls, "Arguments", None)
    if arguments is None:
        return f"\n{name} takes no documented arguments"
    doc = (spidercls.__module__ and sys.modules[spidercls.__module__].__doc__ or "").strip()
    first = (doc.splitlines()[0] if doc else name).replace("``", "")
    return f"\nSpider {first}\n\nArguments (-a NAME=VALUE):\n{arguments.describe()}"
