"""The sandbox's deterministic synthetic catalog.

Everything derives from one integer seed, so two sandboxes with the same seed
serve byte-identical answers:

- **1688 stores** (``Catalog.stores``): by default six stores of 0, 1, 7, 275,
  2 600 and 6 000 offers (the last two exceed the 2 000-offer search window, so a
  full dump must split its queries into price bands). Each store has a
  ``sellerOpenId`` (25 characters, like the docs' ``BBBwAN4GQ60zRPzBkv7BYPJRQ``), a
  Wangwang ``login_id``, and its offers.
- **Offers**: 12-digit ``offerId``, a Chinese ``subject`` and an English
  ``subjectTrans`` built from the same word pairs, a price string with two
  decimals spread log-uniformly over 0.50–999.99 CNY, ``monthSold`` (sometimes
  ``null``), ``repurchaseRate`` as ``"N%"``, three category levels, flags.
- **Related items**: every offer has 0–40 related offers, drawn from its own
  store, from the whole catalog and from a small set of *hubs* that many offers
  point to; the graph therefore has cycles and high in-degree nodes.
- **Versions**: :meth:`Catalog.reprice` and :meth:`Catalog.delist` change the
  catalog at run time (``POST /_sandbox/catalog``), to exercise incremental crawls.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DEFAULT_STORE_SIZES = [0, 1, 7, 275, 2600, 6000]
HUB_COUNT = 12
MAX_RELATED = 40

# (Chinese, English) word pairs that make up titles.
_WORDS = [
    ("复古", "Retro"),
    ("宫廷", "Palace"),
    ("仙女", "Fairy"),
    ("流苏", "Tassel"),
    ("发簪", "Hairpin"),
    ("汉服", "Hanfu"),
    ("头饰", "Headwear"),
    ("儿童", "Children"),
    ("中国风", "Chinese Style"),
    ("珍珠", "Pearl"),
    ("蝴蝶结", "Bow"),
    ("发夹", "Hair Clip"),
    ("手链", "Bracelet"),
    ("新款", "New"),
    ("高级感", "High-end"),
    ("荧光笔", "Highlighter"),
    ("迷你", "Mini"),
    ("学生", "Student"),
    ("彩色", "Color"),
    ("保温杯", "Thermos Cup"),
    ("不锈钢", "Stainless Steel"),
    ("背心", "Vest"),
    ("夏季", "Summer"),
    ("纯棉", "Cotton"),
    ("女装", "Women's Wear"),
    ("男士", "Men's"),
    ("手机壳", "Phone Case"),
    ("透明", "Transparent"),
    ("可爱", "Cute"),
    ("批发", "Wholesale"),
    ("收纳盒", "Storage Box"),
    ("耳环", "Earrings"),
    ("项链", "Necklace"),
    ("帆布包", "Canvas Bag"),
    ("运动", "Sports"),
]
_TOP_CATEGORIES = [
    (67, [81, 82, 83]),
    (54, [127484008, 1038378]),
    (1813, [1031910, 311]),
    (10166, [1042954]),
]


def _rng(*keys: Any) -> random.Random:
    """A random generator seeded by *keys* (stable across runs and Python versions)."""
    digest = hashlib.sha256("/".join(map(str, keys)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass
class Offer:
    offer_id: int
    store_index: int
    subject: str
    subject_trans: str
    price: Decimal
    month_sold: int | None
    repurchase_rate: int
    is_jxhy: bool
    is_one_psale: bool
    categories: tuple[int, int, int]
    image_path: str
    seller_identities: list[str]
    listed: bool = True

    @property
    def image_url(self) -> str:
        return f"https://cbu01.alicdn.com/{self.image_path}"

    def price_str(self) -> str:
        return f"{self.price:.2f}"


@dataclass
class Store:
    index: int
    seller_open_id: str
    login_id: str
    offers: list[Offer] = field(default_factory=list)

    def listed_offers(self) -> list[Offer]:
        return [offer for offer in self.offers if offer.listed]


class Catalog:
    def __init__(self, seed: int = 1688, store_sizes: list[int] | None = None) -> None:
        self.seed = seed
        self.lock = threading.Lock()
        sizes = DEFAULT_STORE_SIZES if store_sizes is None else store_sizes
        self.stores: list[Store] = []
        self.offers: dict[int, Offer] = {}
        for index, size in enumerate(sizes):
            self.stores.append(self._make_store(index, size))
        self.by_seller = {store.seller_open_id: store for store in self.stores}
        self._offer_ids = sorted(self.offers)
        rng = _rng(seed, "hubs")
        self.hubs = rng.sample(self._offer_ids, min(HUB_COUNT, len(self._offer_ids)))
        self._related_cache: dict[int, list[int]] = {}
        #: Query results by (store, filters), dropped whenever the catalog changes: paging
        #: through a big store must not filter all its offers again for every page.
        self._query_cache: dict[tuple[Any, ...], list[Offer]] = {}
        #: Offers served malformed in listings (``POST /_sandbox/catalog {"poison": ...}``).
        self.poisons: dict[int, Any] = {}

    # -- generation ---------------------------------------------------------

    def _make_store(self, index: int, size: int) -> Store:
        rng = _rng(self.seed, "store", index)
        alphabet = string.ascii_letters + string.digits
        seller_open_id = "BBB" + "".join(rng.choice(alphabet) for _ in range(22))
        store = Store(index, seller_open_id, f"sandbox-shop-{index}")
        for _ in range(size):
            offer = self._make_offer(rng, index)
            store.offers.append(offer)
            self.offers[offer.offer_id] = offer
        return store

    def _make_offer(self, rng: random.Random, store_index: int) -> Offer:
        while True:
            offer_id = rng.randrange(540_000_000_000, 760_000_000_000)
            if offer_id not in self.offers:
                break
        words = rng.sample(_WORDS, rng.randint(3, 7))
        top, seconds = rng.choice(_TOP_CATEGORIES)
        # log-uniform prices: many cheap offers, a long tail of expensive ones
        price = Decimal(str(round(10 ** rng.uniform(-0.3, 3.0), 2))).quantize(Decimal("0.01"))
        price = min(max(price, Decimal("0.50")), Decimal("999.99"))
        month_sold = None if rng.random() < 0.1 else int(rng.expovariate(1 / 40))
        image = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(20))
        return Offer(
            offer_id=offer_id,
            store_index=store_index,
            subject="".join(cn for cn, _ in words),
            subject_trans=" ".join(en for _, en in words),
            price=price,
            month_sold=month_sold,
            repurchase_rate=rng.choice([0, 0, 0, 5, 12, 33, 50, 100]),
            is_jxhy=rng.random() < 0.2,
            is_one_psale=rng.random() < 0.3,
            categories=(top, rng.choice(seconds), rng.randrange(1_000_000, 1_100_000)),
            image_path=f"img/ibank/O1CN01{image}_!!2211823736656-0-cib.jpg",
            seller_identities=["powerful_merchants"] if rng.random() < 0.25 else [],
        )

    # -- queries ------------------------------------------------------------

    def store_query(
        self,
        store: Store,
        *,
        keyword: str | None = None,
        category_id: int | None = None,
        price_start: Decimal | None = None,
        price_end: Decimal | None = None,
        sort: tuple[str, str] | None = None,
    ) -> list[Offer]:
        """Listed offers of *store* matching the filters, in the API's order."""
        key = (store.index, keyword, category_id, price_start, price_end, sort)
        with self.lock:
            cached = self._query_cache.get(key)
            if cached is not None:
                return cached
            offers = store.listed_offers()
        if keyword:
            offers = [
                o
                for o in offers
                if keyword in o.subject or keyword.lower() in o.subject_trans.lower()
            ]
        if category_id is not None:
            offers = [o for o in offers if category_id in o.categories]
        if price_start is not None:
            offers = [o for o in offers if o.price >= price_start]
        if price_end is not None:
            offers = [o for o in offers if o.price <= price_end]
        if sort:
            name, direction = sort
            sort_key = {
                "price": lambda o: o.price,
                "rePurchaseRate": lambda o: o.repurchase_rate,
                "monthSold": lambda o: o.month_sold or 0,
            }[name]
            offers = sorted(
                offers, key=lambda o: (sort_key(o), o.offer_id), reverse=direction == "desc"
            )
        with self.lock:
            self._query_cache[key] = offers
        return offers

    def related(self, offer_id: int) -> list[int]:
        """Related offer ids of *offer_id*, best first (deterministic; cycles and hubs)."""
        cached = self._related_cache.get(offer_id)
        if cached is not None:
            return cached
        offer = self.offers.get(offer_id)
        if offer is None or not self._offer_ids:
            return []
        rng = _rng(self.seed, "related", offer_id)
        count = (
            rng.choice([0, 3, 8, 10, 15, 20, 25, 40]) if offer_id not in self.hubs else MAX_RELATED
        )
        picked: list[int] = []
        store_ids = [o.offer_id for o in self.stores[offer.store_index].offers]
        while len(picked) < min(count, len(self._offer_ids) - 1):
            roll = rng.random()
            if roll < 0.3:
                candidate = rng.choice(self.hubs)
            elif roll < 0.7 and len(store_ids) > 1:
                candidate = rng.choice(store_ids)
            else:
                candidate = rng.choice(self._offer_ids)
            if candidate != offer_id and candidate not in picked:
                picked.append(candidate)
        self._related_cache[offer_id] = picked
        return picked

    # -- changes --------------------------------------------------------------

    def reprice(self, offer_id: int, price: Decimal) -> None:
        with self.lock:
            self.offers[offer_id].price = price
            self._query_cache.clear()

    def delist(self, offer_id: int) -> None:
        with self.lock:
            self.offers[offer_id].listed = False
            self._query_cache.clear()

    def poison(self, offer_id: int, value: Any) -> None:
        """Serve *offer_id* in store listings as *value* (an object patches the offer's
        JSON; anything else replaces it): a malformed record among good ones."""
        with self.lock:
            self.offers[offer_id]  # KeyError: unknown offer
            self.poisons[offer_id] = value

    def listing_json(self, offer_id: int, body: dict[str, Any]) -> Any:
        """*body*, the JSON of *offer_id* in a listing, as poisoned by :meth:`poison`."""
        if offer_id not in self.poisons:
            return body
        value = self.poisons[offer_id]
        return {**body, **value} if isinstance(value, dict) else value

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "sellerOpenId": store.seller_open_id,
                "loginId": store.login_id,
                "totalRecords": len(store.listed_offers()),
            }
            for store in self.stores
        ]


# --------------------------------------------------------------------------- other marketplaces

TAOBAO_ITEMS = 500
_TAOBAO_CATEGORIES = [
    ("USB风扇", "3C数码配件"),
    ("手机壳", "3C数码配件"),
    ("发饰", "饰品/流行首饰/时尚饰品新"),
    ("保温杯", "厨房/烹饪用具"),
]
ALIEXPRESS_PRODUCTS = 500


def taobao_item_ids(seed: int) -> list[str]:
    """Ids of the Taobao items the sandbox knows (any other id is unknown)."""
    rng = _rng(seed, "taobao")
    return sorted(
        {str(rng.randrange(520_000_000_000, 800_000_000_000)) for _ in range(TAOBAO_ITEMS)}
    )


def taobao_item(seed: int, item_id: str) -> dict[str, Any]:
    """One Taobao affiliate item in ``GetProductInfoByIds``'s camelCase result shape."""
    rng = _rng(seed, "taobao", item_id)
    words = rng.sample(_WORDS, rng.randint(3, 6))
    reserve = Decimal(str(round(10 ** rng.uniform(0.5, 3.2), 1)))
    final = (reserve * Decimal(str(rng.choice([1, 0.9, 0.8, 0.5])))).quantize(Decimal("0.1"))
    coupon = rng.choice([0, 0, 2, 5, 10])
    seller = str(rng.randrange(10_000_000, 3_000_000_000_000))
    tmall = rng.random() < 0.4
    shop = f"{words[0][0]}{'旗舰店' if tmall else '小店'}"
    dynamic = rng.random() < 0.5
    result: dict[str, Any] = {
        "itemId": ("Oqz93k" + "".join(rng.choice(string.ascii_letters) for _ in range(30)))
        if dynamic
        else item_id,
        "inputItemId": item_id,
        "title": "".join(cn for cn, _ in words),
        "shortTitle": "".join(cn for cn, _ in words[:2]),
        "subTitle": "".join(cn for cn, _ in words[1:3]),
        "picUrl": (
            f"//img.alicdn.com/i{rng.randint(1, 4)}/{item_id}/O1CN01{rng.randrange(10**9)}.jpg"
        ),
        "reservePrice": str(reserve),
        "zkFinalPrice": str(final),
        "userType": 1 if tmall else 0,
        "provcity": rng.choice(["广东 深圳", "浙江 杭州", "浙江 义乌", "江苏 苏州"]),
        "nick": shop,
        "sellerId": seller,
        "shopTitle": shop,
        # (leaf, top level) pairs, as in the docs' example ("USB风扇" under "3C数码配件").
        **dict(
            zip(
                ("categoryName", "levelOneCategoryName"),
                rng.choice(_TAOBAO_CATEGORIES),
                strict=True,
            )
        ),
        "volume": int(rng.expovariate(1 / 500)),
        "commissionRate": str(rng.choice([90, 150, 180, 300, 1550])),
        "url": f"//s.click.taobao.com/t?e={item_id}",
        "maxCommission": {"maxCommissionRate": f"{rng.choice([0.9, 1.5, 20.4]):.2f}"},
    }
    if coupon:
        result.update(
            couponAmount=coupon,
            couponInfo=f"满{coupon * 5}.0元减{coupon}.0元",
            couponStartFee=f"{coupon * 5}.000000",
            couponStartTime="2026-11-01",
            couponEndTime="2026-12-31",
            couponTotalCount="100000",
            couponRemainCount=rng.randrange(100000),
            couponShareUrl=f"//uland.taobao.com/coupon/edetail?e={item_id}",
            priceAfterCoupon=str(max(final - coupon, Decimal("0.1"))),
        )
    else:
        result["priceAfterCoupon"] = str(final)
    return result


#: Fixed conversion rates of the sandbox (USD → target currency).
USD_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CAD": Decimal("1.36"),
    "AUD": Decimal("1.52"),
    "JPY": Decimal("151"),
    "KRW": Decimal("1370"),
    "BRL": Decimal("5.1"),
    "RUB": Decimal("92"),
    "MXN": Decimal("17"),
    "INR": Decimal("83"),
    "TRY": Decimal("32"),
    "UAH": Decimal("39"),
    "IDR": Decimal("15800"),
    "SEK": Decimal("10.6"),
}


def aliexpress_product_ids(seed: int) -> list[str]:
    """Ids of the AliExpress products the sandbox knows."""
    rng = _rng(seed, "aliexpress")
    return sorted(
        {
            str(rng.randrange(1_005_000_000_000_000, 1_005_009_999_999_999))
            for _ in range(ALIEXPRESS_PRODUCTS)
        }
    )


def aliexpress_product(seed: int, product_id: str, currency: str = "USD") -> dict[str, Any]:
    """One product in ``productdetail.get``'s documented fields (prices as strings)."""
    rng = _rng(seed, "aliexpress", product_id)
    words = rng.sample(_WORDS, rng.randint(3, 6))
    original = Decimal(str(round(10 ** rng.uniform(0, 2.5), 2))).quantize(Decimal("0.01"))
    discount = rng.choice([0, 10, 25, 50])
    sale = (original * (100 - discount) / 100).quantize(Decimal("0.01"))
    rate = USD_RATES.get(currency, Decimal("1"))
    image = f"https://ae01.alicdn.com/kf/S{rng.getrandbits(64):016x}.jpg"
    shop = rng.randrange(100_000, 9_999_999)
    return {
        "app_sale_price": str(sale),
        "app_sale_price_currency": "USD",
        "commission_rate": f"{rng.choice([3, 3.5, 5, 7, 9])}%",
        "discount": f"{discount}%",
        "evaluate_rate": f"{rng.uniform(80, 100):.2f}%",
        "first_level_category_id": 200000345,
        "first_level_category_name": "Women's Clothing",
        "lastest_volume": int(rng.expovariate(1 / 300)),
        "hot_product_commission_rate": "0%",
        "original_price": str(original),
        "original_price_currency": "USD",
        "platform_product_type": rng.choice(["ALL", "PLAZA", "TMALL"]),
        "product_detail_url": f"https://www.aliexpress.com/item/{product_id}.html",
        "product_id": int(product_id),
        "product_main_image_url": image,
        "product_small_image_urls": {"string": [image]},
        "product_title": " ".join(en for _, en in words),
        "promotion_link": f"https://s.click.aliexpress.com/e/_{product_id[-8:]}",
        "sale_price": str(sale),
        "sale_price_currency": "USD",
        "second_level_category_id": 200000347,
        "second_level_category_name": "Dresses",
        "shop_id": shop,
        "shop_url": f"https://www.aliexpress.com/store/{shop}",
        "target_app_sale_price": str((sale * rate).quantize(Decimal("0.01"))),
        "target_app_sale_price_currency": currency,
        "target_original_price": str((original * rate).quantize(Decimal("0.01"))),
        "target_original_price_currency": currency,
        "target_sale_price": str((sale * rate).quantize(Decimal("0.01"))),
        "target_sale_price_currency": currency,
        "relevant_market_commission_rate": "10%",
    }
