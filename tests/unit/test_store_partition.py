"""``store -a partition=K/N``: N jobs walk disjoint shares that together are every store."""

from __future__ import annotations

import pytest

from harvester.spiders._store_arguments import StoreArguments
from harvester.spiders.arguments import ArgumentError

STORES = ",".join(f"S{n}" for n in range(7))


@pytest.mark.parametrize("shares", [1, 2, 3, 7])
def test_partitions_are_disjoint_and_cover_every_store(shares):
    walked = [
        StoreArguments.parse({"seller_open_ids": STORES, "partition": f"{k}/{shares}"}).sellers()
        for k in range(1, shares + 1)
    ]
    flat = [seller for share in walked for seller in share]
    assert sorted(flat) == sorted(STORES.split(","))  # each store in exactly one job
    assert max(map(len, walked)) - min(map(len, walked)) <= 1  # even shares


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3/2", "1 <= K <= N"),
        ("0/2", "1 <= K <= N"),
        ("two", "K/N, e.g. 2/4"),
        ("1/9", "needs at least 9 stores, got 7"),
    ],
)
def test_a_bad_partition_is_one_line(value, message):
    with pytest.raises(ArgumentError, match=message):
        StoreArguments.parse({"seller_open_ids": STORES, "partition": value})
