"""One vv-tool answer's ``data`` → product-schema fields (SKUs, price tiers, images)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.pandapon import offer_url
from harvester.apis.vvtool.spec import CURRENCY, IMAGE_BASE, SOURCE


def money(value: Any, path: str) -> Decimal | None:
    """Prices arrive as int or float: read their decimal text, never do float arithmetic."""
    return fields.decimal(value, path)


def image(path: Any, where: str = "image") -> str | None:
    """Relative image path → ``https://cbu01.alicdn.com/<path>``; absolute URLs as https."""
    return fields.https_url(path, where, base=IMAGE_BASE)


#: Without milliseconds first: ``%f`` would otherwise take the last digit of the seconds.
TIME_LAYOUTS = ("%Y%m%d%H%M%S%z", "%Y%m%d%H%M%S%f%z")
#: :data:`TIME_LAYOUTS` with two digits a field and milliseconds or none, within the
#: ranges strptime reads two digits in.
_TIME = re.compile(
    r"(\d{4})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])([01]\d|2[0-3])([0-5]\d)([0-5]\d)(\d{3})?"
    r"([+-])([01]\d|2[0-3])([0-5]\d)"
)
TIMES = (
    "create_time",
    "modify_time",
    "last_update_time",
    "approved_time",
    "last_repost_time",
    "expire_time",
)


def parse_time(value: Any) -> datetime | Any:
    """``20181216141253000+0800`` (milliseconds, UTC offset) → an aware datetime.

    A value of another shape is returned unchanged (kept in ``extra``): a date is not
    worth losing the record.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    text = str(value).strip()
    if len(text) > 32:
        return value
    found = _TIME.fullmatch(text)
    if found:  # the documented shape, read without strptime (what strptime reads it as)
        year, month, day, hour, minute, second, milli, sign, tz_hours, tz_minutes = found.groups()
        offset = timedelta(hours=int(tz_hours), minutes=int(tz_minutes))
        try:
            return datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second),
                int(milli or 0) * 1000, timezone(-offset if sign == "-" else offset),
            )  # fmt: skip
        except ValueError:
            pass  # (e.g. 31 February) as strptime says
    for layout in TIME_LAYOUTS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return value


def _sku(sku: Any, path: str) -> dict[str, Any]:
    sku = fields.mapping(sku, path)
    raw_id = sku.get("sku_id")
    key = "sku_id" if not fields.absent(raw_id) else "spec_id"
    sku_id = fields.optional_id(sku.get(key), f"{path}.{key}")
    if sku_id is None:
        raise fields.FieldError(f"{path}.sku_id", "missing (and no spec_id)")
    attributes = [
        fields.mapping(a, f"{path}.attributes[{i}]")
        for i, a in enumerate(fields.sequence(sku.get("attributes"), f"{path}.attributes"))
    ]
    price = money(sku.get("price"), f"{path}.price")
    if price is None:
        price = money(sku.get("consign_price"), f"{path}.consign_price")
    names = {}
    for i, a in enumerate(attributes):
        name = a.get("attribute_name") or a.get("attribute_display_name") or a.get("attribute_id")
        where = f"{path}.attributes[{i}]"
        names[fields.text(name, f"{where}.attribute_name") or ""] = fields.text(
            a.get("attribute_value"), f"{where}.attribute_value"
        )
    image_url = next(
        (
            image(a["sku_image_url"], f"{path}.attributes[{i}].sku_image_url")
            for i, a in enumerate(attributes)
            if a.get("sku_image_url")
        ),
        None,
    )
    return {
        "sku_id": sku_id,
        "spec_id": fields.optional_id(sku.get("spec_id"), f"{path}.spec_id"),
        "attributes": names,
        "price": price,
        "currency": CURRENCY if price is not None else None,
        "stock": fields.count(sku.get("amount_on_sale"), f"{path}.amount_on_sale"),
        "image_url": image_url,
    }


def _times(info: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """The product's dates (from product_info, else from the data level, where the docs
    repeat some), leaving out those absent."""
    times = {name: parse_time(info.get(name) or record.get(name)) for name in TIMES}
    return {name: value for name, value in times.items() if value is not None}


def _tiers(ranges: list[Any]) -> list[dict[str, Any]]:
    """Quantity breaks from the lowest start quantity up (``raw``: the price as received)."""
    tiers = []
    for i, tier in enumerate(ranges):
        path = f"product_info.sale_info.price_ranges[{i}]"
        tier = fields.mapping(tier, path)
        price = money(tier.get("price"), f"{path}.price")
        quantity = fields.integer(
            tier.get("start_quantity"), f"{path}.start_quantity", bounds=(1, fields.INT32[1])
        )
        if price is None or quantity is None:
            raise fields.FieldError(path, "start_quantity and price are required")
        tiers.append({"start_quantity": quantity, "price": price, "raw": tier.get("price")})
    return sorted(tiers, key=lambda t: t["start_quantity"])


def to_product(record: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one answer's ``data`` to product-schema fields.

    ``price`` is the price at the minimum order (the first quantity tier), as a
    1688 listing shows it, else the consign price, else the cheapest SKU;
    every tier is kept in ``price_tiers``. :class:`~harvester.apis.fields.FieldError`
    names the field path of a value that cannot be read.
    """
    record = fields.mapping(record, "data")
    info = fields.mapping(record.get("product_info"), "product_info")
    product_id = fields.identifier(info.get("product_id"), "product_info.product_id", digits=True)
    sale = fields.mapping(info.get("sale_info"), "product_info.sale_info")
    tiers = _tiers(fields.sequence(sale.get("price_ranges"), "product_info.sale_info.price_ranges"))
    skus = [
        _sku(sku, f"product_info.sku_infos[{i}]")
        for i, sku in enumerate(fields.sequence(info.get("sku_infos"), "product_info.sku_infos"))
    ]
    pictures = fields.mapping(info.get("image"), "product_info.image")
    images = [
        url
        for i, p in enumerate(fields.sequence(pictures.get("images"), "product_info.image.images"))
        if (url := image(p, f"product_info.image.images[{i}]"))
    ]
    if tiers:
        price, price_raw = tiers[0]["price"], tiers[0]["raw"]
    else:
        price_raw = sale.get("consign_price")
        price = money(price_raw, "product_info.sale_info.consign_price")
        if price is None and any(s["price"] is not None for s in skus):
            price = min(s["price"] for s in skus if s["price"] is not None)
            price_raw = str(price)
    category_id = fields.integer(info.get("category_id"), "product_info.category_id")
    category_name = fields.text(info.get("category_name"), "product_info.category_name")
    status = info.get("status")
    status = fields.text(status, "product_info.status") if status not in (None, "") else None
    withholding = record.get("withholding_money", info.get("withholding_money"))
    attributes = fields.sequence(info.get("attributes"), "product_info.attributes")
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": fields.text(info.get("subject"), "product_info.subject"),
        "price": price,
        "price_raw": fields.raw_text(price_raw, "price"),
        "currency": CURRENCY if price is not None else None,
        "image_url": images[0] if images else None,
        "images": images,
        "seller_id": fields.optional_id(context.get("seller_id"), "context.seller_id"),
        "shop_id": fields.optional_id(
            context.get("shop_id") or info.get("supplier_login_id"),
            "product_info.supplier_login_id",
        ),
        "category_ids": [category_id] if category_id else [],
        "category_names": [category_name] if category_name else [],
        "stock": fields.count(sale.get("amount_on_sale"), "product_info.sale_info.amount_on_sale"),
        "available": status == "published" if status else None,
        "url": offer_url(product_id),
        "skus": skus,
        "price_tiers": [
            {"start_quantity": t["start_quantity"], "price": t["price"], "currency": CURRENCY}
            for t in tiers
        ],
        "extra": {
            "status": status,
            "product_type": info.get("product_type"),
            "attributes": [
                {
                    "attribute_id": a.get("attribute_id"),
                    "name": a.get("attribute_name"),
                    "value": a.get("value"),
                }
                for a in (
                    fields.mapping(a, f"product_info.attributes[{i}]")
                    for i, a in enumerate(attributes)
                )
            ],
            "min_order_quantity": sale.get("min_order_quantity"),
            "unit": sale.get("unit"),
            "quote_type": sale.get("quote_type"),
            "quality_level": info.get("quality_level"),
            "supplier_login_id": info.get("supplier_login_id"),
            "cargo_number": info.get("product_cargo_number"),
            **_times(info, record),
            "withholding_money": money(withholding, "withholding_money"),
        },
    }
