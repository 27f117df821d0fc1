from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from harvester.spiders.base import ArgumentError
from harvester.spiders.related import RelatedSpider
from harvester.spiders.store import StoreSpider

CREDS = {"PANDAPON_ACCESS_KEY": "a", "PANDAPON_SECRET_KEY": "b", "PANDAPON_USER_ID": "c"}


def make(spidercls, **kwargs):
    return spidercls.from_crawler(get_crawler(spidercls, settings_dict=CREDS), **kwargs)


@pytest.mark.parametrize(
    ("spidercls", "kwargs", "message"),
    [
        (StoreSpider, {}, "seller_open_id"),
        (StoreSpider, {"seller_open_id": "S", "price_start": "abc"}, "price_start"),
        (StoreSpider, {"seller_open_id": "S", "price_start": "-1"}, "negative"),
        (StoreSpider, {"seller_open_id": "S", "price_start": "9", "price_end": "1"}, "exceed"),
        (StoreSpider, {"seller_open_id": "S", "sort": "color"}, "sort"),
        (StoreSpider, {"seller_open_ids": "@/nonexistent/ids.txt"}, "does not exist"),
        (RelatedSpider, {}, "offer_ids"),
        (RelatedSpider, {"offer_ids": "123,abc"}, "numeric"),
        (RelatedSpider, {"offer_ids": "123", "max_depth": "-1"}, "at least 0"),
        (RelatedSpider, {"offer_ids": "123", "max_items": "x"}, "integer"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message(spidercls, kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        make(spidercls, **kwargs)


def test_sellers_from_file_and_list_are_merged(tmp_path):
    ids = tmp_path / "stores.txt"
    ids.write_text("A  # first\nB\n\nA\n")
    spider = make(StoreSpider, seller_open_id="C", seller_open_ids=f"@{ids}")
    assert spider.sellers == ["C", "A", "B"]


def test_related_defaults():
    spider = make(RelatedSpider, offer_ids="1,2,2")
    assert spider.seeds == ["1", "2"]
    assert (spider.max_depth, spider.max_items) == (1, 10_000)
