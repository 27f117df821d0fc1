from __future__ import annotations

import subprocess
import sys

import pytest
from scrapy.utils.test import get_crawler

from harvester.spiders.arguments import ArgumentError
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


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"seller_open_id": "S", "details": "vvtool", "shop_id": "s", "max_call": "5"},
            "unknown argument max_call; did you mean max_calls?",
        ),
        (
            {"seller_open_id": "S", "keywrod": "x"},
            "unknown argument keywrod; did you mean keyword?",
        ),
    ],
)
def test_unknown_arguments_are_refused_with_a_suggestion(kwargs, message):
    with pytest.raises(ArgumentError) as raised:
        make(StoreSpider, **kwargs)
    assert str(raised.value) == message


def test_scrapyd_job_argument_is_accepted():
    assert make(StoreSpider, seller_open_id="S", _job="abc").sellers == ["S"]


def test_batch_size_settings_are_checked_before_the_crawl():
    from harvester.spiders.aliexpress_items import AliexpressItemsSpider

    settings = {"ALIEXPRESS_APP_KEY": "k", "ALIEXPRESS_APP_SECRET": "s"}
    with pytest.raises(ArgumentError, match="HARVESTER_ALIEXPRESS_BATCH_SIZE=51: must be 1 to 50"):
        AliexpressItemsSpider.check_arguments(
            {**settings, "HARVESTER_ALIEXPRESS_BATCH_SIZE": "51"},
            product_ids="1",
            tracking_id="t",
        )


def scrapy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_mistakes_are_one_line_with_exit_code_2():
    for args, line in [
        (("crawl", "stroe"), "scrapy crawl: error: unknown spider stroe; did you mean store?"),
        (
            ("crawl", "vvtool_detail", "-a", "max_call=5"),
            "scrapy crawl: error: unknown argument max_call; did you mean max_calls?",
        ),
    ]:
        completed = scrapy_cli(*args)
        assert (completed.returncode, completed.stderr.strip()) == (2, line)


def test_crawl_help_lists_the_spiders_arguments():
    completed = scrapy_cli("crawl", "related", "-h")
    assert completed.returncode == 0, completed.stderr
    assert "-a max_depth=" in completed.stdout and "default: 1" in completed.stdout
    assert "hops from the seeds to expand" in completed.stdout
