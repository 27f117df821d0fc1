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
  catalog at run time (``POST /_sandbox/catalog``), to exercise incremental crawls;
  :meth:`Catalog.poison` serves an offer malformed in listings.

The other marketplaces' items are generated next to their provider, from the same
:func:`seeded_rng`: Taobao items in :mod:`.apis.aliyun`, AliExpress products in
:mod:`.apis.aliexpress`, vv-tool details in :mod:`.apis.vvtool`.
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
WORDS = [
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


def seeded_rng(*keys: Any) -> random.Random:
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
        rng = seeded_rng(seed, "hubs")
        self.hubs = rng.sample(self._offer_ids, min(HUB_COUNT, len(self._offer_ids)))
        self._related_cache: dict[int, list[int]] = {}
        #: Query results by (store, filters), dropped whenever the catalog changes: paging
        #: through a big store must not filter all its offers again for every page.
        self._query_cache: dict[tuple[Any, ...], list[Offer]] = {}
        #: Offers served malformed in listings (``POST /_sandbox/catalog {"poison": ...}``).
        self.poisons: dict[int, Any] = {}

    # -- generation ---------------------------------------------------------

    def _make_store(self, index: int, size: int) -> Store:
        rng = seeded_rng(self.seed, "store", index)
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
        words = rng.sample(WORDS, rng.randint(3, 7))
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
        rng = seeded_rng(self.seed, "related", offer_id)
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
