"""The close monitors and the actions that record and announce their result (the
webhook: :mod:`harvester.monitors.webhook`)."""

from __future__ import annotations

import logging
from typing import Any

from spidermon import Monitor, MonitorSuite, monitors
from spidermon.core.actions import Action

from harvester.monitors import COVERAGE, FAILED, PASSED
from harvester.monitors.webhook import Webhook, failure_reason
from harvester.reporting.stats import error_rate, lost_calls, prefixed

logger = logging.getLogger(__name__)


class HarvesterMonitor(Monitor):
    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.data.stats)

    def setting(self, name: str) -> Any:
        return self.data.crawler.settings.get(name)

    def assert_rate(self, rate: float, setting: str, counted: str) -> None:
        """*rate* is at most the float setting *setting*; the message starts with what was
        *counted*."""
        highest = float(self.setting(setting))
        self.assertLessEqual(
            rate, highest, msg=f"{counted} ({rate:.1%}), above {setting}={highest:g}"
        )


@monitors.name("items")
class ItemsMonitor(HarvesterMonitor):
    @monitors.name("minimum")
    def test_minimum_items(self) -> None:
        least = int(self.setting("HARVESTER_MONITOR_MIN_ITEMS") or 0)
        items = int(self.stats.get("item_scraped_count", 0))
        self.assertGreaterEqual(
            items, least, msg=f"{items} items, fewer than HARVESTER_MONITOR_MIN_ITEMS={least}"
        )


@monitors.name("errors")
class ErrorsMonitor(HarvesterMonitor):
    @monitors.name("error_rate")
    def test_error_rate(self) -> None:
        stats = self.stats
        calls = int(stats.get("downloader/request_count", 0))
        rate = error_rate(stats)
        failed = f"{lost_calls(stats)} of {calls} calls failed"
        self.assert_rate(rate, "HARVESTER_MONITOR_MAX_ERROR_RATE", failed)

    @monitors.name("dead_letter_rate")
    def test_dead_letter_rate(self) -> None:
        stats = self.stats
        letters = sum(prefixed(stats, "harvester/dead_letter/").values())
        items = int(stats.get("item_scraped_count", 0))
        rate = letters / (items + letters) if letters else 0.0
        counted = f"{letters} dead letters for {items} items"
        self.assert_rate(rate, "HARVESTER_MONITOR_MAX_DEAD_LETTER_RATE", counted)

    @monitors.name("finish_reason")
    def test_finish_reason(self) -> None:
        allowed = self.data.crawler.settings.getlist("HARVESTER_MONITOR_FINISH_REASONS")
        reason = self.stats.get("finish_reason")
        self.assertIn(reason, allowed, msg=f"finish reason {reason!r} is not one of {allowed}")


@monitors.name("coverage")
class CoverageMonitor(HarvesterMonitor):
    @monitors.name("product_fields")
    def test_product_field_coverage(self) -> None:
        stats = self.stats
        products = int(stats.get(f"{COVERAGE}/products", 0))
        if not products:
            raise self.skipTest("no products")  # type: ignore[misc]
        wanted = self.data.crawler.settings.getdict("HARVESTER_MONITOR_FIELD_COVERAGE")
        coverage = {f: int(stats.get(f"{COVERAGE}/{f}", 0)) / products for f in wanted}
        short = {f: value for f, value in coverage.items() if value < float(wanted[f])}
        self.assertFalse(
            short,
            msg="field coverage below HARVESTER_MONITOR_FIELD_COVERAGE: "
            + ", ".join(f"{field} {value:.1%} < {wanted[field]}" for field, value in short.items()),
        )


class RecordResult(Action):
    """Puts the suite's result into stats and logs each failed monitor's reason."""

    def run_action(self) -> None:
        stats = self.data.crawler.stats
        passed = len(self.result.monitors_passed_results)
        failed = self.result.monitors_failed_results
        stats.set_value(PASSED, passed)
        stats.set_value(FAILED, len(failed))
        for result in failed:
            name, reason = result.monitor.name, failure_reason(result)
            stats.set_value(f"{FAILED}/{name}", reason)
            logger.error("Monitor %s failed: %s", name, reason)


__all__ = ["CloseMonitors", "RecordResult", "Webhook"]


class CloseMonitors(MonitorSuite):
    monitors = [ItemsMonitor, ErrorsMonitor, CoverageMonitor]
    monitors_finished_actions = [RecordResult]
    monitors_failed_actions = [Webhook]
