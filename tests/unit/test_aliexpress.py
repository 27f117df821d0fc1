from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from harvester.apis import aliexpress
from harvester.apis.base import ApiError, ErrorClass, Unsigned
from harvester.items import ApiRecord
from harvester.pipelines.normalize import build_product
from tests.conftest import load_fixture

CLIENT_VECTOR = {
    "app_key": "12345678",
    "format": "json",
    "method": "aliexpress.affiliate.productdetail.get",
    "partner_id": "top-sdk-python-20231010",
    "sign_method": "md5",
    "timestamp": "1763798400000",
    "v": "2.0",
    "product_ids": "33006951782,1005001234567890",
    "target_currency": "USD",
    "target_language": "EN",
    "country": "US",
    "tracking_id": "trackingId",
}


def test_classic_top_md5_vector():
    params = {
        "method": "taobao.item.seller.get",
        "app_key": "12345678",
        "session": "test",
        "timestamp": "2016-01-01 12:00:00",
        "format": "json",
        "v": "2.0",
        "sign_method": "md5",
        "fields": "num_iid,title,nick,price,num",
        "num_iid": "11223344",
    }
    assert aliexpress.sign_params(params, "helloworld") == "66987CB115214E59E6EC978214934FB8"


def test_python_client_vectors():
    assert (
        aliexpress.sign_params(CLIENT_VECTOR, "helloworld", "md5")
        == "4A17264D413DDA1EF5B4B14A6A5653D5"
    )
    hmac_params = {**CLIENT_VECTOR, "sign_method": "hmac-sha256"}
    assert aliexpress.sign_params(hmac_params, "helloworld", "hmac-sha256") == (
        "4CE958DF2ED90699759A5B2530F75B0564C8B1732EE53E4D8FB835967DAF5D4E"
    )


def test_sign_puts_system_params_in_query():
    body = b"product_ids=1%2C2&target_currency=USD&target_language=EN&tracking_id=t"
    config = {
        "ALIEXPRESS_APP_KEY": "k",
        "ALIEXPRESS_APP_SECRET": "s",
        "HARVESTER_ALIEXPRESS_SIGN_METHOD": "md5",
    }
    signed = aliexpress.sign(
        Unsigned("POST", "https://api-sg.aliexpress.com/sync", {}, body), config, 1_763_798_400
    )
    query = dict(parse_qsl(urlsplit(signed.url).query))
    assert query["timestamp"] == "1763798400000" and query["method"] == aliexpress.METHOD
    union = {**query, **dict(parse_qsl(body.decode()))}
    assert query["sign"] == aliexpress.sign_params(union, "s", "md5")


def test_docs_example_normalizes():
    body = json.dumps(load_fixture("aliexpress_example_response.json")).encode()
    (record,) = aliexpress.products(aliexpress.check_response(200, {}, body))
    product = aliexpress.to_product(record, {})
    assert product["product_id"] == "33006951782"
    assert (product["price"], product["currency"]) == (Decimal("320.2"), "USD")
    assert product["original_price"] == Decimal("360.5")
    assert product["commission_rate"] == Decimal("3.5")
    assert product["rating"] == Decimal("89.22")
    assert product["volume"] == 300
    assert product["shop_id"] == "111111"
    assert product["category_ids"] == [1111, 333333]
    assert product["category_names"] == ["dress", "Women's Clothing"]
    assert product["url"] == "https://www.aliexpress.com/item/33006951782.html"
    assert product["extra"]["sale_price"] == "15.9"
    assert product["extra"]["promo_code_info"]["promo_code"] == "GMG20207"


def test_products_list_shapes():
    assert aliexpress.products({"products": [{"product_id": 1}]}) == [{"product_id": 1}]
    assert aliexpress.products({"products": {"product": [{"product_id": 2}]}}) == [
        {"product_id": 2}
    ]


def test_docs_error_example_is_permanent():
    with pytest.raises(ApiError) as caught:
        aliexpress.check_response(
            200, {}, json.dumps(load_fixture("aliexpress_error_response.json")).encode()
        )
    assert caught.value.error_class is ErrorClass.PERMANENT and caught.value.code == "50"


def test_ban_seconds_become_retry_after():
    body = {
        "error_response": {
            "code": 7,
            "msg": "App Call Limited",
            "sub_code": "accesscontrol.limited-by-api-access-count",
            "sub_msg": "This ban will last for 17 more seconds",
        }
    }
    with pytest.raises(ApiError) as caught:
        aliexpress.check_response(200, {}, json.dumps(body).encode())
    assert caught.value.error_class is ErrorClass.RATE_LIMITED
    assert caught.value.retry_after == 17 + aliexpress.BAN_MARGIN


@pytest.mark.parametrize(
    ("code", "sub_code", "expected"),
    [
        ("4", None, ErrorClass.RATE_LIMITED),
        ("8", None, ErrorClass.RATE_LIMITED),
        ("10", None, ErrorClass.RETRYABLE),
        ("15", "isp.remote-service-error", ErrorClass.RETRYABLE),
        ("50", "isv.invalid-parameter", ErrorClass.PERMANENT),
        ("25", None, ErrorClass.AUTH),
        ("27", None, ErrorClass.AUTH),
        ("29", None, ErrorClass.AUTH),
        ("31", None, ErrorClass.CLOCK),
        ("40", None, ErrorClass.PERMANENT),
        ("41", None, ErrorClass.PERMANENT),
    ],
)
def test_error_codes(code, sub_code, expected):
    assert aliexpress.classify(code, sub_code) is expected


@pytest.mark.parametrize(
    ("resp_code", "expected"),
    [(401, ErrorClass.AUTH), (404, ErrorClass.RETRYABLE), (500, ErrorClass.PERMANENT)],
)
def test_resp_code_inside_success_envelope(resp_code, expected):
    body = {
        "aliexpress_affiliate_productdetail_get_response": {
            "resp_result": {"resp_code": resp_code, "resp_msg": "x"}
        }
    }
    with pytest.raises(ApiError) as caught:
        aliexpress.check_response(200, {}, json.dumps(body).encode())
    assert caught.value.error_class is expected


def test_new_gateway_error_shape():
    body = {"code": "IncompleteSignature", "type": "ISV", "message": "bad sign", "request_id": "r"}
    with pytest.raises(ApiError) as caught:
        aliexpress.check_response(200, {}, json.dumps(body).encode())
    assert caught.value.error_class is ErrorClass.AUTH


def test_list_price_in_another_currency_is_left_out_and_the_product_kept():
    """Asked in EUR: the sale price comes in EUR, the list price only in USD (issue 16)."""
    record = load_fixture("aliexpress_example_response.json")[
        "aliexpress_affiliate_productdetail_get_response"
    ]["resp_result"]["result"]["products"]["product"][0]
    for key in ("target_original_price", "target_original_price_currency"):
        del record[key]
    record.update(target_sale_price="29.10", target_sale_price_currency="EUR")
    product = build_product(ApiRecord("aliexpress", record, {}))
    assert (product.price, product.currency) == (Decimal("29.10"), "EUR")
    assert product.original_price is None
    assert product.extra["original_price_dropped"] == {
        "key": "original_price",
        "value": "300",
        "currency": "USD",
        "reason": "currency USD differs from the sale price's EUR",
    }
    # a list price in the sale price's currency is kept
    record.update(target_original_price="31.00", target_original_price_currency="EUR")
    product = build_product(ApiRecord("aliexpress", record, {}))
    assert product.original_price == Decimal("31.00")
    assert "original_price_dropped" not in product.extra


@pytest.mark.parametrize(
    "body",
    [
        {
            "aliexpress_affiliate_productdetail_get_response": {
                "resp_result": {"resp_code": "-5.00"}
            }
        },
        {"error_response": {"code": 7, "sub_code": 5, "sub_msg": ["x"]}},
        {"error_response": "banned"},
        {"aliexpress_affiliate_productdetail_get_response": []},
    ],
)
def test_odd_envelopes_are_classified(body):
    with pytest.raises(ApiError) as caught:
        aliexpress.check_response(200, {}, json.dumps(body).encode())
    assert isinstance(caught.value.code, str) and isinstance(caught.value.message, str)


def test_products_refuses_a_string_in_place_of_the_list():
    with pytest.raises(ApiError, match="products"):
        aliexpress.products({"products": "none"})
