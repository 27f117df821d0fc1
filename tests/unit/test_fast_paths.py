"""The normalize pipeline's fast paths give what the step-by-step code gives: a raw
payload :func:`~harvester.apis.raw.plain` is one :func:`~harvester.apis.raw.repaired`
would copy unchanged. And the docs' example records take the fast paths (else
normalization is slow again, silently)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.apis import aliyun, fields
from harvester.apis.raw import MAX_DEPTH, plain, repaired, storable
from harvester.apis.vvtool.records import TIME_LAYOUTS, parse_time
from harvester.items import ApiRecord
from harvester.pipelines.normalize import build_product
from tests.conftest import load_fixture
from tests.fuzz.mutations import VALUES

FAST = settings(
    max_examples=400, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
KEYS = st.sampled_from(["a", "price", "\ud83d", "a\x00", "九", "\ud83d\ude00"]) | st.text(
    max_size=3
)
JSON = st.recursive(
    VALUES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3)
)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@FAST
@given(JSON)
def test_a_plain_payload_is_what_the_copy_would_be(value: Any) -> None:
    if plain(value):
        assert repaired(value) == value
        assert storable(value) is value
    else:
        assert storable(value) == repaired(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1.5, "x", {"b": None}]}, True),
        ({"a": [float("nan")]}, False),
        ({"a": {"b": float("-inf")}}, False),
        ({"\ud83d": 1}, False),
        ({"a": "cut \ud83d"}, False),
        ([["a\x00"]], False),
        ({1: "int keys"}, True),
        (nested(MAX_DEPTH), True),
        (nested(MAX_DEPTH + 1), False),
    ],
)
def test_plain(value: Any, expected: bool) -> None:
    assert plain(value) is expected


def test_too_deep_is_refused_as_before() -> None:
    with pytest.raises(fields.FieldError, match="nested deeper"):
        storable(nested(MAX_DEPTH + 1), "raw")


def _records() -> list[ApiRecord]:
    store = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    related = load_fixture("pandapon_related_response.json")["data"]
    answer = load_fixture("aliyun_example_response.json")["data"]
    detail = load_fixture("vvtool_example_response.json")["data"]
    found = load_fixture("aliexpress_example_response.json")
    products = found["aliexpress_affiliate_productdetail_get_response"]["resp_result"]
    return [
        *(ApiRecord("pandapon", o, {"seller_id": "S"}) for o in [*store, *related]),
        *(ApiRecord("aliyun", a.payload(), {}) for a in aliyun.parse_auctions(answer)),
        ApiRecord("vvtool", detail, {"shop_id": "shop"}),
        *(ApiRecord("aliexpress", p, {}) for p in products["result"]["products"]["product"]),
    ]


@pytest.mark.parametrize("record", _records(), ids=lambda r: r.api)
def test_the_docs_examples_take_the_fast_paths(record: ApiRecord) -> None:
    assert plain(record.payload)
    product = build_product(record)
    assert product.raw is record.payload  # not copied


def _strptime(text: str) -> Any:
    for layout in TIME_LAYOUTS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return text


TWO = st.integers(0, 99).map("{:02d}".format)
TIMES = st.tuples(
    st.integers(0, 9999).map("{:04d}".format), TWO, TWO, TWO, TWO, TWO,
    st.sampled_from(["", "000", "999", "5"]), st.sampled_from("+-"), TWO, TWO,
).map("".join)  # fmt: skip


@FAST
@given(TIMES)
def test_vvtool_times_read_as_strptime_reads_them(text: str) -> None:
    parsed = parse_time(text)
    assert parsed == _strptime(text)
    if isinstance(parsed, datetime):
        assert parsed.utcoffset() == _strptime(text).utcoffset()
