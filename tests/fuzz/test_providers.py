"""Fuzz (issue 16): mutated versions of each provider's docs example answer, driven
through the real code — envelope classification (``check_response`` on the body's
bytes), page parsing, normalization (``to_product`` + the normalize pipeline) and a
storage write (``repository.write_batch``) into SQLite, and into PostgreSQL with
fewer cases (``HARVESTER_FUZZ_PG_EXAMPLES``, default 300) when its server binaries are
installed (required in CI, as for ``tests/storage``). Every case must end as stored
products and/or dead letters, or a classified :class:`ApiError`; anything else raised
fails the test.

Deterministic (``derandomize``); ``HARVESTER_FUZZ_EXAMPLES`` (default 2000) sets the
cases per fixture, e.g. ``HARVESTER_FUZZ_EXAMPLES=10000 pytest tests/fuzz -q``.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from harvester import signals
from harvester.apis import aliexpress, aliyun, get_provider, pandapon
from harvester.apis.base import ApiError
from harvester.items import ApiRecord, Product
from harvester.pipelines.normalize import NormalizePipeline
from harvester.storage.db import ensure_schema, make_engine
from harvester.storage.repository import Batch, write_batch
from tests.conftest import load_fixture
from tests.fuzz.mutations import mutated_bodies

EXAMPLES = int(os.environ.get("HARVESTER_FUZZ_EXAMPLES", "2000"))
#: Cases per fixture written into PostgreSQL (when its server binaries are installed;
#: required in CI, as ``tests/storage`` does).
PG_EXAMPLES = int(os.environ.get("HARVESTER_FUZZ_PG_EXAMPLES", "300"))
#: Products written together.
FLUSH_EVERY = 200


def _vvtool_page(data: Any) -> list[Any]:
    return [data]


def _aliyun_page(data: Any) -> list[Any]:
    return [auction.payload() for auction in aliyun.parse_auctions(data)]


def _store_page(data: Any) -> list[Any]:
    return pandapon.parse_store_page(data).offers


#: fixture name → (api, fixture file, page parser, record context)
CASES: dict[str, tuple[str, str, Callable[[Any], list[Any]], dict[str, Any]]] = {
    "pandapon_store": (
        "pandapon", "pandapon_selleroffer_response.json", _store_page, {"seller_id": "S"}
    ),
    "pandapon_related": (
        "pandapon", "pandapon_related_response.json", pandapon.parse_related_page, {}
    ),
    "aliyun": ("aliyun", "aliyun_example_response.json", _aliyun_page, {}),
    "vvtool": ("vvtool", "vvtool_example_response.json", _vvtool_page, {"shop_id": "shop"}),
    "aliexpress": ("aliexpress", "aliexpress_example_response.json", aliexpress.products, {}),
}  # fmt: skip


class Drive:
    """The normalize pipeline (with its dead letters collected) and a SQLite database."""

    def __init__(self, url: str, examples: int, label: str) -> None:
        self.examples, self.label = examples, label
        crawler = get_crawler(settings_dict={"HARVESTER_NORMALIZE_ENABLED": True})
        self.pipeline = NormalizePipeline.from_crawler(crawler)
        self.letters: list[Any] = []
        crawler.signals.connect(
            lambda dead_letter: self.letters.append(dead_letter),
            signal=signals.dead_letter,
            weak=False,
        )
        self.engine = make_engine(url)
        ensure_schema(self.engine)
        #: Products not yet written: written together (a write per case would take
        #: most of the suite's time); a refused batch is retried product by product.
        self.pending: list[Product] = []

    def case(self, name: str, body: bytes) -> str:
        """Run one answer through every layer; return its outcome's name."""
        api, _, page, context = CASES[name]
        try:
            data = get_provider(api).check_response(200, {}, body)
            entries = page(data)
        except ApiError as error:
            assert isinstance(error.message, str) and isinstance(error.code, str)
            assert error.retry_after is None or math.isfinite(error.retry_after)
            str(error)
            return f"ApiError/{error.error_class.value}"
        dead = 0
        products: list[Product] = []
        for entry in entries:
            if not isinstance(entry, dict):
                dead += 1  # the spiders' rule: a record dead letter
                continue
            try:
                products.append(self.pipeline.process_item(ApiRecord(api, entry, dict(context))))
            except DropItem:
                dead += 1
        assert len(self.letters) == dead - sum(not isinstance(e, dict) for e in entries)
        self.letters.clear()
        self.pending.extend(products)
        if len(self.pending) >= FLUSH_EVERY:
            self.flush()
        if products and dead:
            return "products+dead_letters"
        return "products" if products else ("dead_letters" if dead else "empty")

    def flush(self) -> None:
        """Write the pending products; a product the database refuses fails the test."""
        pending, self.pending = self.pending, []
        try:
            self._write(pending)
        except Exception:
            for product in pending:
                try:
                    self._write([product])
                except Exception as error:
                    raise AssertionError(f"storage refused {product!r}: {error}") from error
            raise

    def _write(self, products: list[Product]) -> None:
        with Session(self.engine) as session, session.begin():
            write_batch(session, Batch(products=products), None)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def drive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Drive]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"
        runner = Drive(f"sqlite:///{path}", EXAMPLES, "")
        yield runner
        runner.flush()
        runner.engine.dispose()
        return
    server = request.getfixturevalue("postgres_server")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    runner = Drive(server.rsplit("/", 1)[0] + f"/{name}", PG_EXAMPLES, " (postgresql)")
    yield runner
    runner.flush()
    runner.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_mutated_answer_ends_as_products_dead_letters_or_an_api_error(
    name: str, drive: Drive, outcomes: dict[str, Any]
) -> None:
    document = load_fixture(CASES[name][1])

    @settings(
        max_examples=drive.examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=mutated_bodies(document))
    def run(body: bytes) -> None:
        outcomes[name + drive.label][drive.case(name, body)] += 1

    run()
    drive.flush()
