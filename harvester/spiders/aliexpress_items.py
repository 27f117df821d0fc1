"""``aliexpress_items``: AliExpress affiliate product detail by id.

    scrapy crawl aliexpress_items -a product_ids=33006951782,... -a target_currency=USD \\
        -a target_language=EN -a country=US [-a tracking_id=... -a fields=...]

Ids go in batches (``HARVESTER_ALIEXPRESS_BATCH_SIZE``, checked before the run
starts), one signed request per batch; ids the answer does not contain are recorded
as ``missing`` dead letters. The tracking id comes from ``-a tracking_id`` or
``ALIEXPRESS_TRACKING_ID``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from harvester.answers import api_data
from harvester.apis import aliexpress
from harvester.apis.base import setting_or_env
from harvester.ledger import batch_unit
from harvester.spiders.arguments import (
    ArgumentError,
    Blank,
    NumericIds,
    SpiderArguments,
    Upper,
    batch_size,
    choices,
)
from harvester.spiders.base import BAD_DATA, ApiSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response

Currency = choices("Currency", aliexpress.CURRENCIES)
Language = choices("Language", aliexpress.LANGUAGES)


def _country(value: str | None) -> str | None:
    if value is not None and not (len(value) == 2 and value.isalpha()):
        raise ValueError("must be a two-letter country code, e.g. US")
    return value.upper() if value else None


class AliexpressItemsArguments(SpiderArguments):
    required = (
        (
            ("product_ids",),
            "aliexpress_items needs ids: -a product_ids=33006951782[,...] (or @file)",
        ),
    )

    product_ids: NumericIds = Field(
        [], title="Products", description="AliExpress product ids: 33006951782,... or @file"
    )
    target_currency: Annotated[Currency, Upper] = Field(  # type: ignore[valid-type]
        Currency("USD"), title="Currency", description="currency of the prices asked for"
    )
    target_language: Annotated[Language, Upper] = Field(  # type: ignore[valid-type]
        Language("EN"), title="Language", description="language of the texts asked for"
    )
    country: Annotated[str | None, Blank, AfterValidator(_country)] = Field(
        None, title="Country", description="ship-to country, two letters (e.g. US)"
    )
    tracking_id: Annotated[str | None, Blank] = Field(
        None,
        title="Tracking id",
        description="affiliate tracking id; default ALIEXPRESS_TRACKING_ID",
    )
    fields: Annotated[str | None, Blank] = Field(
        None, title="Fields", description="result fields to ask for (the API's names)"
    )


class AliexpressItemsSpider(ApiSpider):
    name = "aliexpress_items"
    apis = (aliexpress.NAME,)
    Arguments = AliexpressItemsArguments
    shareable = True

    def configure(self, arguments: AliexpressItemsArguments) -> None:
        self.product_ids = arguments.product_ids
        self.target_currency = arguments.target_currency.value
        self.target_language = arguments.target_language.value
        self.country = arguments.country
        self.tracking_id_arg, self.fields = arguments.tracking_id, arguments.fields

    def read_settings(self, settings: Any) -> None:
        self.batch_size = batch_size(
            settings,
            "HARVESTER_ALIEXPRESS_BATCH_SIZE",
            default=aliexpress.DEFAULT_BATCH,
            maximum=aliexpress.MAX_BATCH,
        )

    def check_credentials(self, settings: Any) -> None:
        super().check_credentials(settings)
        if not (self.tracking_id_arg or setting_or_env(settings, "ALIEXPRESS_TRACKING_ID")):
            raise ArgumentError(
                "aliexpress_items needs a tracking id: -a tracking_id=... or ALIEXPRESS_TRACKING_ID"
            )

    async def start(self) -> AsyncIterator[Any]:
        tracking_id = (
            self.tracking_id_arg or setting_or_env(self.settings, "ALIEXPRESS_TRACKING_ID") or ""
        )
        size = self.batch_size
        batches = {
            batch_unit(batch): batch
            for batch in (
                self.product_ids[i : i + size] for i in range(0, len(self.product_ids), size)
            )
        }
        # a resumed run skips the batches its work ledger has done; a worker of a shared
        # crawl (HARVESTER_REDIS_URL) the batches other workers claim
        self.plan(sum(1 for key in batches if key not in self.ledger.done), aliexpress.NAME)
        async for key in self.shared_units(list(batches)):
            if self.ledger.is_done(key):
                self.unit_skipped(key)
                continue
            form = aliexpress.batch_form(
                batches[key],
                target_currency=self.target_currency,
                target_language=self.target_language,
                country=self.country,
                tracking_id=tracking_id,
                fields=self.fields,
            )
            request = self.api_form_request(
                aliexpress.NAME,
                aliexpress.PATH,
                form,
                self.parse_batch,
                cb_kwargs={"batch": batches[key]},
            )
            yield self.tag(request, key)

    def parse_batch(self, response: Response, batch: list[str]) -> Iterator[Any]:
        self.unit_done(aliexpress.NAME)
        try:
            records = aliexpress.products(api_data(response))
        except BAD_DATA as error:
            self.reject(response, error)
            return
        found = set()
        for record in records:
            product_id = record.get("product_id") if isinstance(record, dict) else None
            if product_id in (None, "") or isinstance(product_id, (dict, list, bool)):
                self.reject_record(
                    aliexpress.NAME, record, "product without a product_id", response
                )
                continue
            found.add(str(product_id))
            yield self.record(aliexpress.NAME, record, {}, response)
        missing = [pid for pid in batch if pid not in found]
        if missing:
            self.record_missing(aliexpress.NAME, missing, response.url)
        yield from self.ledger.mark(batch_unit(batch))
