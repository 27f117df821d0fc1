from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from scrapy.settings import Settings
from sqlalchemy import update
from sqlalchemy.orm import Session

from harvester.commands.export import Command as ExportCommand
from harvester.items import ApiRecord
from harvester.pipelines.normalize import build_product
from harvester.storage import export as export_module
from harvester.storage import models, repository
from harvester.storage.db import ensure_schema, make_engine
from harvester.storage.export import export
from tests.conftest import load_fixture


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    ensure_schema(engine)
    offers = load_fixture("pandapon_selleroffer_response.json")["data"]["data"]
    with Session(engine) as session, session.begin():
        repository.write_batch(
            session,
            repository.Batch(
                [build_product(ApiRecord("pandapon", o, {"seller_id": "S"})) for o in offers]
            ),
            None,
        )
    yield engine
    engine.dispose()


def test_export_table_and_query(engine, tmp_path):
    cheap = "select product_id, price from products where price < 5.6 order by product_id"
    for fmt in ("csv", "jsonl", "parquet"):
        assert export(engine, tmp_path / f"products.{fmt}", table="products") == 10
        assert export(engine, tmp_path / f"cheap.{fmt}", query=cheap) == 7
    rows = list(csv.DictReader((tmp_path / "products.csv").open()))
    assert rows[0]["currency"] == "CNY" and len(rows) == 10
    assert len(list(csv.DictReader((tmp_path / "cheap.csv").open()))) == 7
    rows = [json.loads(line) for line in (tmp_path / "products.jsonl").open()]
    assert len(rows) == 10 and {r["product_id"] for r in rows} >= {"683381637585"}
    assert pq.read_table(tmp_path / "products.parquet").num_rows == 10
    table = pq.read_table(tmp_path / "cheap.parquet")
    assert table.num_rows == 7
    assert all(Decimal(str(v)) < Decimal("5.6") for v in table.column("price").to_pylist())


def test_parquet_schema_holds_across_chunks(engine, tmp_path, monkeypatch):
    """A column empty in the first chunk, JSON values of varying shape, money as decimals."""
    monkeypatch.setattr(export_module, "CHUNK", 3)
    with Session(engine) as session, session.begin():
        session.execute(
            update(models.Product)
            .where(models.Product.product_id == "683381637585")
            .values(delisted_at=datetime(2026, 1, 2, tzinfo=UTC), extra={"any": ["shape", 1]})
        )
    out = tmp_path / "products.parquet"
    assert export(engine, out, table="products") == 10
    table = pq.read_table(out)
    assert str(table.schema.field("price").type) == "decimal128(18, 4)"
    assert str(table.schema.field("delisted_at").type) == "timestamp[us, tz=UTC]"
    assert table.column("delisted_at").null_count == 9
    extras = [json.loads(v) for v in table.column("extra").to_pylist() if v is not None]
    assert {"any": ["shape", 1]} in extras
    query = "select product_id, price, delisted_at from products order by product_id"
    assert export(engine, tmp_path / "q.parquet", query=query) == 10
    assert pq.read_table(tmp_path / "q.parquet").column("delisted_at").null_count == 9


def test_csv_writes_json_columns_as_json(engine, tmp_path):
    out = tmp_path / "out.data"
    assert export(engine, out, table="product_payloads", fmt="csv") == 10
    row = next(csv.DictReader(out.open()))
    assert json.loads(row["payload"])["offerId"]


def test_bad_requests_fail_clearly(engine, tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        export(engine, tmp_path / "x.xlsx", table="products")
    with pytest.raises(ValueError, match="not a table name"):
        export(engine, tmp_path / "x.csv", table="products; drop table products")


def test_scrapy_export_command(tmp_path, capsys):
    db = tmp_path / "cli.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    ensure_schema(engine)
    engine.dispose()

    def scrapy_export(*argv):
        command = ExportCommand()
        command.settings = Settings({"HARVESTER_DATABASE_URL": f"sqlite:///{db}"})
        parser = argparse.ArgumentParser()
        command.add_options(parser)
        options, args = parser.parse_known_args(argv)
        command.run(args, options)

    scrapy_export("crawl_runs", "-o", str(tmp_path / "runs.out"), "--format", "csv")
    assert "exported 0 rows" in capsys.readouterr().out
    assert (tmp_path / "runs.out").read_text().startswith("id,spider,arguments,started_at")
    with pytest.raises(SystemExit) as exited:
        scrapy_export("--query", "select nope", "-o", str(tmp_path / "x.csv"))
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert (
        error.strip()
        == "scrapy export: error: the database refused the export: no such column: nope"
    )
    scrapy_export("crawl_runs", "-o", "-", "--format", "jsonl")
    captured = capsys.readouterr()
    assert captured.out == "" and "exported 0 rows to standard output" in captured.err


def test_query_keeps_the_model_types(engine, tmp_path, capsys):
    """A query's columns named like schema columns keep the table export's types."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(models.Product)
            .where(models.Product.product_id == "683381637585")
            .values(delisted_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        )
    query = (
        "select product_id, price, delisted_at, first_seen_at, is_jxhy, count(*) over () as n "
        "from products order by product_id"
    )
    table = export(engine, tmp_path / "t.parquet", table="products")
    assert export(engine, tmp_path / "q.parquet", query=query) == table == 10
    whole, part = pq.read_table(tmp_path / "t.parquet"), pq.read_table(tmp_path / "q.parquet")
    for name in ("price", "delisted_at", "first_seen_at", "is_jxhy"):
        assert part.schema.field(name).type == whole.schema.field(name).type, name
    assert str(part.schema.field("price").type) == "decimal128(18, 4)"
    assert str(part.schema.field("delisted_at").type) == "timestamp[us, tz=UTC]"
    assert str(part.schema.field("is_jxhy").type) == "bool"
    assert str(part.schema.field("n").type) == "int64"
    export(engine, tmp_path / "q.csv", query=query)
    rows = list(csv.DictReader((tmp_path / "q.csv").open()))
    assert "2026-01-02T03:04:05+00:00" in {row["delisted_at"] for row in rows}
    assert all(row["first_seen_at"].endswith("+00:00") for row in rows)
    assert export(engine, "-", query="select product_id, price from products") == 10
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "product_id,price" and len(lines) == 11
    assert Decimal(lines[1].split(",")[1]) > 0
