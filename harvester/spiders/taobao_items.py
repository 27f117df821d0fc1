"""``taobao_items``: Taobao affiliate items by id through Alibaba Cloud ``GetProductInfoByIds``.

    scrapy crawl taobao_items -a item_ids=594766914700,1111 [-a fields=Url,UserType]
    scrapy crawl taobao_items -a item_ids=@data/taobao_ids.txt

Ids go in batches of 40 (the API's maximum), one signed request per batch.
Ids the answer does not contain are recorded as ``missing`` dead letters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.apis import aliyun
from harvester.items import ApiRecord
from harvester.middlewares.signing import provider_config
from harvester.spiders.base import ApiSpider, ArgumentError, id_list, int_arg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response


class TaobaoItemsSpider(ApiSpider):
    name = "taobao_items"
    apis = (aliyun.NAME,)

    def parse_arguments(self, item_ids: str | None = None, fields: str | None = None, **_: Any) -> None:
        self.item_ids = id_list(item_ids, "item_ids", numeric=True)
        if not self.item_ids:
            raise ArgumentError("taobao_items needs ids: -a item_ids=594766914700[,...] (or @file)")
        self.fields = fields

    async def start(self) -> AsyncIterator[Any]:
        size = int_arg(self.settings.get("HARVESTER_ALIYUN_BATCH_SIZE"), "HARVESTER_ALIYUN_BATCH_SIZE",
                       default=aliyun.MAX_BATCH, minimum=1)
        if size > aliyun.MAX_BATCH:
            raise ArgumentError(f"HARVESTER_ALIYUN_BATCH_SIZE={size}: the API takes at most {aliyun.MAX_BATCH} ids")
        pid = provider_config(self.settings, aliyun)["ALIYUN_PID"]
        for batch in aliyun.batches(self.item_ids, size):
            yield self.api_form_request(
                aliyun.NAME, aliyun.PATH, aliyun.batch_form(batch, pid, self.fields), self.parse_batch,
                cb_kwargs={"batch": batch},
            )

    def parse_batch(self, response: Response, batch: list[str]) -> Iterator[ApiRecord]:
        found: set[str] = set()
        for record in aliyun.parse_auctions(response.meta["harvester_data"]):
            item_id = aliyun.input_id(record)
            if item_id is not None:
                found.add(item_id)
            yield ApiRecord(aliyun.NAME, record, {}, response.url)
        missing = [item_id for item_id in batch if item_id not in found]
        if missing:
            self.record_missing(aliyun.NAME, missing, response.url)
