"""``aliexpress_items``: AliExpress affiliate product detail by id.

    scrapy crawl aliexpress_items -a product_ids=33006951782,... -a target_currency=USD \\
        -a target_language=EN -a country=US [-a tracking_id=... -a fields=...]

Ids go in batches (``HARVESTER_ALIEXPRESS_BATCH_SIZE``), one signed request per
batch; ids the answer does not contain are recorded as ``missing`` dead letters.
The tracking id comes from ``-a tracking_id`` or ``ALIEXPRESS_TRACKING_ID``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harvester.apis import aliexpress
from harvester.apis.base import setting_or_env
from harvester.items import ApiRecord
from harvester.spiders.base import ApiSpider, ArgumentError, id_list, int_arg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response


class AliexpressItemsSpider(ApiSpider):
    name = "aliexpress_items"
    apis = (aliexpress.NAME,)

    def parse_arguments(
        self,
        product_ids: str | None = None,
        target_currency: str = "USD",
        target_language: str = "EN",
        country: str | None = None,
        tracking_id: str | None = None,
        fields: str | None = None,
        **_: Any,
    ) -> None:
        self.product_ids = id_list(product_ids, "product_ids", numeric=True)
        if not self.product_ids:
            raise ArgumentError(
                "aliexpress_items needs ids: -a product_ids=33006951782[,...] (or @file)"
            )
        self.target_currency, self.target_language = (
            target_currency.upper(),
            target_language.upper(),
        )
        if self.target_currency not in aliexpress.CURRENCIES:
            raise ArgumentError(
                f"-a target_currency must be one of {', '.join(aliexpress.CURRENCIES)}"
            )
        if self.target_language not in aliexpress.LANGUAGES:
            raise ArgumentError(
                f"-a target_language must be one of {', '.join(aliexpress.LANGUAGES)}"
            )
        if country is not None and not (len(country) == 2 and country.isalpha()):
            raise ArgumentError("-a country must be a two-letter country code, e.g. US")
        self.country = country.upper() if country else None
        self.tracking_id_arg, self.fields = tracking_id, fields

    def check_credentials(self, settings: Any) -> None:
        super().check_credentials(settings)
        if not (self.tracking_id_arg or setting_or_env(settings, "ALIEXPRESS_TRACKING_ID")):
            raise ArgumentError(
                "aliexpress_items needs a tracking id: -a tracking_id=... or ALIEXPRESS_TRACKING_ID"
            )

    async def start(self) -> AsyncIterator[Any]:
        size = int_arg(
            self.settings.get("HARVESTER_ALIEXPRESS_BATCH_SIZE"),
            "HARVESTER_ALIEXPRESS_BATCH_SIZE",
            default=aliexpress.DEFAULT_BATCH,
            minimum=1,
        )
        if size > aliexpress.MAX_BATCH:
            raise ArgumentError(
                f"HARVESTER_ALIEXPRESS_BATCH_SIZE={size}: at most {aliexpress.MAX_BATCH}"
            )
        tracking_id = (
            self.tracking_id_arg or setting_or_env(self.settings, "ALIEXPRESS_TRACKING_ID") or ""
        )
        for start in range(0, len(self.product_ids), size):
            batch = self.product_ids[start : start + size]
            form = aliexpress.batch_form(
                batch,
                target_currency=self.target_currency,
                target_language=self.target_language,
                country=self.country,
                tracking_id=tracking_id,
                fields=self.fields,
            )
            yield self.api_form_request(
                aliexpress.NAME, aliexpress.PATH, form, self.parse_batch, cb_kwargs={"batch": batch}
            )

    def parse_batch(self, response: Response, batch: list[str]) -> Iterator[ApiRecord]:
        found = set()
        for record in aliexpress.products(response.meta["harvester_data"]):
            found.add(str(record.get("product_id")))
            yield self.record(aliexpress.NAME, record, {}, response)
        missing = [pid for pid in batch if pid not in found]
        if missing:
            self.record_missing(aliexpress.NAME, missing, response.url)
