"""One PandaPon offer (store listing or related item) → product-schema fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.pandapon.spec import CURRENCY, SOURCE

_CATEGORY_KEYS = ("topCategoryId", "secondCategoryId", "thirdCategoryId")


def percent(value: Any, path: str = "repurchaseRate") -> Decimal | None:
    """``"100%"`` → ``Decimal("100")``; numbers pass through; ``None`` stays ``None``."""
    return fields.percentage(value, path)


def offer_url(offer_id: Any) -> str:
    """The 1688 product page of *offer_id* (PandaPon and vv-tool records alike)."""
    return f"https://detail.1688.com/offer/{offer_id}.html"


def to_product(offer: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one offer (store listing or related item) to product-schema fields.

    Raises :class:`~harvester.apis.fields.FieldError` naming the field path when the
    offer cannot be mapped.
    """
    record = fields.mapping(offer, "offer")
    product_id = fields.identifier(record.get("offerId"), "offerId", digits=True)
    price_info = fields.mapping(record.get("priceInfo"), "priceInfo")
    price_raw = price_info.get("price")
    price = fields.decimal(price_raw, "priceInfo.price")
    category_ids = [
        fields.integer(record[key], key) for key in _CATEGORY_KEYS if record.get(key) is not None
    ]
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": fields.text(record.get("subject"), "subject"),
        "title_en": fields.text(record.get("subjectTrans"), "subjectTrans"),
        "price": price,
        "price_raw": fields.raw_text(price_raw, "priceInfo.price"),
        "currency": CURRENCY,
        "image_url": fields.https_url(record.get("imageUrl"), "imageUrl"),
        "seller_id": fields.optional_id(context.get("seller_id"), "context.seller_id"),
        "category_ids": [c for c in category_ids if c is not None],
        "month_sold": fields.count(record.get("monthSold"), "monthSold"),
        "is_jxhy": fields.boolean(record.get("isJxhy"), "isJxhy"),
        "is_one_psale": fields.boolean(record.get("isOnePsale"), "isOnePsale"),
        "repurchase_rate": fields.percentage(record.get("repurchaseRate"), "repurchaseRate"),
        "url": offer_url(product_id),
    }
