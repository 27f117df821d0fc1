"""No poisoned batches (issue 16): a record the database refuses is dead-lettered with
the database's error and the rest of its batch lands, on SQLite and PostgreSQL alike;
any text spools and replays."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harvester.items import ApiRecord
from harvester.pipelines.normalize import build_product
from harvester.storage import models, repository, spool
from harvester.storage.db import ensure_schema, make_engine
from harvester.storage.writer import BatchWriter
from tests.conftest import load_fixture

POISONS = {
    "id of 65 characters": {"product_id": "9" * 65},
    "price 1e30": {"price": Decimal("1e30")},
    "price NaN": {"price": Decimal("NaN")},
    "NUL byte in the title": {"title": "bad\x00title"},
    "lone surrogate in the title": {"title": "emoji cut \ud83d"},
    "integer beyond int64": {"stock": 2**70},
    "NaN in the raw payload": {"raw": {"price": float("nan")}},
}


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def products(count):
    offer = load_fixture("pandapon_selleroffer_response.json")["data"]["data"][0]
    base = build_product(ApiRecord("pandapon", offer, {"seller_id": "S"}))
    return [replace(base, product_id=str(10**11 + i)) for i in range(count)]


def count(engine, model):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("poison", POISONS)
def test_one_poisoned_record_among_500(engine, tmp_path, poison):
    batch = products(500)
    batch[137] = replace(batch[137], **POISONS[poison])
    writer = BatchWriter(engine, retry_times=1, backoff=0.01, spool_dir=tmp_path)
    result = writer.write(repository.Batch(batch), None)
    assert (result.spooled, result.refused, result.attempts) == (None, 1, 1)
    assert count(engine, models.Product) == 499
    with Session(engine) as session:
        letter = session.scalars(select(models.DeadLetter)).one()
    assert letter.api == "pandapon" and "database refused the Product" in letter.reason
    stored = json.loads(letter.body)  # the record itself, escaped: valid JSON, any text kept
    assert stored["product_id"] == batch[137].product_id[:65]
    if "title" in POISONS[poison]:
        assert stored["title"] == POISONS[poison]["title"]


def test_a_spooled_lone_surrogate_replays(engine, database_url, tmp_path):
    batch = products(3)
    batch[0] = replace(batch[0], title="emoji cut \ud83d", raw={"t": "\udcff", "n": 1e400})
    path = spool.write(tmp_path, repository.Batch(batch), None, database_url)
    assert spool.read(path)[0].products == batch  # lossless
    done = spool.replay(engine, tmp_path, database_url)
    assert (done.files, done.items, done.refused, done.failed) == (1, 3, 1, [])
    assert count(engine, models.Product) == 2 and count(engine, models.DeadLetter) == 1
