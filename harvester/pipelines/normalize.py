"""Normalize every :class:`~harvester.items.ApiRecord` into one :class:`~harvester.items.Product`.

The record's provider module maps its payload (``to_product``); this pipeline
validates the result. A record that fails is dropped with ``DropItem`` (counted
by Scrapy as ``item_dropped_reasons_count/DropItem``), counted in
``harvester/normalize/invalid/<api>`` and kept as a dead letter with its reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured

from harvester import dead_letters
from harvester.apis import get_provider
from harvester.items import ApiRecord, PriceTier, Product, Sku

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PRODUCT_FIELDS = {f.name for f in fields(Product)}


def validate(product: Product) -> None:
    """Raise ``ValueError`` naming the first field that breaks the schema."""
    if not product.source:
        raise ValueError("source: missing")
    if not product.product_id:
        raise ValueError("product_id: missing")
    for name in ("price", "original_price", "coupon_price"):
        value = getattr(product, name)
        if value is None:
            continue
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise ValueError(f"{name}: not a non-negative decimal: {value!r}")
        if not product.currency or not _CURRENCY.match(product.currency):
            raise ValueError(
                f"currency: {product.currency!r} is not an ISO 4217 code (needed by {name})"
            )
    for name in ("image_url", "url", "shop_url"):
        value = getattr(product, name)
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"{name}: not an absolute https URL: {value!r}")
    for index, sku in enumerate(product.skus):
        if sku.price is not None and (sku.price < 0 or not sku.currency):
            raise ValueError(f"skus[{index}].price: negative or without currency")
    for index, tier in enumerate(product.price_tiers):
        if tier.start_quantity < 1 or tier.price < 0:
            raise ValueError(f"price_tiers[{index}]: start_quantity < 1 or negative price")


def build_product(record: ApiRecord) -> Product:
    """Map *record* through its provider and return a validated :class:`Product`."""
    provider = get_provider(record.api)
    mapped: dict[str, Any] = provider.to_product(record.payload, record.context)
    if not _PRODUCT_FIELDS.issuperset(mapped):
        unknown = sorted(set(mapped) - _PRODUCT_FIELDS)
        raise ValueError(f"{record.api}.to_product returned unknown fields {unknown}")
    if mapped.get("skus"):
        mapped["skus"] = [s if isinstance(s, Sku) else Sku(**s) for s in mapped["skus"]]
    if mapped.get("price_tiers"):
        mapped["price_tiers"] = [
            t if isinstance(t, PriceTier) else PriceTier(**t) for t in mapped["price_tiers"]
        ]
    product = Product(api=record.api, raw=record.payload, fetched_at=record.fetched_at, **mapped)
    validate(product)
    return product


class NormalizePipeline:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("HARVESTER_NORMALIZE_ENABLED"):
            raise NotConfigured("HARVESTER_NORMALIZE_ENABLED is off")
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ApiRecord):
            return item
        try:
            product = build_product(item)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            reason = f"invalid record: {exc}"
            self.crawler.stats.inc_value(f"harvester/normalize/invalid/{item.api}")
            dead_letters.send(
                self.crawler,
                dead_letters.bad_record(item.api, reason, item.payload, item.url, item.fetched_at),
            )
            raise DropItem(reason) from None
        return product
