from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from harvester import signals
from harvester.apis import fields
from harvester.items import ApiRecord, Product
from harvester.pipelines.normalize import NormalizePipeline, build_product, validate
from tests.conftest import load_fixture


def offer(**patch):
    return {**load_fixture("pandapon_selleroffer_response.json")["data"]["data"][1], **patch}


def test_build_product_keeps_raw_payload_and_api():
    record = ApiRecord("pandapon", offer(), {"seller_id": "S"}, "https://x/y")
    product = build_product(record)
    assert isinstance(product, Product)
    assert product.api == "pandapon"
    assert product.raw == record.payload
    assert product.price == Decimal("6.50")
    assert product.fetched_at == record.fetched_at


@pytest.mark.parametrize(
    ("product", "message"),
    [
        (Product("1688", "1", "pandapon", price=Decimal("-1"), currency="CNY"), "price"),
        (Product("1688", "1", "pandapon", price=Decimal("1"), currency=None), "currency"),
        (Product("1688", "1", "pandapon", price=Decimal("1"), currency="yuan"), "currency"),
        (Product("1688", "1", "pandapon", image_url="//img.alicdn.com/x.jpg"), "image_url"),
        (Product("1688", "", "pandapon"), "product_id"),
    ],
)
def test_validate_names_the_field(product, message):
    with pytest.raises(ValueError, match=message):
        validate(product)


def test_pipeline_drops_invalid_record_into_dead_letter_and_counts_it():
    crawler = get_crawler(settings_dict={"HARVESTER_NORMALIZE_ENABLED": True})
    letters = []
    crawler.signals.connect(
        lambda dead_letter: letters.append(dead_letter), signal=signals.dead_letter, weak=False
    )
    pipeline = NormalizePipeline.from_crawler(crawler)
    good = pipeline.process_item(ApiRecord("pandapon", offer(), {}))
    assert isinstance(good, Product)
    with pytest.raises(DropItem, match="priceInfo.price"):
        pipeline.process_item(
            ApiRecord("pandapon", offer(priceInfo={"price": "n/a"}), {}, "https://api/x")
        )
    assert len(letters) == 1
    assert letters[0].kind == "record" and "priceInfo.price" in letters[0].reason
    assert '"n/a"' in letters[0].body
    assert crawler.stats.get_value("harvester/normalize/invalid/pandapon") == 1


@pytest.mark.parametrize(
    ("coerce", "value", "expected"),
    [
        (fields.decimal, "6.80", Decimal("6.80")),
        (fields.decimal, 23, Decimal("23")),
        (fields.decimal, 0.1, Decimal("0.1")),
        (fields.decimal, "", None),
        (fields.percentage, "3.5%", Decimal("3.5")),
        (fields.integer, "12", 12),
        (fields.integer, 3.0, 3),
        (fields.count, None, None),
        (fields.boolean, "true", True),
        (fields.boolean, 0, False),
        (fields.boolean, "", None),
        (fields.text, "emoji cut \ud83d", "emoji cut \ufffd"),
        (fields.text, "a\x00b", "ab"),
        (fields.text, "\ud83d\ude00", "\U0001f600"),  # a split pair joined
        (fields.https_url, "//img.example.com/x.jpg", "https://img.example.com/x.jpg"),
        (fields.https_url, "http://x.example.com/y", "https://x.example.com/y"),
    ],
)
def test_coercions(coerce, value, expected):
    assert coerce(value, "p") == expected


@pytest.mark.parametrize(
    ("coerce", "value"),
    [
        (fields.decimal, "NaN"),
        (fields.decimal, float("inf")),
        (fields.decimal, "1e30"),
        (fields.decimal, 12345678901234567890),
        (fields.decimal, True),
        (fields.decimal, {}),
        (fields.percentage, "1000000%"),
        (fields.integer, 2**64),
        (fields.integer, "3.5"),
        (fields.integer, "²"),
        (fields.count, -1),
        (fields.count, 2**31),
        (fields.boolean, -1),
        (fields.boolean, []),
        (fields.boolean, "yes please"),
        (fields.text, {}),
        (fields.sequence, "a,b"),
        (fields.mapping, []),
        (fields.identifier, "9" * 65),
        (fields.identifier, " "),
    ],
)
def test_coercions_refuse_with_the_path(coerce, value):
    with pytest.raises(fields.FieldError) as caught:
        coerce(value, "data.x[2]")
    assert caught.value.path == "data.x[2]" and str(caught.value).startswith("data.x[2]: ")
    assert isinstance(caught.value, fields.ValidationError)


def test_vvtool_image_paths_join_the_image_host():
    assert fields.https_url("img/a.jpg", "i", base="https://cbu01.alicdn.com/") == (
        "https://cbu01.alicdn.com/img/a.jpg"
    )


def test_retry_after_is_bounded():
    assert fields.retry_after_seconds("9" * 400) == fields.MAX_RETRY_AFTER
    assert fields.retry_after_seconds("²") is None


def test_raw_payload_with_nan_and_a_lone_surrogate_is_stored_as_valid_json():
    record = ApiRecord("pandapon", offer(weight=float("nan"), note="cut \ud83d"), {})
    product = build_product(record)
    assert product.raw["weight"] == "NaN" and product.raw["note"] == "cut \ufffd"
    json.dumps(product.raw, allow_nan=False).encode("utf-8")  # what PostgreSQL accepts
    assert record.payload["weight"] != record.payload["weight"]  # the record is untouched


def test_payload_nested_too_deeply_is_a_field_error():
    deep: Any = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(fields.FieldError, match="nested deeper"):
        build_product(ApiRecord("pandapon", offer(extra=deep), {}))
