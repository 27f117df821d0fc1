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
from typing import TYPE_CHECKING, Any

from harvester.apis import aliyun
from harvester.items import ApiRecord
from harvester.middlewares.signing import provider_config
from harvester.spiders.base import ApiSpider, ArgumentError, id_list

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

BATCH_SIZE_SETTING = "HARVESTER_ALIYUN_BATCH_SIZE"
_FIELDS = re.compile(r"^[A-Za-z]+(,[A-Za-z]+)*$")


def read_batch_size(settings: Any) -> int:
    """``HARVESTER_ALIYUN_BATCH_SIZE``, checked against the API's maximum of 40."""
    value = settings.get(BATCH_SIZE_SETTING)
    try:
        size = int(value) if value not in (None, "") else aliyun.MAX_BATCH
    except (TypeError, ValueError):
        raise ArgumentError(f"-s {BATCH_SIZE_SETTING}={value!r}: must be an integer") from None
    if not 1 <= size <= aliyun.MAX_BATCH:
        raise ArgumentError(
            f"-s {BATCH_SIZE_SETTING}={size}: must be 1 to {aliyun.MAX_BATCH} (the API's maximum)"
        )
    return size


class TaobaoItemsSpider(ApiSpider):
    name = "taobao_items"
    apis = (aliyun.NAME,)
    #: Ids per call, from ``HARVESTER_ALIYUN_BATCH_SIZE`` (set in ``from_crawler``).
    batch_size: int = aliyun.MAX_BATCH

    def parse_arguments(
        self, item_ids: str | None = None, fields: str | None = None, **_: Any
    ) -> None:
        self.item_ids = id_list(item_ids, "item_ids", numeric=True)
        if not self.item_ids:
            raise ArgumentError(
                "taobao_items needs ids: -a item_ids=594766914700,... (or -a item_ids=@file)"
            )
        fields = (fields or "").replace(" ", "")
        if fields and not _FIELDS.match(fields):
            raise ArgumentError(
                f"-a fields={fields!r}: a comma-separated list of field names, e.g. Url,UserType"
            )
        self.fields = fields or None

    @classmethod
    def check_arguments(cls, settings: Any, **kwargs: Any) -> None:
        super().check_arguments(settings, **kwargs)
        read_batch_size(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.batch_size = read_batch_size(crawler.settings)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        pid = provider_config(self.settings, aliyun)["ALIYUN_PID"]
        batches = aliyun.batches(self.item_ids, self.batch_size)
        logger.info(
            "%d Taobao ids in %d calls of at most %d",
            len(self.item_ids),
            len(batches),
            self.batch_size,
        )
        for batch in batches:
            parts = aliyun.batch_request_parts(batch, pid, self.fields)
            yield self.api_form_request(
                aliyun.NAME, parts.path, parts.form, self.parse_batch, cb_kwargs={"batch": batch}
            )

    def parse_batch(self, response: Response, batch: list[str]) -> Iterator[ApiRecord]:
        asked, found, url = set(batch), set(), aliyun.unsigned_url(response.url)
        for auction in aliyun.parse_auctions(response.meta["harvester_data"]):
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
