"""One auction (``{"rankScore", "result"}``) → product-schema fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harvester.apis import fields
from harvester.apis.aliyun.answers import ci, input_item_id
from harvester.apis.aliyun.spec import CURRENCY, SOURCE


class _Folded:
    """Case-insensitive reads of one JSON object, as :func:`ci` reads them (the exact key,
    else the first key equal ignoring case), with the keys folded once rather than
    scanned on every read (an auction is read some 40 times)."""

    __slots__ = ("folded", "mapping")

    def __init__(self, mapping: Any) -> None:
        self.mapping: dict[str, Any] = mapping if isinstance(mapping, dict) else {}
        self.folded: dict[str, Any] = {}
        for name, value in self.mapping.items():
            if isinstance(name, str):  # JSON keys are; ci() would fail on another
                self.folded.setdefault(name.lower(), value)

    def __call__(self, key: str) -> Any:
        if key in self.mapping:
            return self.mapping[key]
        return self.folded.get(key.lower())


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, {}, "")}


def _number(get: _Folded, key: str, path: str, kind: type[Decimal] | type[int]) -> Any:
    """``get(key)`` as *kind*; :class:`~harvester.apis.fields.FieldError` names
    ``path.key`` if it is not one (or beyond the schema's range)."""
    value = get(key)
    if kind is int:
        return fields.count(value, f"{path}.{key}")
    return fields.decimal(value, f"{path}.{key}")


def _url(get: _Folded, key: str, path: str = "result") -> str | None:
    return fields.https_url(get(key), f"{path}.{key}")


def _text(get: _Folded, key: str, path: str = "result") -> str | None:
    return fields.text(get(key), f"{path}.{key}")


def item_page_url(item_id: str, tmall: bool) -> str:
    host = "detail.tmall.com" if tmall else "item.taobao.com"
    return f"https://{host}/item.htm?id={item_id}"


def _coupon(result: _Folded) -> dict[str, Any]:
    def num(key: str, kind: type[Decimal] | type[int]) -> Any:
        return _number(result, key, "result", kind)

    return _compact(
        {
            "info": result("CouponInfo"),
            "amount": num("CouponAmount", Decimal),  # 元
            "start_fee": num("CouponStartFee", Decimal),  # threshold: usable from this amount, 元
            "start_time": result("CouponStartTime"),
            "end_time": result("CouponEndTime"),
            "total_count": num("CouponTotalCount", int),
            "remain_count": num("CouponRemainCount", int),
            "share_url": _url(result, "CouponShareUrl"),
            "deeplink_share_url": result("DeeplinkCouponShareUrl"),
        }
    )


def _max_commission(result: _Folded) -> dict[str, Any]:
    best = _Folded(fields.mapping(result("MaxCommission"), "result.MaxCommission"))
    return _compact(
        {
            # "20.4 表示 20.4%": already in percent, unlike CommissionRate.
            "rate": fields.percentage(
                best("MaxCommissionRate"), "result.MaxCommission.MaxCommissionRate"
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
    get = _Folded(result)
    user_type = get("UserType")
    user_kind = str(user_type) if isinstance(user_type, (str, int)) else None
    tmall = user_kind == "1"
    seller_id = fields.optional_id(get("SellerId"), "result.SellerId")
    commission = _number(get, "CommissionRate", "result", Decimal)
    price_raw = get("ZkFinalPrice")
    dynamic_id = get("ItemId")
    url = _url(get, "Url")
    extra = {
        "dynamic_item_id": None
        if dynamic_id in (None, "", product_id)
        else fields.text(dynamic_id, "result.ItemId"),
        "user_type": {"1": "tmall", "0": "taobao"}.get(user_kind or "", user_type),
        "nick": get("Nick"),
        "provcity": get("Provcity"),
        "short_title": get("ShortTitle"),
        "sub_title": get("SubTitle"),
        "rank_score": ci(record, "RankScore"),
        "commission_rate_raw": get("CommissionRate"),
        "coupon": _coupon(get),
        "max_commission": _max_commission(get),
        "deeplink_url": get("DeeplinkUrl"),
        "item_page_url": item_page_url(product_id, tmall),
        "category_name": get("CategoryName"),
        "level_one_category_name": get("LevelOneCategoryName"),
    }
    categories = (_text(get, "LevelOneCategoryName"), _text(get, "CategoryName"))
    return {
        "source": SOURCE,
        "product_id": product_id,
        "title": _text(get, "Title"),
        "price": _number(get, "ZkFinalPrice", "result", Decimal),
        "price_raw": fields.raw_text(price_raw, "result.ZkFinalPrice"),
        "currency": CURRENCY,
        "original_price": _number(get, "ReservePrice", "result", Decimal),
        "coupon_price": _number(get, "PriceAfterCoupon", "result", Decimal),
        "image_url": _url(get, "PicUrl"),
        "seller_id": seller_id,
        "shop_id": seller_id,  # the API has no separate shop id
        "shop_name": _text(get, "ShopTitle") or _text(get, "Nick"),
        # Top level first. The docs' table calls CategoryName "一级类目" and
        # LevelOneCategoryName "叶子类目", but the field names and the docs' own
        # example ("3C数码配件" > "USB风扇") say the opposite; we follow the example.
        "category_names": [n for n in categories if n],
        "volume": _number(get, "Volume", "result", int),
        # "1550 表示 15.5%": the API's unit is 1/100 of a percent; stored in percent.
        "commission_rate": None if commission is None else _percent(commission / 100),
        # The affiliate (promotion) link when it is a web link; else the item page.
        "url": url if url and url.startswith("https://") else item_page_url(product_id, tmall),
        "extra": _compact(extra),
    }


def _percent(value: Decimal) -> Decimal:
    return fields.percentage(value, "result.CommissionRate") or Decimal(0)
