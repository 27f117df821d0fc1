"""Spider callbacks fed fixture responses (the API docs' examples), good and malformed.

Responses are built without the error middleware's result, so the callbacks parse
through :func:`harvester.answers.api_data` (as with ``HARVESTER_API_ERRORS_ENABLED=False``).
Bad data never raises: it becomes dead letters, and the rest of the page goes on.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from scrapy import Request
from scrapy import signals as scrapy_signals
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from harvester import signals
from harvester.items import ApiRecord, RelatedEdge
from harvester.spiders.aliexpress_items import AliexpressItemsSpider
from harvester.spiders.related import RelatedSpider
from harvester.spiders.store import StoreSpider
from harvester.spiders.taobao_items import TaobaoItemsSpider
from harvester.spiders.vvtool_detail import VvtoolDetailSpider
from tests.conftest import load_fixture

CREDS = {
    "PANDAPON_ACCESS_KEY": "a",
    "PANDAPON_SECRET_KEY": "b",
    "PANDAPON_USER_ID": "c",
    "VVTOOL_TOKEN": "t",
    "ALIYUN_ACCESS_KEY_ID": "i",
    "ALIYUN_ACCESS_KEY_SECRET": "s",
    "ALIYUN_PID": "mm_1_2_3",
    "ALIEXPRESS_APP_KEY": "k",
    "ALIEXPRESS_APP_SECRET": "x",
    "ALIEXPRESS_TRACKING_ID": "tr",
}


class Harness:
    """A spider from a test crawler, with the signals it sends collected."""

    def __init__(self, spidercls: type, **kwargs: Any) -> None:
        crawler = get_crawler(spidercls, settings_dict=CREDS)
        self.spider = spidercls.from_crawler(crawler, **kwargs)
        crawler.spider = self.spider
        self.dead: list[Any] = []
        self.complete: list[tuple[str, str]] = []
        crawler.signals.connect(
            lambda dead_letter: self.dead.append(dead_letter),
            signal=signals.dead_letter,
            weak=False,
        )
        crawler.signals.connect(
            lambda source, seller_id: self.complete.append((source, seller_id)),
            signal=signals.listing_complete,
            weak=False,
        )

    @property
    def stats(self) -> Any:
        return self.spider.crawler.stats

    def requests(self) -> list[Request]:
        async def collect() -> list[Request]:
            return [request async for request in self.spider.start()]

        return asyncio.run(collect())

    def answer(self, request: Request, body: Any, status: int = 200) -> list[Any]:
        """Feed *request*'s callback an answer with *body* (JSON-encoded unless bytes)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = TextResponse(request.url, status=status, body=raw, request=request)
        return list(request.callback(response, **request.cb_kwargs))

    def idle(self) -> None:
        self.spider.crawler.signals.send_catch_log(signal=scrapy_signals.spider_idle)


def selleroffer(**data: Any) -> dict[str, Any]:
    answer = load_fixture("pandapon_selleroffer_response.json")
    answer["data"].update(data)
    return answer


def records(output: list[Any]) -> list[ApiRecord]:
    return [item for item in output if isinstance(item, ApiRecord)]


def test_store_page_yields_every_offer_and_the_other_pages():
    harness = Harness(StoreSpider, seller_open_id="S")
    (first,) = harness.requests()
    output = harness.answer(first, selleroffer())
    offers = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    assert [r.payload for r in records(output)] == offers
    assert all(r.context == {"seller_id": "S"} for r in records(output))
    pages = [item.cb_kwargs["page"] for item in output if isinstance(item, Request)]
    assert pages == list(range(2, 29))  # totalPage 28
    assert harness.dead == []


def test_complete_walk_is_announced_once_when_idle():
    harness = Harness(StoreSpider, seller_open_id="S")
    (first,) = harness.requests()
    harness.answer(first, selleroffer(totalRecords=2, totalPage=1))
    harness.idle()
    harness.idle()
    assert harness.complete == [("1688", "S")]


def test_non_object_offer_is_a_dead_letter_the_rest_of_the_page_lands_and_nothing_is_delisted():
    harness = Harness(StoreSpider, seller_open_id="S")
    (first,) = harness.requests()
    answer = selleroffer(totalRecords=3, totalPage=1)
    good = answer["data"]["data"][:2]
    answer["data"]["data"] = [good[0], "", good[1]]
    output = harness.answer(first, answer)
    assert [r.payload for r in records(output)] == good
    ((letter,),) = [harness.dead]
    assert (letter.kind, letter.body, letter.api) == ("record", '""', "pandapon")
    harness.idle()
    assert harness.complete == []  # the walk is not complete: no delisting


def test_record_dropped_by_a_pipeline_makes_the_walk_incomplete():
    harness = Harness(StoreSpider, seller_open_id="S")
    (first,) = harness.requests()
    output = harness.answer(first, selleroffer(totalRecords=2, totalPage=1))
    harness.spider.crawler.signals.send_catch_log(
        signal=scrapy_signals.item_dropped, item=records(output)[0], response=None, exception=None
    )
    harness.idle()
    assert harness.complete == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"code": 200, "data": [truncated', "not JSON"),
        (selleroffer(totalPage=10**7), "totalPage"),
        (selleroffer(totalRecords=10**12), "totalRecords"),
        (selleroffer(data="offers"), "data.data"),
        ({"code": 200, "data": []}, "not an object"),
    ],
)
def test_unreadable_store_page_is_a_dead_letter_not_a_crash_nor_a_runaway(body, reason):
    harness = Harness(StoreSpider, seller_open_id="S")
    (first,) = harness.requests()
    assert harness.answer(first, body) == []
    ((letter,),) = [harness.dead]
    assert letter.kind == "response" and reason in letter.reason
    harness.idle()
    assert harness.complete == []


def test_related_entry_without_offer_id_is_a_dead_letter():
    harness = Harness(RelatedSpider, offer_ids="586572607302", max_depth="0")
    (first,) = harness.requests()
    answer = load_fixture("pandapon_related_response.json")
    good = copy.deepcopy(answer["data"][:2])
    answer["data"] = [good[0], {}, good[1]]
    output = harness.answer(first, answer)
    assert [r.payload for r in records(output)] == good
    assert [e.rank for e in output if isinstance(e, RelatedEdge)] == [1, 3]
    assert [d.kind for d in harness.dead] == ["record"]


def test_taobao_batch_of_the_docs_example_and_a_malformed_answer():
    harness = Harness(TaobaoItemsSpider, item_ids="594766914700,1")
    (batch,) = harness.requests()
    output = harness.answer(batch, load_fixture("aliyun_example_response.json"))
    assert [r.payload["result"]["inputItemId"] for r in records(output)] == ["594766914700"]
    assert [(d.kind, d.body) for d in harness.dead] == [("missing", "1")]
    harness.dead.clear()
    assert harness.answer(batch, b"<html>gateway timeout</html>") == []
    assert [d.kind for d in harness.dead] == ["response"]


def test_aliexpress_product_without_id_is_a_dead_letter():
    harness = Harness(AliexpressItemsSpider, product_ids="1")
    (batch,) = harness.requests()
    answer = load_fixture("aliexpress_example_response.json")
    result = answer["aliexpress_affiliate_productdetail_get_response"]["resp_result"]["result"]
    (product,) = result["products"]["product"][:1]
    result["products"]["product"] = [{"title": "no id"}, {**product, "product_id": 1}]
    output = harness.answer(batch, answer)
    assert [r.payload["product_id"] for r in records(output)] == [1]
    assert [d.kind for d in harness.dead] == ["record"]


def test_vvtool_detail_answer_and_a_data_that_is_not_an_object():
    harness = Harness(VvtoolDetailSpider, shop_id="s", product_ids="1,2", max_calls="5")
    first, second = harness.requests()
    output = harness.answer(first, load_fixture("vvtool_example_response.json"))
    assert len(records(output)) == 1 and harness.dead == []
    assert harness.answer(second, {"code": 0, "data": "nothing"}) == []
    assert [d.kind for d in harness.dead] == ["response"]
    assert harness.spider.fetcher.in_flight == 0


def test_vvtool_cap_counts_retries_but_not_throttled_calls():
    harness = Harness(VvtoolDetailSpider, shop_id="s", product_ids="1,2,3", max_calls="3")
    fetcher, crawler = harness.spider.fetcher, harness.spider.crawler
    first = fetcher.request("1")
    for sent in (first, first.copy(), first.copy()):  # the call and two retries
        crawler.signals.send_catch_log(
            signal=scrapy_signals.request_reached_downloader, request=sent, spider=None
        )
    throttled = TextResponse(first.url, status=429, body=b"{}", request=first)
    crawler.signals.send_catch_log(
        signal=scrapy_signals.response_received, response=throttled, request=first, spider=None
    )
    assert fetcher.calls_committed() == 2  # one product + one billed retry (429: refused)
    assert fetcher.request("2") is not None
    assert fetcher.request("3") is None and fetcher.capped


def test_progress_signals_plan_the_pages_and_finish_each_call():
    harness = Harness(StoreSpider, seller_open_id="S")
    planned, finished = [], []
    crawler = harness.spider.crawler
    crawler.signals.connect(
        lambda count, api: planned.append((count, api)), signal=signals.units_planned, weak=False
    )
    crawler.signals.connect(
        lambda api: finished.append(api), signal=signals.unit_finished, weak=False
    )
    (first,) = harness.requests()
    harness.answer(first, selleroffer())
    assert planned == [(1, "pandapon"), (27, "pandapon")]  # the first page, then 2..28
    assert finished == ["pandapon"]
