"""Figures read from a run's final stats (live in the crawl, or ``crawl_runs.stats``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.apis import get_provider

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scrapy.settings import BaseSettings

MONITORS_PASSED = "harvester/monitors/passed"
MONITORS_FAILED = "harvester/monitors/failed"
#: Dead letters that lose a call (a page, a batch, a detail), by kind.
LOST_CALL_KINDS = ("response", "request")


def prefixed(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    """Integer stats under *prefix*, keyed by the rest of their name."""
    return {
        key.removeprefix(prefix): int(value)
        for key, value in stats.items()
        if key.startswith(prefix) and isinstance(value, int) and not isinstance(value, bool)
    }


def api_calls(stats: dict[str, Any]) -> dict[str, int]:
    """Answers per API: the sum of ``harvester/api/<api>/<outcome>``."""
    calls: dict[str, int] = {}
    for key, value in prefixed(stats, "harvester/api/").items():
        api = key.partition("/")[0]
        calls[api] = calls.get(api, 0) + value
    return calls


def lost_calls(stats: dict[str, Any]) -> int:
    """Calls lost for good: dead letters of kind ``response`` or ``request``."""
    return sum(
        count
        for key, count in prefixed(stats, "harvester/dead_letter/").items()
        if key.rpartition("/")[2] in LOST_CALL_KINDS
    )


def error_rate(stats: dict[str, Any]) -> float:
    """Lost calls per request sent."""
    requests = int(stats.get("downloader/request_count", 0) or 0)
    return lost_calls(stats) / requests if requests else 0.0


def failed_monitors(stats: dict[str, Any]) -> dict[str, str]:
    """Failed monitor → its reason (``harvester/monitors/failed/<name>``)."""
    prefix = MONITORS_FAILED + "/"
    return {key.removeprefix(prefix): str(v) for key, v in stats.items() if key.startswith(prefix)}


def api_qps(settings: BaseSettings | None, api: str) -> float | None:
    """Calls per second *api* may make as configured: ``HARVESTER_RATE_LIMITS[api]`` of
    *settings* (when given), else its provider's ``DEFAULT_QPS`` (``None`` for an unknown
    API)."""
    limits = settings.getdict("HARVESTER_RATE_LIMITS") if settings is not None else {}
    try:
        value = float(limits.get(api) or get_provider(api).DEFAULT_QPS)
    except (KeyError, TypeError, ValueError):
        return None
    return value if value > 0 else None


def applied_qps(
    stats: Mapping[str, Any], api: str, settings: BaseSettings | None = None
) -> float | None:
    """Calls per second *api* is (was) allowed: the rate limiter's stat
    ``harvester/ratelimit/<api>/qps`` once it has set it (it knows per-credential
    overrides), else the configured rate (:func:`api_qps`)."""
    applied = stats.get(f"harvester/ratelimit/{api}/qps")
    return float(applied) if applied else api_qps(settings, api)
