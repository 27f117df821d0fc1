"""The ``-a`` arguments of the ``store`` spider (:mod:`harvester.spiders.store`)."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from harvester.apis import pandapon
from harvester.spiders._detail import VvtoolOptions
from harvester.spiders.arguments import Blank, Ids, OptionalInt, Price


def _not_negative(value: Decimal | None) -> Decimal | None:
    if value is not None and value < 0:
        raise ValueError("must not be negative")
    return value


def _sort(value: str | None) -> str | None:
    return pandapon.sort_param(value) if value else None


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
    details: Annotated[DetailSource | None, Blank] = Field(
        None, title="Details", description="also fetch each offer's detail (needs -a shop_id)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> StoreArguments:
        start, end = self.price_start, self.price_end
        if start is not None and end is not None and start > end:
            raise ValueError("-a price_start must not exceed -a price_end")
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

    def sellers(self) -> list[str]:
        return list(dict.fromkeys(self.seller_open_id + self.seller_open_ids))
