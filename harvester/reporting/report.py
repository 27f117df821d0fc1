"""``scrapy report``: one self-contained HTML page about a crawl run.

Rendered with Jinja2 from ``templates/report.html.j2``; charts are inline SVG
(:mod:`harvester.reporting.charts`), styles inline, no script, font or link to fetch:
the file opens from disk, mailed or archived. Figures come from the database
(:mod:`harvester.reporting.queries`) and the run's final stats (``crawl_runs.stats``,
with the per-second timeline of :mod:`harvester.extensions.timeline`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harvester.reporting import charts
from harvester.reporting.queries import run_figures, run_rows
from harvester.reporting.stats import (
    MONITORS_PASSED,
    api_calls,
    applied_qps,
    error_rate,
    failed_monitors,
    prefixed,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from harvester.reporting.queries import RunFigures


def limits_of(stats: dict[str, Any], apis: list[str]) -> dict[str, float]:
    """Each API's calls per second allowed in the run (stats of the rate limiter, else the
    provider's default)."""
    limits = {api: applied_qps(stats, api) for api in apis}
    return {api: qps for api, qps in limits.items() if qps is not None}


def history(engine: Engine, ids: list[int], current: int) -> list[dict[str, Any]]:
    """Items, duration and error rate of runs *ids*."""
    rows = []
    for row in run_rows(engine, ids):
        stats = row["stats"] or {}
        finished = row["finished_at"]
        duration = stats.get("elapsed_time_seconds")
        if duration is None and finished is not None:
            duration = (finished - row["started_at"]).total_seconds()
        rows.append(
            {
                "id": row["id"],
                "spider": row["spider"],
                "status": row["status"],
                "started_at": row["started_at"],
                "items": int(stats.get("item_scraped_count", 0) or 0),
                "duration": round(float(duration or 0.0), 1),
                "error_rate": error_rate(stats),
                "current": row["id"] == current,
            }
        )
    return rows


def context(figures: RunFigures, runs: list[dict[str, Any]]) -> dict[str, Any]:
    stats = figures.stats
    calls = api_calls(stats)
    limits = limits_of(stats, sorted(calls))
    duration = figures.duration or 0.0
    timeline = stats.get("harvester/timeline") or {}
    dead = figures.dead_letters
    return {
        "run": figures,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration": duration,
        "items": int(stats.get("item_scraped_count", 0) or 0),
        "calls": [
            (api, count, count / duration if duration else 0.0, limits.get(api))
            for api, count in sorted(calls.items())
        ],
        "dead_letter_kinds": prefixed(stats, "harvester/dead_letter/"),
        "retries": int(stats.get("retry/count", 0) or 0),
        "throttled": sum(prefixed(stats, "harvester/throttle/").values()),
        "monitors_passed": stats.get(MONITORS_PASSED),
        "monitors_failed": failed_monitors(stats),
        "runs": runs,
        "charts": {
            "calls": charts.calls_chart(timeline, limits) if timeline else None,
            "activity": charts.activity_chart(timeline) if timeline else None,
            "dead_letters": charts.bars_chart("Dead letters by reason", dead) if dead else None,
            "runs": charts.runs_chart(runs) if runs else None,
        },
    }


def render(engine: Engine, run_id: int, last: int = 10) -> str | None:
    """The report of run *run_id* beside the *last* runs up to it (``None``: no such run)."""
    import jinja2

    from harvester.reporting.queries import last_run_ids

    figures = run_figures(engine, run_id)
    if figures is None:
        return None
    runs = history(engine, last_run_ids(engine, last, up_to=run_id), run_id)
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harvester.reporting", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["clock"] = _clock
    return environment.get_template("report.html.j2").render(context(figures, runs))


def _clock(seconds: float | None) -> str:
    from harvester.extensions.progress import clock

    return clock(seconds)
