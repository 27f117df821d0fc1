"""A compact set of offer ids: about 8 bytes an id instead of about 70 in a Python set.

The store walk remembers every offer id it has walked, per store, to skip an offer a
later page shows again. In a plain ``set`` a million ids take ~70 MiB (a 32-byte int
or a 60-byte string per id, plus the hash table), and that grew with every store
walked. :class:`IdSet` keeps a decimal id that fits in 64 bits as a number in sorted
``array('q')`` chunks (8 bytes each, looked up with :mod:`bisect`); the ids added last
wait in a small plain set until there are :data:`PENDING` of them (or 1/32 of the
set), then are merged in.
A merge copies only the chunks it touches, and a chunk is split past
``2 * CHUNK`` ids, so adding never holds two copies of the whole set.

Any other id (``"0123"``, ``"abc"``, a 25-digit number) is kept as the string in a
plain set: every id keeps its identity, ``"0123"`` and ``"123"`` are two ids.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

#: Ids waiting in a plain set before they are merged into the sorted chunks.
PENDING = 4096
#: Ids per sorted chunk once split (a chunk holds at most twice as many).
CHUNK = 65536
#: The largest number an ``array('q')`` holds.
LARGEST = 2**63 - 1


def number(offer_id: str) -> int | None:
    """*offer_id* as the number kept in the chunks, or None when it is kept as a string
    (not plain ASCII decimal, a leading zero, or beyond 64 bits)."""
    if offer_id.isascii() and offer_id.isdigit() and len(offer_id) <= 19 and offer_id[0] != "0":
        value = int(offer_id)
        if value <= LARGEST:
            return value
    return None


class IdSet:
    """A set of id strings with ``in``, :meth:`add`, ``len`` and iteration (as strings,
    in no particular order)."""

    __slots__ = ("_chunks", "_count", "_firsts", "_limit", "_other", "_pending", "_recent")

    def __init__(self, ids: Iterable[str] = (), pending: int = PENDING) -> None:
        #: Sorted, disjoint chunks in ascending order, and the first id of each.
        self._chunks: list[array[int]] = []
        self._firsts: list[int] = []
        self._count = 0
        #: Numbers added since the last merge (never in a chunk).
        self._recent: set[int] = set()
        #: Ids kept as strings.
        self._other: set[str] = set()
        self._pending = self._limit = max(1, pending)
        for offer_id in ids:
            self.add(offer_id)

    def __contains__(self, offer_id: object) -> bool:
        if not isinstance(offer_id, str):
            return False
        value = number(offer_id)
        if value is None:
            return offer_id in self._other
        return value in self._recent or self._merged(value)

    def _merged(self, value: int) -> bool:
        j = bisect_right(self._firsts, value) - 1
        if j < 0:
            return False
        chunk = self._chunks[j]
        i = bisect_left(chunk, value)
        return i < len(chunk) and chunk[i] == value

    def add(self, offer_id: str) -> bool:
        """Add *offer_id*: True if it was not in the set yet."""
        value = number(offer_id)
        if value is None:
            if offer_id in self._other:
                return False
            self._other.add(offer_id)
        else:
            recent = self._recent
            if value in recent or self._merged(value):
                return False
            recent.add(value)
            if len(recent) >= self._limit:
                self._merge()
        return True

    def __len__(self) -> int:
        return self._count + len(self._recent) + len(self._other)

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks:
            yield from map(str, chunk)
        yield from map(str, self._recent)
        yield from self._other

    def _merge(self) -> None:
        """Merge the recent numbers into the chunks they belong to."""
        if not self._recent:
            return
        recent = sorted(self._recent)
        self._recent.clear()
        chunks = self._chunks or [array("q")]
        merged: list[array[int]] = []
        start = 0
        for j, chunk in enumerate(chunks):
            # this chunk takes the numbers below the next chunk's first (the first, any below)
            last = j + 1 == len(chunks)
            end = len(recent) if last else bisect_left(recent, self._firsts[j + 1], start)
            merged.extend(_split(_insert(chunk, recent[start:end])) if end > start else [chunk])
            start = end
        self._chunks = merged
        self._count += len(recent)
        # merging copies the chunks it touches: wait for more ids as the set grows
        self._limit = max(self._pending, self._count >> 5)
        self._firsts = [chunk[0] for chunk in merged]


def _insert(chunk: array[int], values: list[int]) -> array[int]:
    """A new sorted chunk: *chunk* with the sorted *values* (none of them in it)."""
    result = array("q")
    start = 0
    for value in values:
        i = bisect_left(chunk, value, start)
        result.extend(chunk[start:i])
        result.append(value)
        start = i
    result.extend(chunk[start:])
    return result


def _split(chunk: array[int]) -> list[array[int]]:
    if len(chunk) <= 2 * CHUNK:
        return [chunk]
    return [chunk[i : i + CHUNK] for i in range(0, len(chunk), CHUNK)]
