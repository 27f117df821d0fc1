"""The ``-a`` arguments of the ``store`` spider (:mod:`harvester.spiders.store`)."""

from __future__ import annotations

import enum
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from harvester.apis import pandapon
from harvester.spiders._detail import VvtoolOptions
from harvester.spiders.arguments import Blank, Ids, OptionalInt, Price


def _not_negative(value: Decimal | None) -> Decimal | None:
    if value is not None and value < 0:
        raise ValueError("must not be negative")
    return value


def _sort(value: str | None) -> str | None:
    return pandapon.sort_param(value) if value else None


def _partition(value: Any) -> Any:
    """``K/N`` → ``(K, N)``, 1 ≤ K ≤ N."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None:
        raise ValueError("K/N, e.g. 2/4: this job walks the 2nd of 4 disjoint shares")
    share, shares = int(match[1]), int(match[2])
    if not 1 <= share <= shares:
        raise ValueError(f"K/N with 1 <= K <= N, got {share}/{shares}")
    return share, shares


#: ``K/N``: the K-th of N disjoint shares of a store list (one Scrapyd job each).
Partition = Annotated[tuple[int, int] | None, BeforeValidator(_partition)]


class DetailSource(enum.StrEnum):
    """Where ``-a details`` fetches each offer's detail from."""

    VVTOOL = "vvtool"


class StoreArguments(VvtoolOptions):
    required = (
        (
            ("seller_open_id", "seller_open_ids"),
            "store needs a store: -a seller_open_id=<sellerOpenId> "
            "(or -a seller_open_ids=ID1,ID2 or -a seller_open_ids=@file)",
        ),
    )

    seller_open_id: Ids = Field([], title="Store", description="a store's sellerOpenId")
    seller_open_ids: Ids = Field(
        [], title="Stores", description="sellerOpenIds: ID1,ID2 or @file (one per line)"
    )
    keyword: Annotated[str | None, Blank] = Field(
        None,
        title="Keyword",
        description="only offers matching it (a filtered walk delists nothing)",
    )
    category_id: OptionalInt = Field(None, ge=1, title="Category", description="1688 category id")
    price_start: Annotated[Price, AfterValidator(_not_negative)] = Field(
        None, title="Lowest price", description="CNY, inclusive"
    )
    price_end: Annotated[Price, AfterValidator(_not_negative)] = Field(
        None, title="Highest price", description="CNY, inclusive"
    )
    sort: Annotated[str | None, Blank, AfterValidator(_sort)] = Field(
        None,
        title="Order",
        description=f"FIELD:asc|desc, FIELD one of {', '.join(pandapon.SORT_FIELDS)}",
    )
    page_size: OptionalInt = Field(
        None,
        ge=1,
        title="Page size",
        description="offers per page asked for; default HARVESTER_PANDAPON_PAGE_SIZE",
    )
    partition: Partition = Field(
        None,
        title="Partition",
        description="K/N: only the K-th of N disjoint shares of the stores (N jobs: one run)",
    )
    details: Annotated[DetailSource | None, Blank] = Field(
        None, title="Details", description="also fetch each offer's detail (needs -a shop_id)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> StoreArguments:
        start, end = self.price_start, self.price_end
        if start is not None and end is not None and start > end:
            raise ValueError("-a price_start must not exceed -a price_end")
        stores = len(self.all_sellers())
        if self.partition is not None and self.partition[1] > stores:
            raise ValueError(
                f"-a partition={self.partition[0]}/{self.partition[1]} needs at least "
                f"{self.partition[1]} stores, got {stores}: use fewer partitions"
            )
        if self.details is DetailSource.VVTOOL:
            if not self.shop_id or len(self.sellers()) != 1:
                raise ValueError(
                    "-a details=vvtool needs one store and its Wangwang login id: "
                    "-a shop_id=<login id>"
                )
        elif self.vvtool_options_given():
            raise ValueError(
                "-a shop_id, web_site, scene and max_calls are options of -a details=vvtool"
            )
        return self

    def all_sellers(self) -> list[str]:
        return list(dict.fromkeys(self.seller_open_id + self.seller_open_ids))

    def sellers(self) -> list[str]:
        """The stores this job walks: all, or its partition's share (every N-th store from
        the K-th: each store in exactly one of the N jobs, walked whole, so that each job
        decides its stores' delisting as one run would)."""
        sellers = self.all_sellers()
        if self.partition is None:
            return sellers
        share, shares = self.partition
        return sellers[share - 1 :: shares]
