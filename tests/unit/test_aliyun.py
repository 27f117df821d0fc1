from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from harvester.apis import aliyun
from harvester.apis.base import ApiError, ErrorClass, Unsigned
from tests.conftest import load_fixture

VECTOR = {
    "AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
}


def test_protocols_test_vector():
    assert aliyun.string_to_sign("GET", VECTOR) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert aliyun.signature("GET", VECTOR, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


@pytest.mark.parametrize(("raw", "encoded"), [("a b", "a%20b"), ("a*b", "a%2Ab"), ("a~b", "a~b"), ("中", "%E4%B8%AD"), ("a+b", "a%2Bb")])
def test_percent_encoding(raw, encoded):
    assert aliyun.percent_encode(raw) == encoded


def test_sign_puts_common_params_in_query_and_signs_the_union():
    config = {"ALIYUN_ACCESS_KEY_ID": "id", "ALIYUN_ACCESS_KEY_SECRET": "secret", "ALIYUN_PID": "mm_1"}
    body = b"ItemIds=1%2C2&Pid=mm_1"
    signed = aliyun.sign(Unsigned("POST", "https://imagesearch.cn-shanghai.aliyuncs.com/", {}, body), config, 1_700_000_000)
    query = dict(parse_qsl(urlsplit(signed.url).query))
    assert query["Timestamp"] == "2023-11-14T22:13:20Z"
    assert query["Action"] == "GetProductInfoByIds" and query["Version"] == "2021-05-01"
    assert "ItemIds" not in query and signed.body is None
    union = {**query, "ItemIds": "1,2", "Pid": "mm_1"}
    assert query["Signature"] == aliyun.signature("POST", union, "secret")
    again = aliyun.sign(Unsigned("POST", "https://h/", {}, body), config, 1_700_000_000)
    assert dict(parse_qsl(urlsplit(again.url).query))["SignatureNonce"] != query["SignatureNonce"]


def test_batches_of_at_most_40():
    ids = [str(i) for i in range(95)]
    assert [len(b) for b in aliyun.batches(ids)] == [40, 40, 15]
    with pytest.raises(ValueError):
        aliyun.batches(ids, 41)


def test_docs_example_normalizes():
    body = json.dumps(load_fixture("aliyun_example_response.json")).encode()
    (record,) = aliyun.parse_auctions(aliyun.check_response(200, {}, body))
    product = aliyun.to_product(record, {})
    assert product["product_id"] == "594766914700"  # InputItemId, not the dynamic ItemId
    assert product["extra"]["item_id"] == "Oqz93kougf9bkN7f4ACMtJ-zDUWQmJB8PAf9"
    assert product["source"] == "taobao" and product["currency"] == "CNY"
    assert product["price"] == Decimal("15.8")
    assert product["original_price"] == Decimal("65.8")
    assert product["coupon_price"] == Decimal("12.8")
    assert product["image_url"] == "https://img.alicdn.com/pic.jpg"
    assert product["url"] == "https://s.click.taobao.com/t?123"
    assert product["commission_rate"] == Decimal("0.9")
    assert product["volume"] == 12515
    assert product["shop_name"] == "urkazf旗舰店"
    assert product["extra"]["platform"] == "tmall"
    assert product["extra"]["rank_score"] == 0.9877


def test_pascal_case_keys_are_read_too():
    envelope = {"Success": True, "Code": 0, "Data": {"Auctions": [{"RankScore": 0.5, "Result": {"InputItemId": "7", "ZkFinalPrice": "1.5"}}]}}
    (record,) = aliyun.parse_auctions(aliyun.check_response(200, {}, json.dumps(envelope).encode()))
    assert aliyun.to_product(record, {})["price"] == Decimal("1.5")


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "Throttling.User", ErrorClass.RATE_LIMITED), (400, "Throttling.Api", ErrorClass.RATE_LIMITED),
        (500, "InternalError", ErrorClass.RETRYABLE), (503, "ServiceUnavailable", ErrorClass.RETRYABLE),
        (400, "SignatureNonceUsed", ErrorClass.RETRYABLE), (400, "InvalidTimeStamp.Expired", ErrorClass.CLOCK),
        (400, "SignatureDoesNotMatch", ErrorClass.AUTH), (400, "IncompleteSignature", ErrorClass.AUTH),
        (404, "InvalidAccessKeyId.NotFound", ErrorClass.AUTH), (403, "Forbidden.RAM", ErrorClass.AUTH),
        (400, "MissingItemIds", ErrorClass.PERMANENT), (400, "InvalidParameter", ErrorClass.PERMANENT),
        (404, "InvalidApi.NotFound", ErrorClass.PERMANENT),
    ],
)
def test_gateway_error_classes(status, code, expected):
    body = json.dumps({"RequestId": "r", "HostId": "h", "Code": code, "Message": "m", "Recommend": "u"}).encode()
    with pytest.raises(ApiError) as caught:
        aliyun.check_response(status, {}, body)
    assert caught.value.error_class is expected
    assert caught.value.code == code


def test_business_failure_in_http_200_is_permanent():
    body = json.dumps({"success": False, "code": 1001, "message": "bad pid"}).encode()
    with pytest.raises(ApiError) as caught:
        aliyun.check_response(200, {}, body)
    assert caught.value.error_class is ErrorClass.PERMANENT
