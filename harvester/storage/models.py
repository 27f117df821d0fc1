"""SQLAlchemy 2 typed models of the harvester database.

- ``products``: current state per (``source``, ``product_id``), enriched by every API
  that saw the product (a column another API left empty keeps its value).
- ``product_payloads``: the latest raw record per product *and API*.
- ``product_history``: append-only; a row when a record shows the tracked fields
  (price, stock, sales, title, availability) of a product changed (and its first sighting).

  Both keep ``source`` and ``product_id``, and are keyed by ``product_key``, the
  product's ``products.id``: ids grow as products are first seen, so a new product's
  payload and history rows go at the end of their indexes instead of at a random
  place of a text-keyed one (what made SQLite slow down as the catalog grew;
  ``bench/README.md``, Throughput).
- ``skus``, ``price_tiers``: per product, replaced by each detail fetch.
- ``shops``: shops / sellers seen.
- ``related_edges``: (source product, related product, rank) with the run that saw it.
- ``crawl_runs``: spider, arguments, start/end, status, heartbeat, exit code and final stats.
- ``work_units``: the work ledger of a job (units done), for resuming a crashed run.
- ``dead_letters``: responses and records that could not be parsed or validated.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(18, 4)
Percent = Numeric(9, 4)
Timestamp = DateTime(timezone=True)
# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite so autoincrement works.
Id = BigInteger().with_variant(Integer(), "sqlite")
# SQL NULL, not the JSON text 'null', for a missing value.
Json = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: Json, list[Any]: Json}


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    __table_args__ = (
        Index("ix_crawl_runs_spider", "spider", "started_at"),
        Index("ix_crawl_runs_job", "job_key", "started_at"),
        Index("ix_crawl_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    spider: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: ``running``, then ``complete``, ``incomplete``, ``failed``, ``interrupted`` or
    #: ``crashed`` (see :mod:`harvester.outcome`).
    status: Mapped[str] = mapped_column(String(64), default="running")
    #: True when the run walked complete store listings (delistings may be inferred).
    complete: Mapped[bool] = mapped_column(default=False)
    stats: Mapped[dict[str, Any] | None] = mapped_column(Json)
    #: Hash of spider and arguments: the same command has the same job key.
    job_key: Mapped[str | None] = mapped_column(String(64))
    #: The first run of the crashed or interrupted job this run resumes (its work ledger).
    resumes: Mapped[int | None] = mapped_column(Id)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    #: Updated every ``HARVESTER_HEARTBEAT_INTERVAL`` seconds while the run is alive.
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    #: One line: why the run ended so, and what to do.
    reason: Mapped[str | None] = mapped_column(Text)


class WorkUnit(Base):
    """A unit of a crawl's work (a store page, an id batch, a detail) whose items are
    committed: a run resuming the job skips it. ``outcome`` keeps what follow-up
    requests need (page 1's ``totalPage``, a band split, the offers of a page)."""

    __tablename__ = "work_units"
    __table_args__ = (UniqueConstraint("job_id", "unit"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: The job's first run (every run resuming it writes to the same ledger).
    job_id: Mapped[int] = mapped_column(Id)
    unit: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(Id)
    outcome: Mapped[Any | None] = mapped_column(Json)
    done_at: Mapped[datetime] = mapped_column(Timestamp)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("source", "product_id"),
        # a store's catalog: 1688 and Taobao by seller, AliExpress by shop
        Index("ix_products_seller", "source", "seller_id"),
        Index("ix_products_shop", "source", "shop_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Money)
    price_raw: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    original_price: Mapped[Decimal | None] = mapped_column(Money)
    coupon_price: Mapped[Decimal | None] = mapped_column(Money)
    image_url: Mapped[str | None] = mapped_column(Text)
    images: Mapped[list[Any] | None] = mapped_column(Json)
    seller_id: Mapped[str | None] = mapped_column(String(64))
    shop_id: Mapped[str | None] = mapped_column(String(64))
    shop_name: Mapped[str | None] = mapped_column(Text)
    shop_url: Mapped[str | None] = mapped_column(Text)
    category_ids: Mapped[list[Any] | None] = mapped_column(Json)
    category_names: Mapped[list[Any] | None] = mapped_column(Json)
    month_sold: Mapped[int | None] = mapped_column(Integer)
    volume: Mapped[int | None] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(Integer)
    is_jxhy: Mapped[bool | None]
    is_one_psale: Mapped[bool | None]
    repurchase_rate: Mapped[Decimal | None] = mapped_column(Percent)
    commission_rate: Mapped[Decimal | None] = mapped_column(Percent)
    rating: Mapped[Decimal | None] = mapped_column(Percent)
    available: Mapped[bool | None]
    url: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any] | None] = mapped_column(Json)
    #: API of the latest record merged into this row.
    last_api: Mapped[str | None] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    fetched_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    last_run_id: Mapped[int | None] = mapped_column(Id)
    #: Set when a complete store dump no longer lists the product.
    delisted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    delisted_run_id: Mapped[int | None] = mapped_column(Id)


class ProductPayload(Base):
    __tablename__ = "product_payloads"
    __table_args__ = (UniqueConstraint("product_key", "api"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: ``products.id`` of the product.
    product_key: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(64))
    api: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    fetched_at: Mapped[datetime] = mapped_column(Timestamp)
    run_id: Mapped[int | None] = mapped_column(Id)


class ProductHistory(Base):
    __tablename__ = "product_history"
    __table_args__ = (
        # price change over time per product
        Index("ix_product_history_product_key", "product_key", "observed_at"),
        # what changed in a period, across products
        Index("ix_product_history_observed_at", "observed_at"),
        Index("ix_product_history_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: ``products.id`` of the product.
    product_key: Mapped[int] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(64))
    api: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(Id)
    observed_at: Mapped[datetime] = mapped_column(Timestamp)
    title: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    stock: Mapped[int | None] = mapped_column(Integer)
    month_sold: Mapped[int | None] = mapped_column(Integer)
    volume: Mapped[int | None] = mapped_column(Integer)
    available: Mapped[bool | None]
    content_hash: Mapped[str] = mapped_column(String(64))


class Sku(Base):
    __tablename__ = "skus"
    __table_args__ = (UniqueConstraint("source", "product_id", "sku_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[str] = mapped_column(String(64))
    spec_id: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(Json)
    price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    stock: Mapped[int | None] = mapped_column(Integer)
    image_url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class PriceTier(Base):
    __tablename__ = "price_tiers"
    __table_args__ = (UniqueConstraint("source", "product_id", "start_quantity"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(64))
    start_quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("source", "shop_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    shop_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    seller_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class RelatedEdge(Base):
    __tablename__ = "related_edges"
    __table_args__ = (UniqueConstraint("source", "source_product_id", "related_product_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    source_product_id: Mapped[str] = mapped_column(String(64))
    related_product_id: Mapped[str] = mapped_column(String(64), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    run_id: Mapped[int | None] = mapped_column(Id)


class DeadLetter(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(Id, ForeignKey("crawl_runs.id"), index=True)
    api: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    request_body: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(Timestamp)
