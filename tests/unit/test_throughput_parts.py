"""Pieces that keep the crawl fast: GC thresholds, skipped DEBUG item logs, item pickling."""

from __future__ import annotations

import gc
import logging
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from harvester.extensions.gc import GcThresholds
from harvester.items import DeadLetter, PriceTier, Product, RelatedEdge, Sku
from harvester.logformatter import HarvesterLogFormatter
from harvester.spiders.base import ApiSpider, received_at
from tests.unit.crawler_stub import PROJECT


def test_gc_thresholds_set_during_the_crawl_and_restored_after():
    before = gc.get_threshold()
    crawler = get_crawler(settings_dict={**PROJECT, "HARVESTER_GC_THRESHOLDS": "(12345, 7, 9)"})
    extension = GcThresholds.from_crawler(crawler)
    extension.engine_started()
    try:
        assert gc.get_threshold() == (12345, 7, 9)
        assert gc.get_freeze_count() > 0
    finally:
        extension.engine_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("value", [None, "None", "off"])
def test_gc_thresholds_can_be_turned_off(value):
    crawler = get_crawler(settings_dict={**PROJECT, "HARVESTER_GC_THRESHOLDS": value})
    with pytest.raises(NotConfigured):
        GcThresholds.from_crawler(crawler)


@pytest.mark.parametrize("value", ["(1, 2)", "(a, b, c)", (1, -2, 3)])
def test_gc_thresholds_refuses_malformed_values(value):
    crawler = get_crawler(settings_dict={**PROJECT, "HARVESTER_GC_THRESHOLDS": value})
    with pytest.raises(NotConfigured, match="HARVESTER_GC_THRESHOLDS"):
        GcThresholds.from_crawler(crawler)


def _response() -> TextResponse:
    return TextResponse(
        "https://api.example/x", body=b"{}", request=Request("https://api.example/x")
    )


@pytest.mark.parametrize(("level", "logged"), [("INFO", False), ("ERROR", False), ("DEBUG", True)])
def test_scraped_items_are_logged_only_at_debug(level, logged):
    crawler = get_crawler(settings_dict={**PROJECT, "LOG_LEVEL": level})
    formatter = HarvesterLogFormatter.from_crawler(crawler)
    result = formatter.scraped({"a": 1}, _response(), None)
    assert (result is not None) == logged
    if logged:
        assert result["level"] == logging.DEBUG


def test_dropped_items_are_still_logged():
    import scrapy
    from scrapy.exceptions import DropItem

    crawler = get_crawler(settings_dict={**PROJECT, "LOG_LEVEL": "ERROR"})
    spider = scrapy.Spider.from_crawler(crawler, name="test")
    formatter = HarvesterLogFormatter.from_crawler(crawler)
    assert formatter.dropped({"a": 1}, DropItem("bad"), _response(), spider) is not None


def test_items_pickle_field_by_field():
    product = Product(
        "1688",
        "1",
        "vvtool",
        price=Decimal("9.90"),
        currency="CNY",
        images=["https://i/1.jpg"],
        skus=[Sku("s1", attributes={"颜色": "蓝"}, price=Decimal("1.5"), currency="CNY")],
        price_tiers=[PriceTier(2, Decimal("8.8"), "CNY")],
        raw={"offerId": 1},
        fetched_at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    for item in (
        product,
        RelatedEdge("1688", "1", "2", 3),
        DeadLetter("pandapon", "why", body="{}"),
    ):
        copy = pickle.loads(pickle.dumps(item))
        assert copy == item
        assert type(copy) is type(item)
    assert pickle.loads(pickle.dumps(product)).skus[0].attributes == {"颜色": "蓝"}


def test_records_of_one_answer_share_its_arrival_time():
    response = _response()
    stamp = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
    response.meta["harvester_received_at"] = stamp
    first = ApiSpider.record("pandapon", {"offerId": 1}, {}, response)
    second = ApiSpider.record("pandapon", {"offerId": 2}, {}, response, url="https://other/")
    assert first.fetched_at == second.fetched_at == received_at(response) == stamp
    assert (first.url, second.url) == ("https://api.example/x", "https://other/")


def test_batches_cross_to_the_writer_unchanged():
    from harvester.storage import repository, writer

    batch = repository.Batch(
        [
            Product(
                "1688",
                "1",
                "vvtool",
                price=Decimal("9.90"),
                currency="CNY",
                skus=[Sku("s1", price=Decimal("1.5"), currency="CNY")],
                price_tiers=[PriceTier(2, Decimal("8.8"), "CNY")],
                raw={"a": [1, {"b": None}]},
            ),
            Product("taobao", "2", "aliyun", extra={"coupon": {"amount": Decimal("3")}}),
        ],
        [RelatedEdge("1688", "1", "2", 3)],
        [DeadLetter("pandapon", "why", body="{}")],
    )
    assert writer.unpack(writer.pack(batch)) == batch
