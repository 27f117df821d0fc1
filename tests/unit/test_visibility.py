"""Progress, ETA, timeline, summary and field coverage: the pure parts (issue 14)."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from decimal import Decimal

from harvester import signals
from harvester.extensions.progress import ApiProgress, Progress, clock
from harvester.extensions.progress_bar import LiveBar, _ConsoleStream
from harvester.extensions.summary import summary_lines
from harvester.extensions.timeline import fold
from harvester.items import Product
from harvester.monitors import CoverageCounter, has_value
from harvester.reporting.stats import api_qps, applied_qps
from tests.unit.crawler_stub import make_crawler


def test_api_qps_reads_the_override_else_the_provider_default():
    crawler = make_crawler(HARVESTER_RATE_LIMITS={"aliyun": 2})
    assert api_qps(crawler.settings, "aliyun") == 2.0
    assert api_qps(crawler.settings, "pandapon") == 10.0
    assert api_qps(crawler.settings, "nope") is None


def test_applied_qps_prefers_the_rate_limiters_stat_then_the_configured_rate():
    """One reader serves the progress line, the summary and the report."""
    crawler = make_crawler(HARVESTER_RATE_LIMITS={"aliyun": 2})
    stats = {"harvester/ratelimit/pandapon/qps": 3.5}
    assert applied_qps(stats, "pandapon", crawler.settings) == 3.5
    assert applied_qps(stats, "aliyun", crawler.settings) == 2.0
    assert applied_qps(stats, "aliyun") == 5.0  # no settings (a stored run): the default
    assert applied_qps(stats, "nope") is None


def test_eta_is_remaining_calls_over_the_limit_or_the_slower_measured_rate():
    api = ApiProgress(qps=10.0)
    api.planned = 120
    for second in range(20):  # 20 calls in 20 s: 1/s, slower than the limit
        api.finish(float(second))
    assert api.eta(now=20.0, started=0.0) == 100.0
    fast = ApiProgress(qps=10.0)
    fast.planned, fast.done = 120, 20
    assert fast.eta(now=1.0, started=0.0) == 10.0  # too early to measure: the limit
    assert ApiProgress(qps=None).eta(0.0, 0.0) == 0.0  # nothing planned, nothing left
    assert clock(3725.4) == "1:02:05" and clock(None) == "?"


def test_progress_counts_signals_and_keeps_stats():
    crawler = make_crawler(HARVESTER_RATE_LIMITS={"pandapon": 5})
    progress = Progress.from_crawler(crawler)
    crawler.stats.open_spider()
    crawler.signals.send_catch_log(signal=signals.units_planned, count=10, api="pandapon")
    for _ in range(4):
        crawler.signals.send_catch_log(signal=signals.unit_finished, api="pandapon")
    figures = progress.snapshot()
    assert (figures["done"], figures["planned"], figures["percent"]) == (4, 10, 40.0)
    assert figures["eta_seconds"] == 1.2  # 6 calls at 5/s
    progress.record(figures)
    assert crawler.stats.get_value("harvester/progress/percent") == 40.0
    assert crawler.stats.get_value("harvester/progress/pandapon/planned") == 10


def test_timeline_folds_seconds_into_buckets():
    assert fold(Counter({0: 3, 1: 2, 5: 1}), seconds=6, step=1) == [3, 2, 0, 0, 0, 1]
    assert fold(Counter({0: 3, 1: 2, 5: 1, 6: 4}), seconds=7, step=3) == [5, 1, 4]


def test_summary_lines_tell_outcome_calls_letters_and_monitors():
    stats = {
        "elapsed_time_seconds": 20.0,
        "harvester/api/pandapon/ok": 150,
        "harvester/api/pandapon/throttled": 10,
        "item_scraped_count": 2600,
        "harvester/dead_letter/pandapon/record": 2,
        "retry/count": 3,
        "harvester/monitors/passed": 4,
        "harvester/monitors/failed": 1,
        "harvester/monitors/failed/items/minimum": "too few",
    }
    lines = dict(
        summary_lines(
            stats,
            {"status": "failed", "exit_code": 1, "reason": "x"},
            None,
            {"pandapon": 8.0},
            "sqlite:///x.sqlite",
        )
    )
    assert lines["status"] == "failed (exit code 1)"
    assert lines["calls"] == "pandapon 160 (8.0/s, limit 8/s)"
    assert lines["dead letters"] == "pandapon/record 2"
    assert lines["monitors"] == "4 passed, FAILED: items/minimum"
    assert lines["retries"].startswith("3 retried")
    assert dict(summary_lines({"finish_reason": "shutdown"}, {}, None, {}, "-"))["status"] == (
        "shutdown (Scrapy finish reason)"
    )


def test_field_coverage_counts_zero_and_false_but_not_none_or_empty():
    crawler = make_crawler()
    counter = CoverageCounter(crawler, ["price", "stock", "title", "title_en", "available"])
    crawler.stats.open_spider()
    product = Product(
        source="1688",
        product_id="1",
        api="pandapon",
        title="",
        price=Decimal(0),
        stock=0,
        available=False,
    )
    for item in (product, {"not": "a product"}):
        counter.item_scraped(item)
    counter.spider_closed()
    stats = crawler.stats.get_stats()
    assert stats["harvester/monitors/coverage/products"] == 1
    assert stats["harvester/monitors/coverage/price"] == 1
    assert stats["harvester/monitors/coverage/stock"] == 1
    assert stats["harvester/monitors/coverage/available"] == 1
    assert stats["harvester/monitors/coverage/title"] == 0
    assert stats["harvester/monitors/coverage/title_en"] == 0
    assert not has_value([]) and not has_value({}) and has_value(0.0)


def test_live_bar_prints_log_lines_above_itself_and_gives_the_stream_back():
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(handler)
    try:
        bar = LiveBar()
        assert isinstance(handler.stream, _ConsoleStream)
        bar.update({"planned": 10, "done": 5, "items": 50, "eta_seconds": 3.0, "percent": 50.0})
        bar.stop()
        assert handler.stream is sys.stderr
    finally:
        logging.getLogger().removeHandler(handler)


def test_summary_names_the_commonest_dead_letter_reasons():
    from datetime import UTC, datetime

    from harvester.extensions.summary import dead_letters_text
    from harvester.reporting.queries import RunFigures

    reasons = {"offer without an offerId": 5, "bad price " + "x" * 80: 2, "c": 1, "d": 1}
    figures = RunFigures(
        1, "store", "incomplete", {}, 3, "x", datetime.now(UTC), None, {}, 0, 0, 0, 0, 0, reasons
    )
    text = dead_letters_text({"pandapon/record": 9}, figures)
    assert text.startswith("pandapon/record 9 — 5x offer without an offerId; 2x bad price x")
    assert text.endswith("...; 1x c; 1 more reason(s)")
    assert dead_letters_text({}, figures) == "none"
