"""``taobao_items``: Taobao affiliate items by id through Alibaba Cloud ``GetProductInfoByIds``.

    scrapy crawl taobao_items -a item_ids=594766914700,1111 [-a fields=Url,UserType]
    scrapy crawl taobao_items -a item_ids=@data/taobao_ids.txt   (one id per line, # comments)

Ids go in batches of ``HARVESTER_ALIYUN_BATCH_SIZE`` (at most 40, the API's
maximum), one signed ``POST`` per batch. Every item returned becomes a product
keyed on ``InputItemId`` (``ItemId`` may be a dynamic id). Ids the answer does not
contain are counted in ``harvester/taobao_items/missing`` and kept as ``missing``
dead letters (one row per id, ``body`` = the id). Needs ``ALIYUN_ACCESS_KEY_ID``,
``ALIYUN_ACCESS_KEY_SECRET`` and ``ALIYUN_PID``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from harvester.answers import api_data
from harvester.apis import aliyun
from harvester.config import provider_config
from harvester.ledger import batch_unit
from harvester.spiders.arguments import Blank, NumericIds, SpiderArguments, batch_size
from harvester.spiders.base import BAD_DATA, ApiSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response

logger = logging.getLogger(__name__)

BATCH_SIZE_SETTING = "HARVESTER_ALIYUN_BATCH_SIZE"
_FIELDS = re.compile(r"^[A-Za-z]+(,[A-Za-z]+)*$")


def _fields(value: str | None) -> str | None:
    value = (value or "").replace(" ", "")
    if value and not _FIELDS.match(value):
        raise ValueError("a comma-separated list of field names, e.g. Url,UserType")
    return value or None


def read_batch_size(settings: Any) -> int:
    """``HARVESTER_ALIYUN_BATCH_SIZE``, checked against the API's maximum of 40."""
    return batch_size(
        settings, BATCH_SIZE_SETTING, default=aliyun.MAX_BATCH, maximum=aliyun.MAX_BATCH
    )


class TaobaoItemsArguments(SpiderArguments):
    required = (
        (
            ("item_ids",),
            "taobao_items needs ids: -a item_ids=594766914700,... (or -a item_ids=@file)",
        ),
    )

    item_ids: NumericIds = Field(
        [], title="Items", description="Taobao item ids: 594766914700,... or @file"
    )
    fields: Annotated[str | None, Blank, AfterValidator(_fields)] = Field(
        None, title="Fields", description="extra result fields to ask for, e.g. Url,UserType"
    )


class TaobaoItemsSpider(ApiSpider):
    name = "taobao_items"
    apis = (aliyun.NAME,)
    Arguments = TaobaoItemsArguments
    shareable = True
    #: Ids per call, from ``HARVESTER_ALIYUN_BATCH_SIZE`` (set in ``read_settings``).
    batch_size: int = aliyun.MAX_BATCH

    def configure(self, arguments: TaobaoItemsArguments) -> None:
        self.item_ids = arguments.item_ids
        self.fields = arguments.fields

    def read_settings(self, settings: Any) -> None:
        self.batch_size = read_batch_size(settings)

    async def start(self) -> AsyncIterator[Any]:
        pid = provider_config(self.settings, aliyun)["ALIYUN_PID"]
        batches = {
            batch_unit(batch): batch for batch in aliyun.batches(self.item_ids, self.batch_size)
        }
        logger.info(
            "%d Taobao ids in %d calls of at most %d",
            len(self.item_ids),
            len(batches),
            self.batch_size,
        )
        # a resumed run skips the batches its work ledger has done; a worker of a shared
        # crawl (HARVESTER_REDIS_URL) the batches other workers claim
        self.plan(sum(1 for key in batches if key not in self.ledger.done), aliyun.NAME)
        async for key in self.shared_units(list(batches)):
            if self.ledger.is_done(key):
                self.unit_skipped(key)
                continue
            parts = aliyun.batch_request_parts(batches[key], pid, self.fields)
            request = self.api_form_request(
                aliyun.NAME,
                parts.path,
                parts.form,
                self.parse_batch,
                cb_kwargs={"batch": batches[key]},
            )
            yield self.tag(request, key)

    def parse_batch(self, response: Response, batch: list[str]) -> Iterator[Any]:
        asked, found, url = set(batch), set(), aliyun.unsigned_url(response.url)
        self.unit_done(aliyun.NAME)
        try:
            auctions = aliyun.parse_auctions(api_data(response))
        except BAD_DATA as error:
            self.reject(response, error)
            return
        for auction in auctions:
            item_id = auction.input_item_id
            if item_id in found:
                continue
            if item_id not in asked:
                # Not an id of this batch (or no usable id): normalization dead-letters it
                # if it cannot be keyed; counted so that a changed id scheme shows.
                self.crawler.stats.inc_value("harvester/taobao_items/unexpected")
            else:
                found.add(item_id)
            yield self.record(aliyun.NAME, auction.payload(), {}, response, url)
        missing = [item_id for item_id in batch if item_id not in found]
        if missing:
            self.record_missing(aliyun.NAME, missing, url)
        yield from self.ledger.mark(batch_unit(batch))
