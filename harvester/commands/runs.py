"""``scrapy runs [ID]``: recent crawl runs from HARVESTER_DATABASE_URL, or one with its stats.

Runs whose heartbeat is stale (or whose process is gone, on this host) are marked
``crashed`` first, as the next crawl would.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from harvester.config import database_url
from harvester.storage import runlog, runs
from harvester.storage.db import make_engine
from harvester.storage.migrate import current

if TYPE_CHECKING:
    import argparse

COLUMNS = (
    "id",
    "spider",
    "arguments",
    "status",
    "started (UTC)",
    "duration",
    "items",
    "dead",
    "reason",
)


class Command(ScrapyCommand):
    requires_project = True
    # no crawl: no CrawlerProcess, whose logging would print Scrapy's start-up banner
    requires_crawler_process = False

    def syntax(self) -> str:
        return "[RUN_ID] [--limit N] [--spider NAME]"

    def short_desc(self) -> str:
        return "List recent crawl runs (status, duration, items, reason), or show one"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--limit", type=int, default=20, help="runs listed (default 20)")
        parser.add_argument("--spider", help="only runs of this spider")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) > 1 or (args and not args[0].isdigit()):
            raise UsageError("scrapy runs [RUN_ID]: RUN_ID is a number", print_help=False)
        engine = make_engine(database_url(self.settings))
        try:
            if current(engine) is None:
                print("no crawl runs yet (the database has no harvester schema)")
                return
            with Session(engine) as session, session.begin():
                runs.mark_crashed(
                    session, self.settings.getfloat("HARVESTER_HEARTBEAT_STALE_AFTER")
                )
            with Session(engine) as session:
                if args:
                    run = runlog.get_run(session, int(args[0]))
                    if run is None:
                        print(f"no crawl run {args[0]}", file=sys.stderr)
                        self.exitcode = 1
                        return
                    print(describe(run))
                else:
                    print(table(runlog.recent_runs(session, opts.limit, opts.spider)))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UsageError(f"cannot read crawl runs: {reason}", print_help=False) from None
        finally:
            engine.dispose()


def duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def arguments(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def table(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no crawl runs yet"
    rows = [
        (
            str(run["id"]),
            run["spider"],
            _cut(arguments(run["arguments"]), 40),
            run["status"],
            run["started_at"].strftime("%Y-%m-%d %H:%M"),
            duration(run["duration"]),
            "-" if run["items"] is None else str(run["items"]),
            str(run["dead_letters"]),
            _cut(run["reason"] or "", 70),
        )
        for run in runs
    ]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def describe(run: dict[str, Any]) -> str:
    fields = {
        "run": run["id"],
        "spider": run["spider"],
        "arguments": arguments(run["arguments"]) or "-",
        "status": run["status"],
        "exit code": "-" if run["exit_code"] is None else run["exit_code"],
        "reason": run["reason"] or "-",
        "started": run["started_at"].isoformat(timespec="seconds"),
        "finished": run["finished_at"].isoformat(timespec="seconds") if run["finished_at"] else "-",
        "duration": duration(run["duration"]),
        "items": "-" if run["items"] is None else run["items"],
        "dead letters": run["dead_letters"],
        "resumes run": run["resumes"] or "-",
        "units done": run["units_done"],
        "host / pid": f"{run['host'] or '-'} / {run['pid'] or '-'}",
        "heartbeat": run["heartbeat_at"].isoformat(timespec="seconds")
        if run["heartbeat_at"]
        else "-",
    }
    lines = [f"{name:<13} {value}" for name, value in fields.items()]
    lines.append("final stats:")
    lines += [
        f"  {key}: {json.dumps(value, default=str)}" for key, value in sorted(run["stats"].items())
    ] or ["  (none: the run did not close)"]
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
