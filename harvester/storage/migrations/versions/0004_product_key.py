"""payloads and history keyed by the product's integer id (product_key)

``product_payloads`` and ``product_history`` get ``product_key``, the product's
``products.id``, filled from ``(source, product_id)``; their indexes move from the
text key to it: ``uq_product_payloads_product_key_api`` replaces
``uq_product_payloads_source_product_id_api``, ``ix_product_history_product_key``
replaces ``ix_product_history_product``. Ids grow as products are first seen, so a
new product's rows go at the end of these indexes, not at a random place.
``source`` and ``product_id`` stay in both tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 04:00:00
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

logger = logging.getLogger(__name__)

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("product_payloads", "product_history")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "product_key" in {column["name"] for column in inspector.get_columns("product_history")}:
        return  # a database made by create_all before migrations existed has it all
    for table in TABLES:
        op.add_column(table, sa.Column("product_key", Id, nullable=True))
        op.execute(
            f"UPDATE {table} SET product_key = (SELECT p.id FROM products p "  # noqa: S608
            f"WHERE p.source = {table}.source AND p.product_id = {table}.product_id)"
        )
        # rows of a product no longer in products (none are written so): nothing refers to them
        orphans = op.get_bind().execute(sa.text(f"DELETE FROM {table} WHERE product_key IS NULL"))  # noqa: S608
        if orphans.rowcount:
            logger.warning("Deleted %d %s rows without a product", orphans.rowcount, table)
    with op.batch_alter_table("product_payloads") as batch:
        batch.alter_column("product_key", existing_type=Id, nullable=False)
        batch.drop_constraint("uq_product_payloads_source_product_id_api", type_="unique")
        batch.create_unique_constraint(
            "uq_product_payloads_product_key_api", ["product_key", "api"]
        )
    with op.batch_alter_table("product_history") as batch:
        batch.alter_column("product_key", existing_type=Id, nullable=False)
        batch.drop_index("ix_product_history_product")
        batch.create_index("ix_product_history_product_key", ["product_key", "observed_at"])


def downgrade() -> None:
    with op.batch_alter_table("product_history") as batch:
        batch.drop_index("ix_product_history_product_key")
        batch.create_index("ix_product_history_product", ["source", "product_id", "observed_at"])
        batch.drop_column("product_key")
    with op.batch_alter_table("product_payloads") as batch:
        batch.drop_constraint("uq_product_payloads_product_key_api", type_="unique")
        batch.create_unique_constraint(
            "uq_product_payloads_source_product_id_api", ["source", "product_id", "api"]
        )
        batch.drop_column("product_key")
