"""The compact id set of the store walk (:mod:`harvester.idset`) against a plain set."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from harvester import idset
from harvester.idset import IdSet

#: Decimal ids, small and near the 64-bit edge, and strings kept as strings.
IDS = st.one_of(
    st.integers(min_value=0, max_value=2000).map(str),
    st.integers(min_value=2**63 - 50, max_value=2**63 + 50).map(str),
    st.sampled_from(["0", "00", "0123", "123", "abc", "", "١٢٣", "1e3", " 7", "-5", "9" * 30]),
)


@settings(max_examples=300, deadline=None)
@given(
    adds=st.lists(IDS, max_size=400), probes=st.lists(IDS, max_size=50), pending=st.integers(1, 9)
)
def test_behaves_as_a_set(adds, probes, pending):
    ids, plain = IdSet(pending=pending), set()
    for offer_id in adds:
        assert (offer_id in ids) == (offer_id in plain)
        ids.add(offer_id)
        plain.add(offer_id)
    assert all((p in ids) == (p in plain) for p in probes + adds)
    assert len(ids) == len(plain)
    assert sorted(ids) == sorted(plain)


@settings(max_examples=50, deadline=None)
@given(adds=st.lists(st.integers(1, 10**6).map(str), max_size=300))
def test_chunks_split_and_stay_sorted(adds):
    original = idset.CHUNK
    idset.CHUNK = 4  # many small chunks: merges that route ids across chunk borders
    try:
        ids = IdSet(adds, pending=7)
        ids._merge()
    finally:
        idset.CHUNK = original
    flat = [n for chunk in ids._chunks for n in chunk]
    assert flat == sorted({int(a) for a in adds})
    assert all(len(chunk) <= 8 for chunk in ids._chunks)
    assert set(ids) == set(adds)


def test_not_a_string_is_not_in_it():
    ids = IdSet(["123"])
    assert 123 not in ids
    assert "123" in ids
    assert "0123" not in ids


def test_an_id_takes_about_8_bytes():
    """A plain set of ints takes ~70 bytes an id, of strings ~100; the goal of the whole
    crawl is <= 50 MiB per million items."""
    tracemalloc.start()
    try:
        ids = IdSet(str(600_000_000_000 + 7 * n) for n in range(50_000))
        size, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ids) == 50_000
    assert "600000000007" in ids and "600000000008" not in ids
    assert size < 16 * 50_000, size  # with the ids waiting to be merged
