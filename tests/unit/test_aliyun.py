"""Alibaba Cloud GetProductInfoByIds: signing, envelope, errors, mapping, sandbox, spider."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from harvester import signals
from harvester.apis import aliyun
from harvester.apis.base import ApiError, ErrorClass, Unsigned
from harvester.sandbox import credentials
from harvester.sandbox.apis import aliyun as sandbox_aliyun
from harvester.sandbox.server import SandboxConfig, SandboxRequest, build_app
from harvester.spiders.arguments import ArgumentError
from harvester.spiders.taobao_items import TaobaoItemsSpider
from tests.conftest import load_fixture

VECTOR = {
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "Format": "XML",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z",
    "Version": "2014-05-26",
}
CONFIG = {
    "ALIYUN_ACCESS_KEY_ID": "id",
    "ALIYUN_ACCESS_KEY_SECRET": "secret",
    "ALIYUN_PID": "mm_1_2_3",
}
BASE = "https://imagesearch.cn-shanghai.aliyuncs.com/"


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --------------------------------------------------------------------------- signing


def test_protocols_test_vector():
    assert aliyun.string_to_sign("GET", VECTOR) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert aliyun.signature("GET", VECTOR, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    # Signature itself is never signed.
    assert (
        aliyun.signature("GET", {**VECTOR, "Signature": "x"}, "testsecret")
        == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    )


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("a*b", "a%2Ab"),
        ("a~b", "a~b"),
        ("中", "%E4%B8%AD"),
        ("a+b", "a%2Bb"),
        ("1,2", "1%2C2"),
        ("/", "%2F"),
        ("a=b&c", "a%3Db%26c"),
        ("AZaz09-_.", "AZaz09-_."),
    ],
)
def test_percent_encoding(raw, encoded):
    assert aliyun.percent_encode(raw) == encoded


def test_canonical_query_sorts_by_name():
    assert aliyun.canonical_query({"b": "2 3", "a": "*", "B": "~"}) == "B=~&a=%2A&b=2%203"


def sign(body: bytes, url: str = BASE, now: float = 1_700_000_000):
    return aliyun.sign(
        Unsigned("POST", url, {"content-type": "application/x-www-form-urlencoded"}, body),
        CONFIG,
        now,
    )


def test_sign_puts_common_params_in_query_and_signs_the_union():
    body = urlencode({"ItemIds": "1,2", "Pid": "mm_1_2_3"}).encode()
    signed = sign(body)
    query = query_of(signed.url)
    assert query["Timestamp"] == "2023-11-14T22:13:20Z"
    assert query["Action"] == "GetProductInfoByIds" and query["Version"] == "2021-05-01"
    assert (
        query["Format"] == "JSON"
        and query["SignatureMethod"] == "HMAC-SHA1"
        and query["SignatureVersion"] == "1.0"
    )
    assert query["AccessKeyId"] == "id"
    assert (
        "ItemIds" not in query and "Pid" not in query and signed.body is None
    )  # business params stay in the body
    union = {k: v for k, v in query.items() if k != "Signature"} | {
        "ItemIds": "1,2",
        "Pid": "mm_1_2_3",
    }
    assert query["Signature"] == aliyun.signature("POST", union, "secret")
    assert query["Signature"] != aliyun.signature(
        "POST", {k: v for k, v in query.items() if k != "Signature"}, "secret"
    )


def test_every_signing_gets_a_fresh_nonce_and_replaces_the_old_common_params():
    body = b"ItemIds=1&Pid=mm_1_2_3"
    first = sign(body, BASE + "?keep=me")
    retry = sign(body, first.url, now=1_700_000_060)  # a retry carries the signed URL
    old, new = query_of(first.url), query_of(retry.url)
    assert old["SignatureNonce"] != new["SignatureNonce"]
    assert new["Timestamp"] == "2023-11-14T22:14:20Z"
    assert new["keep"] == "me"
    assert urlsplit(retry.url).query.count("Signature=") == 1
    assert aliyun.unsigned_url(retry.url) == BASE + "?keep=me"
    union = {k: v for k, v in new.items() if k != "Signature"} | {"ItemIds": "1", "Pid": "mm_1_2_3"}
    assert new["Signature"] == aliyun.signature("POST", union, "secret")


# --------------------------------------------------------------------------- requests


def test_batches_of_at_most_40():
    ids = [str(i) for i in range(95)]
    assert [len(b) for b in aliyun.batches(ids)] == [40, 40, 15]
    assert sum(aliyun.batches(ids, 7), []) == ids
    with pytest.raises(ValueError, match="40"):
        aliyun.batches(ids, 41)


def test_batch_request_parts():
    parts = aliyun.batch_request_parts(["1", "22"], "mm_1", "Url,UserType")
    assert parts == ("POST", "/", {"ItemIds": "1,22", "Pid": "mm_1", "Fields": "Url,UserType"})
    assert "Fields" not in aliyun.batch_request_parts(["1"], "mm_1").form
    with pytest.raises(ValueError):
        aliyun.batch_request_parts([str(i) for i in range(41)], "mm_1")
    with pytest.raises(ValueError):
        aliyun.batch_request_parts([], "mm_1")


# --------------------------------------------------------------------------- responses and mapping


def docs_example() -> bytes:
    return json.dumps(load_fixture("aliyun_example_response.json")).encode()


def test_docs_example_normalizes():
    ((item_id, result, rank),) = aliyun.parse_auctions(
        aliyun.check_response(200, {}, docs_example())
    )
    assert (item_id, rank, result["itemId"]) == (
        "594766914700",
        0.9877,
        "Oqz93kougf9bkN7f4ACMtJ-zDUWQmJB8PAf9",
    )
    product = aliyun.to_product({"rankScore": rank, "result": result}, {})
    assert product["product_id"] == "594766914700"  # InputItemId, not the dynamic ItemId
    assert product["source"] == "taobao" and product["currency"] == "CNY"
    assert product["price"] == Decimal("15.8") and product["price_raw"] == "15.8"
    assert product["original_price"] == Decimal("65.8")
    assert product["coupon_price"] == Decimal("12.8")
    assert product["image_url"] == "https://img.alicdn.com/pic.jpg"
    assert product["url"] == "https://s.click.taobao.com/t?123"
    assert product["commission_rate"] == Decimal("0.9")  # "90" = 0.9 %
    assert product["volume"] == 12515
    assert product["seller_id"] == product["shop_id"] == "2207366944297"
    assert product["shop_name"] == "urkazf旗舰店"
    assert product["category_names"] == ["3C数码配件", "USB风扇"]
    extra = product["extra"]
    assert extra["dynamic_item_id"] == "Oqz93kougf9bkN7f4ACMtJ-zDUWQmJB8PAf9"
    assert (
        extra["user_type"] == "tmall"
        and extra["provcity"] == "广东 深圳"
        and extra["rank_score"] == 0.9877
    )
    assert extra["coupon"]["amount"] == 2 and extra["coupon"]["start_fee"] == Decimal("15")
    assert extra["coupon"]["info"] == "满15.0元减2.0元" and extra["coupon"]["remain_count"] == 72287
    assert extra["coupon"]["share_url"] == "https://uland.taobao.com/coupon/edetail?123"
    assert extra["max_commission"]["rate"] == Decimal("0.90")
    assert extra["item_page_url"] == "https://detail.tmall.com/item.htm?id=594766914700"


def test_pascal_case_keys_are_read_too():
    envelope = {
        "Success": True,
        "Code": 0,
        "RequestId": "r",
        "Data": {
            "Auctions": [
                {
                    "RankScore": 0.5,
                    "Result": {
                        "InputItemId": "7",
                        "ItemId": "7",
                        "ZkFinalPrice": "1.5",
                        "CommissionRate": "1550",
                        "UserType": 0,
                        "Url": "tbopen://m.taobao.com/x",
                    },
                },
            ]
        },
    }
    ((item_id, result, rank),) = aliyun.parse_auctions(
        aliyun.check_response(200, {}, json.dumps(envelope).encode())
    )
    product = aliyun.to_product({"RankScore": rank, "Result": result}, {})
    assert (item_id, product["price"], product["commission_rate"]) == (
        "7",
        Decimal("1.5"),
        Decimal("15.5"),
    )
    assert product["url"] == "https://item.taobao.com/item.htm?id=7"  # tbopen: is no web link
    assert "dynamic_item_id" not in product["extra"] and product["extra"]["user_type"] == "taobao"


def test_input_id_falls_back_to_a_numeric_item_id_only():
    assert aliyun.input_item_id({"ItemId": "123"}) == "123"
    assert aliyun.input_item_id({"ItemId": "Oqz93k-x"}) is None
    with pytest.raises(ValueError, match="InputItemId"):
        aliyun.to_product({"rankScore": 1, "result": {"itemId": "Oqz93k-x"}}, {})


def test_bad_values_name_their_field():
    with pytest.raises(ValueError, match=r"result\.ZkFinalPrice"):
        aliyun.to_product({"result": {"inputItemId": "1", "zkFinalPrice": "九块九"}}, {})
    with pytest.raises(ValueError, match=r"result\.Volume"):
        aliyun.to_product({"result": {"inputItemId": "1", "volume": "1万+"}}, {})


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "Throttling", ErrorClass.RATE_LIMITED),
        (400, "Throttling.User", ErrorClass.RATE_LIMITED),
        (400, "Throttling.Api", ErrorClass.RATE_LIMITED),
        (500, "InternalError", ErrorClass.RETRYABLE),
        (503, "ServiceUnavailable", ErrorClass.RETRYABLE),
        (400, "SignatureNonceUsed", ErrorClass.RETRYABLE),
        (502, "SomethingNew", ErrorClass.RETRYABLE),
        (400, "InvalidTimeStamp.Expired", ErrorClass.CLOCK),
        (400, "SignatureDoesNotMatch", ErrorClass.AUTH),
        (400, "IncompleteSignature", ErrorClass.AUTH),
        (404, "InvalidAccessKeyId.NotFound", ErrorClass.AUTH),
        (400, "InvalidAccessKeyId.Inactive", ErrorClass.AUTH),
        (403, "Forbidden.RAM", ErrorClass.AUTH),
        (403, "Forbidden", ErrorClass.AUTH),
        (400, "MissingItemIds", ErrorClass.PERMANENT),
        (400, "MissingPid", ErrorClass.PERMANENT),
        (400, "InvalidParameter", ErrorClass.PERMANENT),
        (404, "InvalidApi.NotFound", ErrorClass.PERMANENT),
        (400, "InvalidTimeStamp.Format", ErrorClass.PERMANENT),
    ],
)
def test_gateway_error_classes(status, code, expected):
    body = json.dumps(
        {"RequestId": "r", "HostId": "h", "Code": code, "Message": "m", "Recommend": "u"}
    ).encode()
    with pytest.raises(ApiError) as caught:
        aliyun.check_response(status, {}, body)
    assert caught.value.error_class is expected
    assert (caught.value.code, caught.value.message) == (code, "m")


def test_non_json_answers():
    for status, expected in (
        (502, ErrorClass.RETRYABLE),
        (429, ErrorClass.RATE_LIMITED),
        (404, ErrorClass.PERMANENT),
    ):
        with pytest.raises(ApiError) as caught:
            aliyun.check_response(status, {"retry-after": "3"}, b"<html>busy</html>")
        assert caught.value.error_class is expected


def test_business_failure_in_http_200_is_permanent():
    for envelope in (
        {"success": False, "code": 1001, "message": "bad pid"},
        {"Success": True, "Code": "7"},
    ):
        with pytest.raises(ApiError) as caught:
            aliyun.check_response(200, {}, json.dumps(envelope).encode())
        assert caught.value.error_class is ErrorClass.PERMANENT


# ------------------------------------------------------------------ sandbox endpoint (in process)


@pytest.fixture(scope="module")
def app():
    return build_app(SandboxConfig(store_sizes=[1]))


def sandbox_call(
    app,
    form: dict[str, str],
    *,
    secret: str | None = None,
    now: float | None = None,
    all_in_body: bool = False,
    url: str | None = None,
):
    config = {
        **CONFIG,
        "ALIYUN_ACCESS_KEY_ID": credentials.get(
            "ALIYUN_ACCESS_KEY_ID", sandbox_aliyun.CREDENTIAL_DEFAULTS
        ),
        "ALIYUN_ACCESS_KEY_SECRET": secret
        or credentials.get("ALIYUN_ACCESS_KEY_SECRET", sandbox_aliyun.CREDENTIAL_DEFAULTS),
    }
    body = urlencode(form).encode()
    signed = aliyun.sign(
        Unsigned("POST", url or "http://sandbox/", {}, body), config, now or time.time()
    )
    query = query_of(signed.url)
    if all_in_body:
        query, body = {}, urlencode({**query, **form}).encode()
    request = SandboxRequest("POST", "/", query, {}, body)
    return request, app.handle(request)


def answer(response):
    """The client's reading of a sandbox answer: data, or the error's (class, code)."""
    try:
        return aliyun.check_response(response.status, {}, response.encoded())
    except ApiError as error:
        return error.error_class, error.code


def test_sandbox_answers_known_ids_and_omits_unknown(app):
    known = sorted(app.routes[("GET", "/_sandbox/taobao_items")][1](app, None).body["itemIds"])[:3]
    _, response = sandbox_call(app, {"ItemIds": ",".join([*known, "1"]), "Pid": "mm_1_2_3"})
    auctions = aliyun.parse_auctions(answer(response))
    assert [a.input_item_id for a in auctions] == known
    assert all(aliyun.to_product(a.payload(), {})["price"] > 0 for a in auctions)
    # deterministic: the same id gives the same result
    _, again = sandbox_call(app, {"ItemIds": known[0], "Pid": "mm_1_2_3"})
    assert aliyun.parse_auctions(answer(again))[0].result == auctions[0].result


def test_sandbox_has_dynamic_item_ids(app):
    ids = app.routes[("GET", "/_sandbox/taobao_items")][1](app, None).body["itemIds"][:40]
    _, response = sandbox_call(app, {"ItemIds": ",".join(ids), "Pid": "mm_1_2_3"})
    auctions = aliyun.parse_auctions(answer(response))
    assert len(auctions) == 40
    assert 0 < sum(a.result["itemId"] != a.input_item_id for a in auctions) < 40


def test_sandbox_accepts_everything_in_the_body(app):
    _, response = sandbox_call(app, {"ItemIds": "1", "Pid": "mm_1_2_3"}, all_in_body=True)
    assert answer(response) == {"auctions": []}


def test_sandbox_rejects_like_the_gateway(app):
    ok = {"ItemIds": "1", "Pid": "mm_1_2_3"}
    request, response = sandbox_call(app, ok)
    assert response.status == 200
    assert (app.handle(request).status, answer(app.handle(request))) == (
        400,
        (ErrorClass.RETRYABLE, "SignatureNonceUsed"),
    )
    cases = [
        ({"secret": "wrong"}, ok, 400, (ErrorClass.AUTH, "SignatureDoesNotMatch")),
        ({"now": time.time() - 16 * 60}, ok, 400, (ErrorClass.CLOCK, "InvalidTimeStamp.Expired")),
        ({}, {"Pid": "mm_1_2_3"}, 400, (ErrorClass.PERMANENT, "MissingItemIds")),
        ({}, {"ItemIds": "1"}, 400, (ErrorClass.PERMANENT, "MissingPid")),
        (
            {},
            {"ItemIds": ",".join(map(str, range(41))), "Pid": "p"},
            400,
            (ErrorClass.PERMANENT, "InvalidParameter"),
        ),
    ]
    for options, form, status, expected in cases:
        _, response = sandbox_call(app, form, **options)
        assert (response.status, answer(response)) == (status, expected), options
        assert set(response.body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    for changed in ({"Action": "GetProductInfo"}, {"Version": "2020-01-01"}):
        params = (
            aliyun.common_params(
                credentials.get("ALIYUN_ACCESS_KEY_ID", sandbox_aliyun.CREDENTIAL_DEFAULTS),
                time.time(),
            )
            | changed
        )
        params["Signature"] = aliyun.signature(
            "POST",
            params | ok,
            credentials.get("ALIYUN_ACCESS_KEY_SECRET", sandbox_aliyun.CREDENTIAL_DEFAULTS),
        )
        response = app.handle(SandboxRequest("POST", "/", params, {}, urlencode(ok).encode()))
        assert (response.status, answer(response)) == (
            404,
            (ErrorClass.PERMANENT, "InvalidApi.NotFound"),
        )


def test_sandbox_error_and_throttle_builders(app):
    throttled = app.throttle_builders["aliyun"](SandboxRequest("POST", "/", {}, {}, b""))
    assert (throttled.status, answer(throttled)) == (
        400,
        (ErrorClass.RATE_LIMITED, "Throttling.User"),
    )
    for code, status in (
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("Forbidden.RAM", 403),
    ):
        assert app.error_builders["aliyun"](code, None, None).status == status
    request = SandboxRequest("POST", "/", {"AccessKeyId": "k1"}, {}, b"ItemIds=1")
    assert app.credential_of["aliyun"](request) == "k1"


# --------------------------------------------------------------------------- spider


def make_spider(settings: dict | None = None, **kwargs):
    crawler = get_crawler(TaobaoItemsSpider, settings_dict={**CONFIG, **(settings or {})})
    return TaobaoItemsSpider.from_crawler(crawler, **kwargs)


@pytest.mark.parametrize(
    ("settings", "kwargs", "message"),
    [
        ({}, {}, "needs ids"),
        ({}, {"item_ids": "123,abc"}, "numeric"),
        ({"HARVESTER_ALIYUN_BATCH_SIZE": 41}, {"item_ids": "1"}, "at most|1 to 40"),
        ({}, {"item_ids": "1", "fields": "Url;drop"}, "fields"),
    ],
)
def test_spider_rejects_bad_arguments(settings, kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        make_spider(settings, **kwargs)
    with pytest.raises(ArgumentError, match=message):
        TaobaoItemsSpider.check_arguments(
            get_crawler(settings_dict={**CONFIG, **settings}).settings, **kwargs
        )


async def collect(iterator) -> list:
    return [item async for item in iterator]


def test_spider_batches_and_records_missing_ids(tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(
        "\n".join(str(100 + i) for i in range(45)) + "\n# a comment\n594766914700\n"
    )
    spider = make_spider({"HARVESTER_ALIYUN_BATCH_SIZE": 23}, item_ids=f"@{ids_file}", fields="Url")
    requests = asyncio.run(collect(spider.start()))
    assert [len(r.cb_kwargs["batch"]) for r in requests] == [23, 23]
    assert all(r.method == "POST" and r.meta["harvester_api"] == "aliyun" for r in requests)
    assert dict(parse_qsl(requests[0].body.decode())) == {
        "ItemIds": ",".join(str(100 + i) for i in range(23)),
        "Pid": "mm_1_2_3",
        "Fields": "Url",
    }

    dead = []
    spider.crawler.signals.connect(
        lambda dead_letter: dead.append(dead_letter), signal=signals.dead_letter, weak=False
    )
    batch = requests[1].cb_kwargs["batch"]
    data = json.loads(docs_example())["data"]
    signed = sign(b"", BASE).url
    response = TextResponse(
        signed, body=b"{}", request=Request(signed, meta={"harvester_data": data})
    )
    records = list(spider.parse_batch(response, batch))
    assert {r.url for r in records} | {d.url for d in dead} == {BASE}
    assert [r.payload["result"]["inputItemId"] for r in records] == ["594766914700"]
    assert sorted(d.body for d in dead) == sorted(set(batch) - {"594766914700"})
    assert {d.kind for d in dead} == {"missing"}
    assert spider.crawler.stats.get_value("harvester/taobao_items/missing") == 22
