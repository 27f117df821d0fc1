"""Items: what spiders yield and what pipelines store.

Spiders yield :class:`ApiRecord` (one raw record as the API sent it) and
:class:`RelatedEdge`; the normalization pipeline turns each ``ApiRecord`` into a
:class:`Product` through its provider module's ``to_product``. Records that
cannot be parsed or validated become :class:`DeadLetter` items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, TypeVar

_T = TypeVar("_T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _construct(cls: type[_T], *values: Any) -> _T:
    return cls(*values)


def _positional_pickle(cls: type[_T]) -> type[_T]:
    """Pickle *cls* as its field values in order, rebuilt by one constructor call.

    Items cross to the storage writer process in batches; the dataclass's own
    ``__getstate__``/``__setstate__`` (a Python loop over ``fields()``) took a third
    of that cost.
    """
    values = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        return _construct, (cls, *values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


@dataclass(slots=True)
class ApiRecord:
    """One record exactly as an API returned it, before normalization."""

    #: Provider module name under ``harvester.apis`` (``pandapon``, ``aliyun``, ...).
    api: str
    #: The record as parsed from JSON, untouched.
    payload: dict[str, Any]
    #: Facts the record does not carry itself (e.g. ``seller_id`` of the store walked).
    context: dict[str, Any] = field(default_factory=dict)
    #: URL of the API call that returned it.
    url: str = ""
    #: When the response arrived (UTC).
    fetched_at: datetime = field(default_factory=utcnow)


@_positional_pickle
@dataclass(slots=True)
class Sku:
    """One stock-keeping unit of a product."""

    #: Provider's SKU id, as a string.
    sku_id: str
    #: 1688 spec id (hex string), if any.
    spec_id: str | None = None
    #: Attribute name → value, e.g. ``{"颜色": "清新蓝"}``.
    attributes: dict[str, str] = field(default_factory=dict)
    #: Unit price; ``None`` when the SKU has no own price.
    price: Decimal | None = None
    #: ISO 4217 code of ``price``.
    currency: str | None = None
    #: Units available for sale.
    stock: int | None = None
    #: SKU image, absolute https URL.
    image_url: str | None = None


@_positional_pickle
@dataclass(slots=True)
class PriceTier:
    """A quantity break: from ``start_quantity`` units on, each costs ``price``."""

    start_quantity: int
    price: Decimal
    #: ISO 4217 code of ``price``.
    currency: str


@_positional_pickle
@dataclass(slots=True)
class Product:
    """One product in the shared schema, whatever the source."""

    #: Marketplace: ``1688``, ``taobao`` or ``aliexpress``.
    source: str
    #: The marketplace's product id, as a string.
    product_id: str
    #: Provider module that produced this record (``pandapon``, ``vvtool``, ...).
    api: str
    #: Title in the original language.
    title: str | None = None
    #: English title, when the API provides one.
    title_en: str | None = None
    #: Current (sale) price.
    price: Decimal | None = None
    #: The price exactly as received.
    price_raw: str | None = None
    #: ISO 4217 code of ``price``.
    currency: str | None = None
    #: List / original price.
    original_price: Decimal | None = None
    #: Price after coupon.
    coupon_price: Decimal | None = None
    #: Main image, absolute https URL.
    image_url: str | None = None
    #: All images, absolute https URLs.
    images: list[str] = field(default_factory=list)
    seller_id: str | None = None
    shop_id: str | None = None
    shop_name: str | None = None
    shop_url: str | None = None
    #: Category ids from top level down.
    category_ids: list[int] = field(default_factory=list)
    #: Category names from top level down.
    category_names: list[str] = field(default_factory=list)
    #: Units sold recently (1688 ``monthSold``: last 90 days per the docs).
    month_sold: int | None = None
    #: Sales volume as the source reports it (e.g. Taobao's 30-day volume).
    volume: int | None = None
    #: Units available for sale.
    stock: int | None = None
    is_jxhy: bool | None = None
    is_one_psale: bool | None = None
    #: Repurchase rate in percent (``"100%"`` → 100).
    repurchase_rate: Decimal | None = None
    #: Commission rate in percent (``"3.5%"`` → 3.5).
    commission_rate: Decimal | None = None
    #: Positive rating in percent.
    rating: Decimal | None = None
    #: ``False`` when the source says the product is not for sale.
    available: bool | None = None
    #: Product page, absolute https URL.
    url: str | None = None
    #: Source-specific extras that have no column (attributes, coupon terms, ...).
    extra: dict[str, Any] = field(default_factory=dict)
    skus: list[Sku] = field(default_factory=list)
    price_tiers: list[PriceTier] = field(default_factory=list)
    #: The raw record the product was normalized from.
    raw: dict[str, Any] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=utcnow)


@_positional_pickle
@dataclass(slots=True)
class RelatedEdge:
    """``source_product_id`` lists ``related_product_id`` at position ``rank`` (1-based)."""

    source: str
    source_product_id: str
    related_product_id: str
    rank: int
    fetched_at: datetime = field(default_factory=utcnow)


@_positional_pickle
@dataclass(slots=True)
class DeadLetter:
    """A response or record that could not be parsed or validated, kept for inspection."""

    api: str
    #: Why it was rejected, naming the field path where possible.
    reason: str
    #: ``response`` (a whole API answer) or ``record`` (one record of an answer).
    kind: str = "record"
    url: str | None = None
    http_status: int | None = None
    #: The request body sent, secrets excluded.
    request_body: str | None = None
    #: The raw response body or record JSON.
    body: str | None = None
    fetched_at: datetime = field(default_factory=utcnow)


@_positional_pickle
@dataclass(slots=True)
class UnitDone:
    """A unit of work (a page, an id batch, a detail) whose items precede it: written
    to the work ledger with them, in one transaction (see :mod:`harvester.ledger`)."""

    #: The unit's key, e.g. ``page:<seller>|<band>:3`` or ``detail:<product id>``.
    unit: str
    #: What follow-up requests need when a resumed run skips the unit (JSON-able).
    outcome: Any = None
