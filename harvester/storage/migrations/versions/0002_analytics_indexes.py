"""analytics indexes: history by time, products by shop

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:14:32.783187
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # if_not_exists: a database made by create_all before migrations existed may have them
    # what changed in a period, across products
    op.create_index(
        "ix_product_history_observed_at", "product_history", ["observed_at"], if_not_exists=True
    )
    # a store's catalog where the API knows a shop and no seller (AliExpress)
    op.create_index("ix_products_shop", "products", ["source", "shop_id"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_products_shop", table_name="products")
    op.drop_index("ix_product_history_observed_at", table_name="product_history")
