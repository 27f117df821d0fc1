from __future__ import annotations

import json
from decimal import Decimal

import pytest

from harvester.apis import vvtool
from harvester.apis.base import ApiError, ErrorClass, Unsigned
from harvester.pipelines.normalize import build_product
from harvester.items import ApiRecord
from tests.conftest import load_fixture


def docs_data():
    body = json.dumps(load_fixture("vvtool_example_response.json")).encode()
    return vvtool.check_response(200, {}, body)


def test_bearer_token_header():
    signed = vvtool.sign(Unsigned("POST", "http://api.vv-tool.com" + vvtool.PATH, {}, b"{}"), {"VVTOOL_TOKEN": "tok"}, 0)
    assert signed.headers == {"Authorization": "Bearer tok"}


def test_body():
    assert vvtool.body("shop", "584240750353", "1688", "lst") == {
        "shop_id": "shop", "product_id": 584240750353, "web_site": "1688", "scene": "lst"}


def test_docs_example_normalizes():
    product = build_product(ApiRecord("vvtool", docs_data(), {"shop_id": "my-shop"}))
    assert product.source == "1688" and product.product_id == "584240750353"
    assert product.title.startswith("susui素水品牌304")
    assert [(t.start_quantity, t.price) for t in product.price_tiers] == [
        (3, Decimal("23")), (50, Decimal("22")), (500, Decimal("21"))]
    assert product.price == Decimal("21") and product.currency == "CNY"
    (sku,) = product.skus
    assert sku.sku_id == "3941927601960"
    assert sku.spec_id == "8ee78ffbdcb30c53861739e60be04325"
    assert sku.attributes == {"颜色": "清新蓝", "容量": "500ml"}
    assert sku.price == Decimal("23") and sku.stock == 1000
    assert sku.image_url == "https://cbu01.alicdn.com/img/ibank/2015/131/099/20369901311984794539.jpg"
    assert product.images[0] == "https://cbu01.alicdn.com/img/ibank/2015/681/907/20397091861984794539.jpg"
    assert len(product.images) == 7
    assert product.stock == 4047 and product.available is True
    assert product.shop_id == "my-shop"
    assert product.extra["attributes"]["品牌"] == "忆江南"
    assert product.extra["create_time"] == "2018-12-16T14:12:53+08:00"


@pytest.mark.parametrize(
    ("code", "expected"),
    [(100, ErrorClass.PERMANENT), (101, ErrorClass.RETRYABLE), (103, ErrorClass.PERMANENT), (200, ErrorClass.RETRYABLE),
     (203, ErrorClass.PERMANENT), (204, ErrorClass.QUOTA), (302, ErrorClass.PERMANENT)],
)
def test_documented_codes(code, expected):
    body = json.dumps({"code": code, "msg": "m", "msec": 1, "time": 1, "data": None}).encode()
    with pytest.raises(ApiError) as caught:
        vvtool.check_response(200, {}, body)
    assert caught.value.error_class is expected
    assert caught.value.code == str(code)


@pytest.mark.parametrize(("status", "expected"), [(401, ErrorClass.AUTH), (429, ErrorClass.RATE_LIMITED), (502, ErrorClass.RETRYABLE)])
def test_http_statuses(status, expected):
    with pytest.raises(ApiError) as caught:
        vvtool.check_response(status, {}, b'{"code": 401, "msg": "bad token"}')
    assert caught.value.error_class is expected


def test_token_answer_wrapped_or_not():
    assert vvtool.parse_token(b'{"access_token": "a", "expires_in": 1}') == "a"
    assert vvtool.parse_token(b'{"code": 0, "data": {"access_token": "b"}}') == "b"
