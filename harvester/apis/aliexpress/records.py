"""One AliExpress product → product-schema fields (prices in the asked currency)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.aliexpress.spec import SOURCE


def _decimal(record: dict[str, Any], key: str, percent: bool = False) -> Decimal | None:
    if percent:
        return fields.percentage(record.get(key), key)
    return fields.decimal(record.get(key), key)


def _currency(record: dict[str, Any], key: str) -> str | None:
    value = fields.text(record.get(f"{key}_currency"), f"{key}_currency", max_length=16)
    return value.strip().upper() or None if value else None


def _prices(record: dict[str, Any], name: str) -> list[tuple[str, Decimal, str | None]]:
    """``(key, value, currency)`` of ``target_<name>`` then ``<name>``, those present."""
    found = []
    for key in (f"target_{name}", name):
        value = _decimal(record, key)
        if value is not None:
            found.append((key, value, _currency(record, key)))
    return found


def _list_price(
    record: dict[str, Any], currency: str | None
) -> tuple[Decimal | None, dict[str, Any] | None]:
    """The list price in the sale price's *currency*, and a note when one was given only
    in another currency (an answer asked in EUR may carry the list price in USD alone):
    the product keeps its sale price; the list price is left out, noted in ``extra``."""
    offered = _prices(record, "original_price")
    for _key, value, its_currency in offered:
        if currency is None or its_currency in (None, currency):
            return value, None
    key, value, its_currency = offered[0] if offered else (None, None, None)
    if key is None:
        return None, None
    return None, {
        "key": key,
        "value": str(value),
        "currency": its_currency,
        "reason": f"currency {its_currency} differs from the sale price's {currency}",
    }


def to_product(record: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one product of an answer to product-schema fields;
    :class:`~harvester.apis.fields.FieldError` names the field path that is wrong."""
    record = fields.mapping(record, "product")
    product_id = fields.identifier(record.get("product_id"), "product_id")
    sale = _prices(record, "sale_price")
    price, currency = (sale[0][1], sale[0][2]) if sale else (None, None)
    original, dropped = _list_price(record, currency)
    smalls = record.get("product_small_image_urls")
    if isinstance(smalls, dict):  # XML-shaped JSON: {"string": [...]}
        smalls = smalls.get("string")
    smalls = fields.sequence(smalls, "product_small_image_urls")
    candidates = [("product_main_image_url", record.get("product_main_image_url"))] + [
        (f"product_small_image_urls[{i}]", url) for i, url in enumerate(smalls)
    ]
    images = [url for path, raw in candidates if (url := fields.https_url(raw, path))]
    category_ids = [
        fields.integer(record.get(f"{lvl}_level_category_id"), f"{lvl}_level_category_id")
        for lvl in ("first", "second")
    ]
    category_names = [
        fields.text(record.get(f"{lvl}_level_category_name"), f"{lvl}_level_category_name")
        for lvl in ("first", "second")
    ]
    extra = {
        "sale_price": record.get("sale_price"),
        "sale_price_currency": record.get("sale_price_currency"),
        "app_sale_price": record.get("target_app_sale_price") or record.get("app_sale_price"),
        "app_sale_price_currency": record.get("target_app_sale_price_currency")
        or record.get("app_sale_price_currency"),
        "discount": record.get("discount"),
        "hot_product_commission_rate": record.get("hot_product_commission_rate"),
        "relevant_market_commission_rate": record.get("relevant_market_commission_rate"),
        "platform_product_type": record.get("platform_product_type"),
        "promotion_link": record.get("promotion_link"),
        "video_url": record.get("product_video_url"),
        "promo_code_info": record.get("promo_code_info"),
    }
    if dropped is not None:
        extra["original_price_dropped"] = dropped
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": fields.text(record.get("product_title"), "product_title"),
        "price": price,
        "price_raw": None if price is None else str(price),
        "currency": currency,
        "original_price": original,
        "image_url": images[0] if images else None,
        "images": list(dict.fromkeys(images)),
        "shop_id": fields.optional_id(record.get("shop_id"), "shop_id"),
        "shop_url": fields.https_url(record.get("shop_url"), "shop_url"),
        "category_ids": [cid for cid in category_ids if cid is not None],
        "category_names": [name for name in category_names if name],
        "volume": fields.count(record.get("lastest_volume"), "lastest_volume"),
        "commission_rate": _decimal(record, "commission_rate", percent=True),
        "rating": _decimal(record, "evaluate_rate", percent=True),
        "url": fields.https_url(record.get("product_detail_url"), "product_detail_url"),
        "extra": extra,
    }
