"""How a crawl ended: its status in ``crawl_runs.status``, its exit code and one line why.

=============  =========  ===========================================================
status         exit code  meaning
=============  =========  ===========================================================
``complete``   0          everything asked for was fetched and stored
``failed``     1          a fatal stop: credentials, clock, quota, nothing reachable,
                          an unhandled error, nothing collected, a failed monitor
(usage error)  2          bad arguments or missing credentials (no run row)
``incomplete`` 3          the walk ended but missed pages, was truncated or capped,
                          or left items spooled
``interrupted`` 4         stopped by a signal (Ctrl-C, SIGTERM); the same command resumes
``crashed``    (none)     the process died (``kill -9``, power loss): set by the next run
                          or ``scrapy runs`` when the heartbeat is stale
``running``    (none)     in progress (its heartbeat is fresh)
=============  =========  ===========================================================

:func:`classify` is the policy: pure, fed with Scrapy's finish reason and the final
stats, so it is unit-tested without a crawl.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RUNNING, COMPLETE, INCOMPLETE, FAILED, INTERRUPTED, CRASHED = (
    "running",
    "complete",
    "incomplete",
    "failed",
    "interrupted",
    "crashed",
)
STATUSES = (RUNNING, COMPLETE, INCOMPLETE, FAILED, INTERRUPTED, CRASHED)
#: Statuses a later run with the same spider and arguments resumes.
RESUMABLE = (INTERRUPTED, CRASHED)
EXIT_CODES = {COMPLETE: 0, FAILED: 1, INCOMPLETE: 3, INTERRUPTED: 4}
USAGE_EXIT_CODE = 2
#: Fatal finish reasons the error middleware closes with (``<api>_<class>``), and what to do.
FATAL_REASONS = {
    "auth": "the API refused the credentials: check its access key / secret / token",
    "clock": "the API refused the timestamp: fix the local clock (NTP)",
    "quota": "the API's call quota is exhausted or the API is not granted: top up or ask",
}
#: Dead letters per API and kind (``harvester/dead_letter/<api>/<kind>``): a ``response``
#: or ``request`` is a call lost for good (a page, a batch, a detail), a ``record`` one
#: record refused; ``missing`` ids were answered as such and lose nothing.
DEAD_LETTERS = "harvester/dead_letter/"
LOST_CALL_KINDS = ("response", "request")
#: Stats that say the walk was cut short although it ended.
TRUNCATION_STATS = {
    "harvester/store/truncated": "{value} price band(s) exceeded the search window (truncated)",
    "harvester/vvtool/max_calls_reached": "the vv-tool call cap (max_calls) was reached",
    "harvester/storage/spooled": (
        "{value} items are spooled, not in the database: run `scrapy replay_spool`"
    ),
    "harvester/storage/lost": "{value} items could neither be written nor spooled",
    "harvester/frontier/lost": (
        "the shared frontier's Redis server became unreachable: this worker stopped; "
        "run the same command to rejoin the crawl"
    ),
}
#: Set by the monitors (Spidermon) at close: a count > 0 fails the run.
MONITORS_FAILED = "harvester/monitors/failed"


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: int
    #: One line: why, and what to do.
    reason: str


def make(status: str, reason: str) -> Outcome:
    return Outcome(status, EXIT_CODES[status], reason)


def _sum(stats: dict[str, Any], prefix: str, kinds: tuple[str, ...] = ()) -> int:
    return sum(
        int(v)
        for k, v in stats.items()
        if k.startswith(prefix) and _number(v) and (not kinds or k.rpartition("/")[2] in kinds)
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def classify(
    reason: str, stats: dict[str, Any], unreachable: tuple[str, str] | None = None
) -> Outcome:
    """The outcome of a crawl closed with Scrapy finish *reason* and final *stats*.

    *unreachable* is ``(base URL, setting naming it)`` of the API every call of which
    failed with a network error, if that is the case.
    """
    # 1. a signal (Ctrl-C, SIGTERM): the same command resumes where it stopped
    if reason in ("shutdown", "cancelled"):
        return make(INTERRUPTED, "stopped by a signal: run the same command again to resume")
    # 2. a fatal answer the error middleware closed the crawl on (<api>_<class>)
    api, _, error_class = reason.rpartition("_")
    if api and error_class in FATAL_REASONS:
        return make(FAILED, f"{api}: {FATAL_REASONS[error_class]}")
    # 3. nothing answered at all: the base URL is wrong or the server is down
    if unreachable is not None:
        url, setting = unreachable
        return make(
            FAILED,
            f"nothing reachable at {url}: every call failed with a network error; check "
            f"{setting} (or start the sandbox with `python -m harvester.sandbox`)",
        )
    # 4. our own code failed, or a monitor did
    errors = _sum(stats, "spider_exceptions/")
    if errors:
        return make(FAILED, f"{errors} unhandled error(s) in callbacks: see the log above")
    items = stats.get("item_scraped_count", 0)
    failed_calls = _sum(stats, DEAD_LETTERS, LOST_CALL_KINDS)
    rejected = _sum(stats, DEAD_LETTERS, ("record",))
    if failed_calls and not items:
        return make(FAILED, f"nothing collected: all {failed_calls} failed call(s) dead-lettered")
    # a monitor's threshold (after the failures above, which say more precisely what broke)
    monitors = stats.get(MONITORS_FAILED) or 0
    if monitors:
        return make(FAILED, f"{monitors} monitor(s) failed: see the monitor report above")
    # 5. ended, but not everything was fetched and stored
    missed = [
        template.format(value=stats[key])
        for key, template in TRUNCATION_STATS.items()
        if stats.get(key)
    ]
    if rejected:
        missed.insert(0, f"{rejected} record(s) rejected (see dead_letters)")
    if failed_calls:
        missed.insert(0, f"{failed_calls} call(s) failed for good (see dead_letters)")
    if reason != "finished":
        missed.insert(0, f"closed early ({reason})")
    if missed:
        return make(INCOMPLETE, "; ".join(missed))
    return make(COMPLETE, f"complete: {items} items")


def process_exit_code(finished: dict[str, Any], *, started: bool, outcome_enabled: bool) -> int:
    """The exit code of a crawl process once its reactor stopped.

    *finished* holds the keywords of :data:`harvester.signals.run_finished` (empty when
    it was not sent). A crawler that did not start is ``failed``; a run whose outcome
    was decided exits with its code; one that stopped before the spider could close (a
    second Ctrl-C) is ``interrupted`` — unless the outcome component is switched off,
    then nothing judged the run: 0.
    """
    if not started:
        return EXIT_CODES[FAILED]
    if finished:
        return int(finished["exit_code"])
    return EXIT_CODES[INTERRUPTED] if outcome_enabled else 0
