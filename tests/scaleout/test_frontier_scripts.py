"""The shared frontier's scripts against a real Redis server: claims level by level,
distributed termination, leases of a crashed worker claimed again, run generations."""

from __future__ import annotations

import asyncio
import uuid

from harvester.frontier.shared import SharedFrontier
from harvester.outcome import INCOMPLETE, classify


def frontier(redis_url: str, key: str, lease: float = 30, grace: float = 30) -> SharedFrontier:
    return SharedFrontier.from_url(redis_url, key, lease, grace)


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def test_claims_go_level_by_level_and_the_crawl_ends_when_nothing_is_leased(redis_url):
    async def scenario() -> None:
        key = uuid.uuid4().hex
        a, b = frontier(redis_url, key), frontier(redis_url, key)
        assert await a.join(["s"]) == (1, False)
        assert await b.join(["s"]) == (0, False)  # the same crawl: the seed is not queued again
        assert a.generation == b.generation
        first = await a.step(5, [], [])
        assert (first.state, first.depth, first.items) == ("work", 0, ["s"])
        assert (await b.step(5, [], [])).state == "wait"  # "s" is leased: not done yet
        # "s" lists x and y (depth 1) and x again: queued once
        assert await a.page("s", ["x", "y", "x"], 10, 1) == [2, 2, 1]
        assert (await b.step(5, [], [])).state == "wait"  # depth 0 still leased
        after_ack = await a.step(0, ["s"], [])
        assert after_ack.state == "wait"
        level1 = await b.step(5, [], [])
        assert (level1.state, level1.depth, sorted(level1.items)) == ("work", 1, ["x", "y"])
        assert (await a.step(5, [], [])).state == "wait"  # b holds x and y
        assert (await b.step(0, ["x", "y"], [])).state == "done"
        assert (await a.step(5, [], [])).state == "done"
        for client in (a, b):
            await client.close()

    run(scenario())


def test_a_crashed_workers_claims_are_claimed_again_after_the_lease(redis_url):
    async def scenario() -> None:
        key = uuid.uuid4().hex
        crashed, alive = frontier(redis_url, key, lease=0.2), frontier(redis_url, key, lease=0.2)
        await crashed.join(["s"])
        await alive.join(["s"])
        assert (await crashed.step(5, [], [])).items == ["s"]  # ... and it dies
        # it read a page of "s" listing x (stored by "s") ... and it dies, x not committed
        assert await crashed.page("s", ["x"], 10, None) == [2]
        assert (await alive.step(5, [], [])).state == "wait"
        await asyncio.sleep(0.3)
        again = await alive.step(5, [], [])
        assert (again.state, again.items, again.reclaimed) == ("work", ["s"], 1)
        # walking "s" again stores x again (its first store may be lost); another node not
        assert await alive.page("s", ["x"], 10, None) == [2]
        assert await alive.page("t", ["x"], 10, None) == [1]
        assert (await alive.step(0, ["s"], [])).state == "done"
        await crashed.close()
        await alive.close()

    run(scenario())


def test_renewed_leases_hold_and_a_rerun_after_the_grace_starts_clean(redis_url):
    async def scenario() -> None:
        key = uuid.uuid4().hex
        worker = frontier(redis_url, key, lease=0.3, grace=1)
        await worker.join(["s"])
        await worker.step(1, [], [])
        for _ in range(3):  # 0.6 s: twice the lease, renewed every 0.2 s
            await asyncio.sleep(0.2)
            await worker.renew(["s"])  # as the worker's renewal task does
            assert (await worker.step(0, [], [])).reclaimed == 0
        assert (await worker.step(0, ["s"], [])).state == "done"
        late = frontier(redis_url, key, grace=1)
        assert await late.join(["s"]) == (0, True)  # within the grace: the crawl is done
        assert (await late.step(5, [], [])).state == "done"
        await asyncio.sleep(1.1)
        rerun = frontier(redis_url, key)
        assert await rerun.join(["s"]) == (1, False)  # a new generation, seed queued again
        assert rerun.generation != worker.generation
        for client in (worker, late, rerun):
            await client.close()

    run(scenario())


def test_a_worker_that_lost_redis_does_not_claim_a_complete_run():
    stats = {"harvester/frontier/lost": 1, "item_scraped_count": 12}
    assert classify("finished", stats).status == INCOMPLETE
