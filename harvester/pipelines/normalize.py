"""Normalize every :class:`~harvester.items.ApiRecord` into one :class:`~harvester.items.Product`.

The record's provider module maps its payload (``to_product``, coercing each field
through :mod:`harvester.apis.fields`); this pipeline validates the result against
what the schema stores on SQLite and PostgreSQL alike, and keeps a storable copy of
the raw payload (non-finite numbers as text, lone surrogates repaired). A record that
fails (:class:`~harvester.apis.fields.ValidationError`, naming the field path) is
dropped with ``DropItem`` (counted by Scrapy as ``item_dropped_reasons_count/DropItem``),
counted in ``harvester/normalize/invalid/<api>`` and kept as a dead letter with its reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields as dataclass_fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from harvester import dead_letters
from harvester.apis import fields, get_provider
from harvester.apis.fields import FieldError, ValidationError
from harvester.apis.raw import storable
from harvester.items import ApiRecord, PriceTier, Product, Sku

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PRODUCT_FIELDS = {f.name for f in dataclass_fields(Product)}
#: Text columns of ``varchar(64)`` (the others are unbounded ``text``).
_IDS = ("product_id", "seller_id", "shop_id", "price_raw")
_TEXTS = ("title", "title_en", "shop_name", "image_url", "url", "shop_url")
_MONEY = ("price", "original_price", "coupon_price")
_PERCENTS = ("repurchase_rate", "commission_rate", "rating")
_COUNTS = ("month_sold", "volume", "stock")
_FLAGS = ("is_jxhy", "is_one_psale", "available")


def _text(value: Any, path: str, max_length: int | None = None) -> None:
    if value is None:
        return
    if type(value) is not str or (
        not (value.isascii() and "\x00" not in value) and fields.clean(value) != value
    ):
        raise FieldError(path, f"not storable text: {fields.show(value)}")
    if max_length is not None and len(value) > max_length:
        raise FieldError(path, f"{len(value)} characters, more than {max_length}")


def _number(value: Any, path: str, limit: Decimal) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value < limit:
        raise FieldError(path, f"not a non-negative decimal below {limit:.0E}: {value!r}")


def _count(value: Any, path: str, low: int = 0) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= fields.INT32[1]:
        raise FieldError(path, f"not an integer in [{low}, {fields.INT32[1]}]: {value!r}")


def validate(product: Product) -> None:
    """Raise :class:`ValidationError` naming the first field the schema would refuse."""
    if not product.source:
        raise FieldError("source", "missing")
    if not product.product_id:
        raise FieldError("product_id", "missing")
    for name in _IDS:
        _text(getattr(product, name), name, fields.ID_LENGTH)
    for name in _TEXTS:
        _text(getattr(product, name), name)
    for name in _MONEY:
        value = getattr(product, name)
        _number(value, name, fields.MONEY_LIMIT)
        if value is not None and (not product.currency or not _CURRENCY.match(product.currency)):
            raise FieldError(
                "currency", f"{product.currency!r} is not an ISO 4217 code (needed by {name})"
            )
    for name in _PERCENTS:
        _number(getattr(product, name), name, fields.PERCENT_LIMIT)
    for name in _COUNTS:
        _count(getattr(product, name), name)
    for name in _FLAGS:
        if getattr(product, name) not in (None, True, False):
            raise FieldError(name, f"not a boolean: {getattr(product, name)!r}")
    for name in ("image_url", "url", "shop_url"):
        value = getattr(product, name)
        if value is not None and not value.startswith("https://"):
            raise FieldError(name, f"not an absolute https URL: {fields.show(value)}")
    for index, sku in enumerate(product.skus):
        path = f"skus[{index}]"
        _text(sku.sku_id, f"{path}.sku_id", fields.ID_LENGTH)
        _text(sku.spec_id, f"{path}.spec_id", fields.ID_LENGTH)
        _number(sku.price, f"{path}.price", fields.MONEY_LIMIT)
        _count(sku.stock, f"{path}.stock")
        if sku.price is not None and not sku.currency:
            raise FieldError(f"{path}.price", "without currency")
    for index, tier in enumerate(product.price_tiers):
        path = f"price_tiers[{index}]"
        _count(tier.start_quantity, f"{path}.start_quantity", low=1)
        _number(tier.price, f"{path}.price", fields.MONEY_LIMIT)


def build_product(record: ApiRecord) -> Product:
    """Map *record* through its provider and return a validated :class:`Product`;
    :class:`ValidationError` names the field path when the record does not fit."""
    provider = get_provider(record.api)
    mapped: dict[str, Any] = provider.to_product(record.payload, record.context)
    if not _PRODUCT_FIELDS.issuperset(mapped):
        unknown = sorted(set(mapped) - _PRODUCT_FIELDS)
        raise ValidationError(f"{record.api}.to_product returned unknown fields {unknown}")
    if mapped.get("skus"):
        mapped["skus"] = [s if isinstance(s, Sku) else Sku(**s) for s in mapped["skus"]]
    if mapped.get("price_tiers"):
        mapped["price_tiers"] = [
            t if isinstance(t, PriceTier) else PriceTier(**t) for t in mapped["price_tiers"]
        ]
    if mapped.get("extra"):
        mapped["extra"] = storable(mapped["extra"], "extra")
    raw = storable(record.payload)
    product = Product(api=record.api, raw=raw, fetched_at=record.fetched_at, **mapped)
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
        except ValidationError as exc:
            self._reject(item, f"invalid record: {exc}")
        return product

    def _reject(self, item: ApiRecord, reason: str) -> NoReturn:
        adapter = ItemAdapter(item)
        api = adapter["api"]
        self.crawler.stats.inc_value(f"harvester/normalize/invalid/{api}")
        dead_letters.send(
            self.crawler,
            dead_letters.bad_record(
                api, reason, adapter["payload"], adapter["url"], adapter["fetched_at"]
            ),
        )
        raise DropItem(reason)
