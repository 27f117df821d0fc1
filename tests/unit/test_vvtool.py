from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from scrapy import signals as scrapy_signals
from scrapy.exceptions import UsageError
from scrapy.utils.test import get_crawler

from harvester.apis import vvtool
from harvester.apis.base import ApiError, ErrorClass, Unsigned
from harvester.items import ApiRecord
from harvester.pipelines.normalize import build_product
from harvester.sandbox.apis import vvtool as sandbox_vvtool
from harvester.sandbox.catalog import Catalog
from harvester.spiders.arguments import ArgumentError
from harvester.spiders.store import StoreSpider
from harvester.spiders.vvtool_detail import VvtoolDetailSpider
from tests.conftest import load_fixture

CREDS = {
    "VVTOOL_TOKEN": "tok",
    "PANDAPON_ACCESS_KEY": "a",
    "PANDAPON_SECRET_KEY": "b",
    "PANDAPON_USER_ID": "c",
}
CST = timezone(timedelta(hours=8))


def answer(code, data=None, status=200, msg="m"):
    body = json.dumps(
        {"code": code, "msg": msg, "msec": 1, "time": 1, "data": data}, ensure_ascii=False
    ).encode()
    return status, {}, body


def docs_data():
    return vvtool.check_response(
        200, {}, json.dumps(load_fixture("vvtool_example_response.json")).encode()
    )


def test_bearer_token_header():
    signed = vvtool.sign(
        Unsigned("POST", "http://api.vv-tool.com" + vvtool.PATH, {}, b"{}"),
        {"VVTOOL_TOKEN": "tok"},
        0,
    )
    assert signed.headers == {"Authorization": "Bearer tok"}
    assert signed.url is None and signed.body is None


def test_body():
    assert vvtool.body("shop", "584240750353", "1688", "lst") == {
        "shop_id": "shop",
        "product_id": 584240750353,
        "web_site": "1688",
        "scene": "lst",
    }
    assert vvtool.body("shop", 1) == {"shop_id": "shop", "product_id": 1}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", 1), "shop_id"),
        (("s", "12a"), "product_id"),
        (("s", 1, "taobao"), "web_site"),
        (("s", 1, None, "b2b"), "scene"),
    ],
)
def test_bad_body(args, field):
    with pytest.raises(ValueError, match=field):
        vvtool.body(*args)


def test_docs_example_normalizes():
    product = build_product(
        ApiRecord("vvtool", docs_data(), {"shop_id": "my-shop", "seller_id": "BBB1"})
    )
    assert (product.source, product.product_id, product.api) == ("1688", "584240750353", "vvtool")
    assert product.title == "susui素水品牌304真空镀铜500ml透明盖高档保温杯高档随手保温杯"
    assert [(t.start_quantity, t.price, t.currency) for t in product.price_tiers] == [
        (3, Decimal("23"), "CNY"),
        (50, Decimal("22"), "CNY"),
        (500, Decimal("21"), "CNY"),
    ]
    # the price at the minimum order (first tier), as a 1688 listing shows it
    assert (product.price, product.price_raw, product.currency) == (Decimal("23"), "23", "CNY")
    (sku,) = product.skus
    assert (sku.sku_id, sku.spec_id) == ("3941927601960", "8ee78ffbdcb30c53861739e60be04325")
    assert sku.attributes == {"颜色": "清新蓝", "容量": "500ml"}
    assert (sku.price, sku.currency, sku.stock) == (Decimal("23"), "CNY", 1000)
    assert (
        sku.image_url == "https://cbu01.alicdn.com/img/ibank/2015/131/099/20369901311984794539.jpg"
    )
    assert len(product.images) == 7 and all(
        i.startswith("https://cbu01.alicdn.com/img/ibank/") for i in product.images
    )
    assert (
        product.image_url
        == product.images[0]
        == "https://cbu01.alicdn.com/img/ibank/2015/681/907/20397091861984794539.jpg"
    )
    assert (product.stock, product.available) == (4047, True)
    assert (product.shop_id, product.seller_id) == ("my-shop", "BBB1")
    assert product.category_ids == [1043766]
    assert product.url == "https://detail.1688.com/offer/584240750353.html"
    extra = product.extra
    assert extra["attributes"][0] == {"attribute_id": 2176, "name": "品牌", "value": "忆江南"}
    assert len(extra["attributes"]) == 3
    assert (extra["min_order_quantity"], extra["quality_level"], extra["cargo_number"]) == (
        3,
        6,
        "透明盖保温杯",
    )
    assert extra["create_time"] == datetime(2018, 12, 16, 14, 12, 53, tzinfo=CST)
    assert extra["create_time"].utcoffset() == timedelta(hours=8)
    assert extra["last_repost_time"] == datetime(
        2018, 12, 18, 12, 46, 25, tzinfo=CST
    )  # only at the data level
    assert (
        "withholding_money" in extra and extra["withholding_money"] is None
    )  # not in the docs' example


def test_money_never_goes_through_float_arithmetic():
    data = docs_data()
    info = data["product_info"]
    info["sale_info"]["price_ranges"] = [
        {"start_quantity": 2, "price": 0.1},
        {"start_quantity": 10, "price": 12.3},
    ]
    info["sku_infos"][0]["price"] = 19.99
    data["withholding_money"] = 2
    product = vvtool.to_product(data, {})
    assert product["price"] == Decimal("0.1") and product["price_tiers"][1]["price"] == Decimal(
        "12.3"
    )
    assert product["skus"][0]["price"] == Decimal("19.99")
    assert product["extra"]["withholding_money"] == Decimal("2")


def test_price_falls_back_to_consign_price_then_cheapest_sku():
    data = docs_data()
    data["product_info"]["sale_info"]["price_ranges"] = []
    assert vvtool.to_product(data, {})["price"] == Decimal("23")  # sale_info.consign_price
    del data["product_info"]["sale_info"]["consign_price"]
    data["product_info"]["sku_infos"][0]["consign_price"] = 7.5
    assert vvtool.to_product(data, {})["price"] == Decimal("7.5")


def test_bad_records_name_the_field():
    data = docs_data()
    data["product_info"]["sale_info"]["price_ranges"][1]["price"] = "n/a"
    with pytest.raises(ValueError, match=r"sale_info\.price_ranges\[1\]\.price"):
        vvtool.to_product(data, {})
    data = docs_data()
    del data["product_info"]["product_id"]
    with pytest.raises(ValueError, match="product_info.product_id"):
        vvtool.to_product(data, {})


def test_times():
    assert vvtool.parse_time("20181216141253000+0800") == datetime(
        2018, 12, 16, 14, 12, 53, tzinfo=CST
    )
    assert vvtool.parse_time("20181216141253250+0800").microsecond == 250_000
    assert vvtool.parse_time("20181216141253+0800") == datetime(
        2018, 12, 16, 14, 12, 53, tzinfo=CST
    )
    assert vvtool.parse_time("2018-12-16") == "2018-12-16"  # not understood: unchanged
    assert vvtool.parse_time(None) is None


@pytest.mark.parametrize(
    ("code", "expected", "words"),
    [
        (100, ErrorClass.PERMANENT, "parameters"),
        (101, ErrorClass.RETRYABLE, "retrying"),
        (103, ErrorClass.PERMANENT, "Wangwang"),
        (200, ErrorClass.RETRYABLE, "system error"),
        (203, ErrorClass.PERMANENT, "not support"),
        (204, ErrorClass.QUOTA, "top up"),
        (302, ErrorClass.PERMANENT, "authorized"),
        (999, ErrorClass.PERMANENT, "undocumented"),
    ],
)
def test_documented_codes(code, expected, words):
    with pytest.raises(ApiError) as caught:
        vvtool.check_response(*answer(code, msg="请求参数错误"))
    assert caught.value.error_class is expected
    assert caught.value.code == str(code)
    assert words in caught.value.message and "请求参数错误" in caught.value.message


def test_unauthorized_shop_carries_the_link():
    with pytest.raises(ApiError, match=r"https://www\.vv-tool\.com/auth\?x=1"):
        vvtool.check_response(
            *answer(302, {"auth_url": "https://www.vv-tool.com/auth?x=1"}, msg="未授权店铺")
        )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, ErrorClass.AUTH),
        (403, ErrorClass.AUTH),
        (429, ErrorClass.RATE_LIMITED),
        (500, ErrorClass.RETRYABLE),
        (502, ErrorClass.RETRYABLE),
    ],
)
def test_http_statuses(status, expected):
    with pytest.raises(ApiError) as caught:
        vvtool.check_response(status, {}, b'{"code": 401, "msg": "bad token"}')
    assert caught.value.error_class is expected


def test_success_without_product_info_is_permanent():
    with pytest.raises(ApiError, match="product_info") as caught:
        vvtool.check_response(*answer(0, {"withholding_money": 1}))
    assert caught.value.error_class is ErrorClass.PERMANENT


def test_token_helpers():
    assert vvtool.token_request_form("id", "secret") == {
        "grant_type": "client_credentials",
        "client_id": "id",
        "client_secret": "secret",
    }
    assert vvtool.parse_token(b'{"access_token": "a", "expires_in": 1}') == "a"
    assert vvtool.parse_token(b'{"code": 0, "data": {"access_token": "b"}}') == "b"
    with pytest.raises(ValueError, match="refused"):
        vvtool.parse_token(b'{"code": 100, "msg": "bad client"}')


def test_sandbox_answer_is_the_docs_shape_and_matches_the_listing():
    catalog = Catalog(1688, [3])
    store = catalog.stores[0]
    for offer in store.offers:
        info = sandbox_vvtool.product_info(catalog.seed, offer, store.login_id)
        assert info == sandbox_vvtool.product_info(
            catalog.seed, offer, store.login_id
        )  # deterministic
        docs_info = load_fixture("vvtool_example_response.json")["data"]["product_info"]
        assert set(info["sale_info"]) <= set(docs_info["sale_info"]) | {"unit"}
        assert set(info["sku_infos"][0]) <= set(docs_info["sku_infos"][0])
        status, _, body = answer(0, {"product_info": info, "withholding_money": 1})
        product = build_product(ApiRecord("vvtool", vvtool.check_response(status, {}, body), {}))
        assert product.product_id == str(offer.offer_id) and product.title == offer.subject
        assert (
            product.price == offer.price
        )  # the listing's price: one row, no flip-flop between APIs
        assert len(product.price_tiers) == 3 and product.price_tiers[0].price == offer.price
        assert 1 <= len(product.skus) <= 4 and sum(s.stock for s in product.skus) == product.stock
        assert product.shop_id == store.login_id and isinstance(
            product.extra["create_time"], datetime
        )


def make(spidercls, **kwargs):
    return spidercls.from_crawler(get_crawler(spidercls, settings_dict=CREDS), **kwargs)


@pytest.mark.parametrize(
    ("spidercls", "kwargs", "message"),
    [
        (VvtoolDetailSpider, {"shop_id": "s"}, "product_ids"),
        (VvtoolDetailSpider, {"shop_id": "s", "product_ids": "1,x"}, "numeric"),
        (VvtoolDetailSpider, {"product_ids": "1"}, "shop_id"),
        (
            VvtoolDetailSpider,
            {"shop_id": "s", "product_ids": "1", "web_site": "taobao"},
            "web_site",
        ),
        (VvtoolDetailSpider, {"shop_id": "s", "product_ids": "1", "scene": "b2b"}, "scene"),
        (VvtoolDetailSpider, {"shop_id": "s", "product_ids": "1", "max_calls": "0"}, "at least 1"),
        (StoreSpider, {"seller_open_id": "S", "details": "1688"}, "details"),
        (StoreSpider, {"seller_open_id": "S", "details": "vvtool"}, "shop_id"),
        (StoreSpider, {"seller_open_ids": "S,T", "details": "vvtool", "shop_id": "s"}, "one store"),
        (StoreSpider, {"seller_open_id": "S", "shop_id": "s"}, "details=vvtool"),
        (
            StoreSpider,
            {"seller_open_id": "S", "details": "vvtool", "shop_id": "s", "scene": "x"},
            "scene",
        ),
    ],
)
def test_bad_arguments(spidercls, kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        make(spidercls, **kwargs)


def test_vvtool_credentials_checked_only_when_details_are_asked_for():
    settings = {k: v for k, v in CREDS.items() if k != "VVTOOL_TOKEN"}
    StoreSpider.from_crawler(get_crawler(StoreSpider, settings_dict=settings), seller_open_id="S")
    with pytest.raises(UsageError, match="VVTOOL_TOKEN"):
        StoreSpider.from_crawler(
            get_crawler(StoreSpider, settings_dict=settings),
            seller_open_id="S",
            details="vvtool",
            shop_id="s",
        )


def test_fetcher_asks_once_per_product_within_the_cap():
    spider = make(VvtoolDetailSpider, shop_id="s", product_ids="1,2,2,3", max_calls="2")
    fetcher = spider.fetcher
    first = fetcher.request("1", {"seller_id": "S"})
    assert first is not None and json.loads(first.body) == {"shop_id": "s", "product_id": 1}
    assert first.cb_kwargs == {"context": {"shop_id": "s", "seller_id": "S"}, "product_id": "1"}
    assert first.errback == fetcher.on_error and first.meta["harvester_api"] == "vvtool"
    assert fetcher.request("1") is None  # billed: never twice
    # a retry (here after a timeout: no answer, no retry stat of the error middleware) is
    # a billed call too: the request reached vv-tool twice
    for sent in (first, first.copy()):
        spider.crawler.signals.send_catch_log(
            signal=scrapy_signals.request_reached_downloader, request=sent, spider=spider
        )
    assert fetcher.request("2") is None and fetcher.capped
    assert spider.crawler.stats.get_value("harvester/vvtool/max_calls_reached") is True
