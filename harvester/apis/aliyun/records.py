"""One auction (``{"rankScore", "result"}``) → product-schema fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.aliyun.answers import ci, input_item_id
from harvester.apis.aliyun.spec import CURRENCY, SOURCE


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, {}, "")}


def _number(mapping: dict[str, Any], key: str, path: str, kind: type[Decimal] | type[int]) -> Any:
    """``mapping[key]`` (any case) as *kind*; :class:`~harvester.apis.fields.FieldError`
    names ``path.key`` if it is not one (or beyond the schema's range)."""
    value = ci(mapping, key)
    if kind is int:
        return fields.count(value, f"{path}.{key}")
    return fields.decimal(value, f"{path}.{key}")


def _url(mapping: dict[str, Any], key: str, path: str = "result") -> str | None:
    return fields.https_url(ci(mapping, key), f"{path}.{key}")


def _text(mapping: dict[str, Any], key: str, path: str = "result") -> str | None:
    return fields.text(ci(mapping, key), f"{path}.{key}")


def item_page_url(item_id: str, tmall: bool) -> str:
    host = "detail.tmall.com" if tmall else "item.taobao.com"
    return f"https://{host}/item.htm?id={item_id}"


def _coupon(result: dict[str, Any]) -> dict[str, Any]:
    def num(key: str, kind: type[Decimal] | type[int]) -> Any:
        return _number(result, key, "result", kind)

    return _compact(
        {
            "info": ci(result, "CouponInfo"),
            "amount": num("CouponAmount", Decimal),  # 元
            "start_fee": num("CouponStartFee", Decimal),  # threshold: usable from this amount, 元
            "start_time": ci(result, "CouponStartTime"),
            "end_time": ci(result, "CouponEndTime"),
            "total_count": num("CouponTotalCount", int),
            "remain_count": num("CouponRemainCount", int),
            "share_url": _url(result, "CouponShareUrl"),
            "deeplink_share_url": ci(result, "DeeplinkCouponShareUrl"),
        }
    )


def _max_commission(result: dict[str, Any]) -> dict[str, Any]:
    best = fields.mapping(ci(result, "MaxCommission"), "result.MaxCommission")
    return _compact(
        {
            # "20.4 表示 20.4%": already in percent, unlike CommissionRate.
            "rate": fields.percentage(
                ci(best, "MaxCommissionRate"), "result.MaxCommission.MaxCommissionRate"
            ),
            "click_url": _url(best, "MaxCommissionClickUrl", "result.MaxCommission"),
            "coupon_share_url": _url(best, "MaxCommissionCouponShareUrl", "result.MaxCommission"),
        }
    )


def to_product(record: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Map one auction ``{"rankScore", "result"}`` (a bare ``Result`` is accepted too)
    to product-schema fields; :class:`~harvester.apis.fields.FieldError` names the
    field path that is wrong."""
    record = fields.mapping(record, "auction")
    result = ci(record, "Result")
    if not isinstance(result, dict):
        result = record
    product_id = input_item_id(result)
    if not product_id:
        raise fields.FieldError("result.InputItemId", "missing")
    user_type = ci(result, "UserType")
    user_kind = str(user_type) if isinstance(user_type, (str, int)) else None
    tmall = user_kind == "1"
    seller_id = fields.optional_id(ci(result, "SellerId"), "result.SellerId")
    commission = _number(result, "CommissionRate", "result", Decimal)
    price_raw = ci(result, "ZkFinalPrice")
    dynamic_id = ci(result, "ItemId")
    url = _url(result, "Url")
    extra = {
        "dynamic_item_id": None
        if dynamic_id in (None, "", product_id)
        else fields.text(dynamic_id, "result.ItemId"),
        "user_type": {"1": "tmall", "0": "taobao"}.get(user_kind or "", user_type),
        "nick": ci(result, "Nick"),
        "provcity": ci(result, "Provcity"),
        "short_title": ci(result, "ShortTitle"),
        "sub_title": ci(result, "SubTitle"),
        "rank_score": ci(record, "RankScore"),
        "commission_rate_raw": ci(result, "CommissionRate"),
        "coupon": _coupon(result),
        "max_commission": _max_commission(result),
        "deeplink_url": ci(result, "DeeplinkUrl"),
        "item_page_url": item_page_url(product_id, tmall),
        "category_name": ci(result, "CategoryName"),
        "level_one_category_name": ci(result, "LevelOneCategoryName"),
    }
    categories = (_text(result, "LevelOneCategoryName"), _text(result, "CategoryName"))
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": _text(result, "Title"),
        "price": _number(result, "ZkFinalPrice", "result", Decimal),
        "price_raw": fields.raw_text(price_raw, "result.ZkFinalPrice"),
        "currency": CURRENCY,
        "original_price": _number(result, "ReservePrice", "result", Decimal),
        "coupon_price": _number(result, "PriceAfterCoupon", "result", Decimal),
        "image_url": _url(result, "PicUrl"),
        "seller_id": seller_id,
        "shop_id": seller_id,  # the API has no separate shop id
        "shop_name": _text(result, "ShopTitle") or _text(result, "Nick"),
        # Top level first. The docs' table calls CategoryName "一级类目" and
        # LevelOneCategoryName "叶子类目", but the field names and the docs' own
        # example ("3C数码配件" > "USB风扇") say the opposite; we follow the example.
        "category_names": [n for n in categories if n],
        "volume": _number(result, "Volume", "result", int),
        # "1550 表示 15.5%": the API's unit is 1/100 of a percent; stored in percent.
        "commission_rate": None if commission is None else _percent(commission / 100),
        # The affiliate (promotion) link when it is a web link; else the item page.
        "url": url if url and url.startswith("https://") else item_page_url(product_id, tmall),
        "extra": _compact(extra),
    }


def _percent(value: Decimal) -> Decimal:
    return fields.percentage(value, "result.CommissionRate") or Decimal(0)
