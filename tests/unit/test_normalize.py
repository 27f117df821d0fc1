from __future__ import annotations

from decimal import Decimal

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from harvester import signals
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
