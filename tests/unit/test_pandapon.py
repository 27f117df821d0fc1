from __future__ import annotations

import json
from decimal import Decimal

import pytest

from harvester.apis import get_provider, pandapon
from harvester.apis.base import ApiError, ErrorClass, Unsigned
from harvester.apis.fields import FieldError
from tests.conftest import load_fixture


def test_signature_matches_protocols_test_vector():
    assert (
        pandapon.signature(
            "58c0201dfdf148eca63cbf6bb5e7cf03",
            "1715669977082",
            "abcdefghijklmnopqrstuvwxyz012345",
            "test-secret",
        )
        == "CD52F5EA4E32F7F72377D6A05C91F10B"
    )


def test_sign_headers_uses_milliseconds_and_a_32_char_nonce():
    headers = pandapon.sign_headers(
        access_key="ak", secret_key="sk", user_id="42", now=1715669977.082
    )
    assert headers["timestamp"] == "1715669977082"
    assert len(headers["nonce-str"]) == 32
    assert headers["user-id"] == "42"
    assert headers["signature"] == pandapon.signature(
        "ak", "1715669977082", headers["nonce-str"], "sk"
    )
    seconds = pandapon.sign_headers(
        access_key="ak", secret_key="sk", user_id="42", now=1715669977.9, timestamp_unit="s"
    )
    assert seconds["timestamp"] == "1715669977"


def test_sign_provider_protocol_fresh_nonce_each_time():
    config = {"PANDAPON_ACCESS_KEY": "ak", "PANDAPON_SECRET_KEY": "sk", "PANDAPON_USER_ID": "1"}
    request = Unsigned("POST", "https://api.pandapon.com" + pandapon.STORE_PATH, {}, b"{}")
    first, second = pandapon.sign(request, config, 1000.0), pandapon.sign(request, config, 1000.0)
    assert first.headers["nonce-str"] != second.headers["nonce-str"]
    assert first.url is None and first.body is None
    assert "sk" not in first.headers.values()


def test_store_query_body_reproduces_the_docs_request():
    doc = load_fixture("pandapon_selleroffer_request.json")
    query = pandapon.StoreQuery(
        seller_open_id=doc["sellerOpenId"],
        keyword=doc["keyword"],
        category_id=doc["categoryId"],
        price_start=Decimal(doc["priceStart"]),
        price_end=Decimal(doc["priceEnd"]),
        sort=pandapon.sort_param("price:desc"),
        filter=doc["filter"],
    )
    body = query.body(doc["beginPage"], doc["pageSize"])
    expected = {k: v for k, v in doc.items() if k != "outMemberId"}
    assert body == expected


def test_related_body_reproduces_the_docs_request():
    assert pandapon.related_body(586572607302, 1, 10) == load_fixture(
        "pandapon_related_request.json"
    )


@pytest.mark.parametrize("spec", ["color:asc", "price:up", ""])
def test_sort_param_rejects_unknown(spec):
    with pytest.raises(ValueError, match="sort must be"):
        pandapon.sort_param(spec)


def test_parse_docs_store_page():
    body = json.dumps(load_fixture("pandapon_selleroffer_response.json")).encode()
    page = pandapon.parse_store_page(pandapon.check_response(200, {}, body))
    assert (page.total_records, page.total_page, page.page_size, page.current_page) == (
        275,
        28,
        10,
        1,
    )
    assert len(page.offers) == 10
    assert pandapon.needs_split(page) is False


def test_parse_docs_related_page():
    body = json.dumps(load_fixture("pandapon_related_response.json")).encode()
    offers = pandapon.parse_related_page(pandapon.check_response(200, {}, body))
    assert [o["offerId"] for o in offers][:2] == [551815015124, 549441106462]
    assert pandapon.is_last_related_page(offers, 10) is True
    assert pandapon.is_last_related_page(offers, 4) is False


@pytest.mark.parametrize(
    ("status", "envelope", "expected"),
    [
        (200, {"code": 401, "msg": "signature verification failed"}, ErrorClass.AUTH),
        (200, {"code": 401, "msg": "invalid access-key"}, ErrorClass.AUTH),
        (200, {"code": 402, "msg": "timestamp expired"}, ErrorClass.CLOCK),
        (200, {"code": 429, "msg": "request too frequent"}, ErrorClass.RATE_LIMITED),
        (429, {"code": 429, "msg": "x"}, ErrorClass.RATE_LIMITED),
        (503, {"error": "down"}, ErrorClass.RETRYABLE),
        (200, {"code": 500, "msg": "system error"}, ErrorClass.RETRYABLE),
        (200, {"code": 400, "msg": "parameter error"}, ErrorClass.PERMANENT),
    ],
)
def test_error_classification(status, envelope, expected):
    with pytest.raises(ApiError) as caught:
        pandapon.check_response(status, {}, json.dumps(envelope).encode())
    assert caught.value.error_class is expected


def test_malformed_body_is_retryable_and_retry_after_is_kept():
    # issue 16: a body that does not parse is a transport failure, retried like a 5xx
    with pytest.raises(ApiError) as caught:
        pandapon.check_response(200, {}, b'{"code": 200, "data": [trunc')
    assert caught.value.error_class is ErrorClass.RETRYABLE
    with pytest.raises(ApiError) as caught:
        pandapon.check_response(429, {"retry-after": "3"}, b"")
    assert caught.value.error_class is ErrorClass.RATE_LIMITED
    assert caught.value.retry_after == 3.0


def test_split_band_is_disjoint_and_covering():
    low, high = pandapon.split_band(Decimal("0.00"), Decimal("10.00"))
    assert low == (Decimal("0.00"), Decimal("5.00"))
    assert high == (Decimal("5.01"), Decimal("10.00"))
    assert pandapon.split_band(Decimal("1.00"), Decimal("1.00")) is None
    assert pandapon.split_band(Decimal("1.00"), Decimal("1.01")) == (
        (Decimal("1.00"), Decimal("1.00")),
        (Decimal("1.01"), Decimal("1.01")),
    )


def test_to_product_maps_the_docs_first_offer():
    offer = load_fixture("pandapon_selleroffer_response.json")["data"]["data"][0]
    product = pandapon.to_product(offer, {"seller_id": "BBBwAN4GQ60zRPzBkv7BYPJRQ"})
    assert product["source"] == "1688"
    assert product["product_id"] == "683381637585"
    assert product["title"].startswith("复古宫廷仙女")
    assert product["title_en"].startswith("Retro Palace Fairy")
    assert product["price"] == Decimal("6.80")
    assert product["currency"] == "CNY"
    assert product["repurchase_rate"] == Decimal("100")
    assert product["month_sold"] == 0
    assert product["is_jxhy"] is False
    assert product["image_url"].startswith("https://cbu01.alicdn.com/img/ibank/")
    assert product["url"] == "https://detail.1688.com/offer/683381637585.html"
    assert product["seller_id"] == "BBBwAN4GQ60zRPzBkv7BYPJRQ"


def test_to_product_maps_related_items_with_nulls_and_categories():
    offer = load_fixture("pandapon_related_response.json")["data"][0]
    product = pandapon.to_product(offer, {})
    assert product["price"] == Decimal("3.1")
    assert product["month_sold"] is None
    assert product["category_ids"] == [67, 81, 1033108]
    assert product["repurchase_rate"] is None


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"offerId": None}, "offerId"),
        ({"offerId": "12a"}, "offerId"),
        ({"priceInfo": {"price": "abc"}}, "priceInfo.price"),
        ({"repurchaseRate": "many%"}, "repurchaseRate"),
    ],
)
def test_to_product_names_the_failing_field(patch, path):
    offer = {**load_fixture("pandapon_selleroffer_response.json")["data"]["data"][0], **patch}
    with pytest.raises(ValueError, match=path.replace(".", r"\.")):
        pandapon.to_product(offer, {})


@pytest.mark.parametrize(
    ("paging", "message"),
    [
        ({"totalPage": 10**7}, "totalPage 10000000 beyond"),
        ({"totalPage": float("inf")}, "data.totalPage: not an integer"),
        ({"totalRecords": 10**12}, "totalRecords 1000000000000 beyond"),
        ({"totalPage": 500, "totalRecords": 30, "pageSize": 10}, "500 pages for 30 records"),
        ({"totalPage": "many"}, "data.totalPage"),
    ],
)
def test_store_page_totals_beyond_sanity_are_refused(paging, message):
    data = {**load_fixture("pandapon_selleroffer_response.json")["data"], **paging}
    with pytest.raises(ApiError, match=message) as caught:
        pandapon.parse_store_page(data)
    assert caught.value.error_class is ErrorClass.PERMANENT


def test_body_nested_too_deeply_is_a_classified_error():
    with pytest.raises(ApiError, match="nested too deeply"):
        pandapon.check_response(200, {}, b"[" * 10_000 + b"]" * 10_000)


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"isOnePsale": ""}, None),
        ({"isOnePsale": -1}, "isOnePsale"),
        ({"isOnePsale": []}, "isOnePsale"),
        ({"subject": {}}, "subject"),
        ({"monthSold": 2**70}, "monthSold"),
        ({"priceInfo": {"price": "1e30"}}, "priceInfo.price"),
        ({"priceInfo": ["6.8"]}, "priceInfo"),
        ({"offerId": "9" * 65}, "offerId"),
    ],
)
def test_odd_values_map_or_name_their_field(patch, path):
    offer = {**load_fixture("pandapon_selleroffer_response.json")["data"]["data"][0], **patch}
    if path is None:
        assert pandapon.to_product(offer, {})["is_one_psale"] is None
        return
    with pytest.raises(FieldError) as caught:
        pandapon.to_product(offer, {})
    assert caught.value.path == path


@pytest.mark.parametrize("api", ["pandapon", "vvtool", "aliyun", "aliexpress"])
@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b'{"code": 0, "da', b"\xff\xfe"])
def test_a_body_that_is_not_json_is_retryable_for_every_provider(api, body):
    with pytest.raises(ApiError) as caught:
        get_provider(api).check_response(200, {}, body)
    assert caught.value.error_class is ErrorClass.RETRYABLE
