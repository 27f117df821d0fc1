"""The shared frontier in Redis: atomic Lua scripts on one crawl's keys (redis.asyncio).

A crawl's keys live under ``harvester:frontier:<run key>:<generation>:`` —

- ``seen`` (set): every item ever queued (an item is queued once per crawl);
- ``pending`` (sorted set, score = depth): items waiting to be claimed;
- ``leased`` (sorted set, score = lease expiry in ms of the server's clock): claimed items;
- ``depths`` (hash item → depth), ``inflight`` (hash depth → leased count);
- ``stored`` (hash product → the node whose page stored it): products counted against
  the crawl's ``max_items``;
- ``finished``: set when the crawl ended (nothing pending, nothing leased);
- ``budget:<name>``: what the workers spent of a crawl-wide cap (vv-tool's billed calls).

``harvester:frontier:<run key>`` holds the current generation: a worker joins it while
it runs, and for ``grace`` seconds after it ended (every key then expires: a worker
started a little late finds the crawl done and fetches nothing); later, the same
command starts the next generation (a scheduled re-run starts clean).

Claims go level by level: nothing at depth ``d + 1`` is handed out while an item at
depth ``d`` is pending or leased, so that an item is first reached at its shortest
depth, whatever the number of workers (the union of N workers' results is the same
walk). Leases expire (server ``TIME``: client clocks do not matter) and are handed out
again: a crashed worker's items are re-claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

PREFIX = "harvester:frontier:"

# KEYS: root; ARGV: seeds (depth 0). Joins the running generation (its ``seen`` exists)
# or the one that ended less than the grace period ago (``finished`` exists), else starts
# the next; the seeds are queued in the same step, so a generation has ``seen`` at once.
JOIN = """
local gen = redis.call('GET', KEYS[1])
local function key(name) return KEYS[1] .. ':' .. gen .. ':' .. name end
if (not gen) or (redis.call('EXISTS', key('seen')) == 0
                 and redis.call('EXISTS', key('finished')) == 0) then
  gen = tostring(redis.call('INCR', KEYS[1]))
end
local added = 0
for i = 1, #ARGV do
  if redis.call('SADD', key('seen'), ARGV[i]) == 1 then
    redis.call('ZADD', key('pending'), 0, ARGV[i])
    redis.call('HSET', key('depths'), ARGV[i], 0)
    added = added + 1
  end
end
return {gen, added, redis.call('EXISTS', key('finished'))}
"""

# KEYS: stored, seen, pending, depths; ARGV: max_items, child depth (-1: no expansion),
# owner (the node whose page this is), ids... Per id: 0 over the cap (dropped), 1 stored
# by another node (or earlier on this page), 2 stored by this node: the caller stores
# it, also when a reclaimed node is walked again after a crash (its first store may be
# lost). A kept id is queued at the child depth while the cap has room (as the
# one-process walk).
PAGE = """
local cap, child, owner = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local codes, here = {}, {}
for i = 4, #ARGV do
  local id, code = ARGV[i], 0
  local by = redis.call('HGET', KEYS[1], id)
  if by then
    code = (by == owner and not here[id]) and 2 or 1
  elseif redis.call('HLEN', KEYS[1]) < cap then
    redis.call('HSET', KEYS[1], id, owner)
    code = 2
  end
  here[id] = true
  if code > 0 and child >= 0 and redis.call('HLEN', KEYS[1]) < cap then
    if redis.call('SADD', KEYS[2], id) == 1 then
      redis.call('ZADD', KEYS[3], child, id)
      redis.call('HSET', KEYS[4], id, child)
    end
  end
  codes[#codes + 1] = code
end
return codes
"""

# KEYS: pending, leased, depths, inflight, finished, seen, stored
# ARGV: lease ms, claim count, grace s, ack count A, acks (A items), renewals...
STEP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, want, acks = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
for i = 5, 4 + acks do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('HINCRBY', KEYS[4], redis.call('HGET', KEYS[3], ARGV[i]), -1)
  end
end
for i = 5 + acks, #ARGV do
  redis.call('ZADD', KEYS[2], 'XX', now + lease, ARGV[i])
end
local reclaimed = 0
for _, item in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], item)
  local depth = redis.call('HGET', KEYS[3], item)
  redis.call('HINCRBY', KEYS[4], depth, -1)
  redis.call('ZADD', KEYS[1], depth, item)
  reclaimed = reclaimed + 1
end
local busy = nil
local counts = redis.call('HGETALL', KEYS[4])
for i = 1, #counts, 2 do
  local d = tonumber(counts[i])
  if tonumber(counts[i + 1]) > 0 and (busy == nil or d < busy) then busy = d end
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #head == 0 then
  if busy == nil then
    if redis.call('EXISTS', KEYS[5]) == 0 then
      redis.call('SET', KEYS[5], 1)
      for i = 1, 7 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
    end
    return {'done', reclaimed, 0}
  end
  return {'wait', reclaimed, 0}
end
local level = tonumber(head[2])
if want == 0 or (busy ~= nil and busy < level) then return {'wait', reclaimed, level} end
local items = redis.call('ZRANGEBYSCORE', KEYS[1], level, level, 'LIMIT', 0, want)
for _, item in ipairs(items) do
  redis.call('ZREM', KEYS[1], item)
  redis.call('ZADD', KEYS[2], now + lease, item)
end
redis.call('HINCRBY', KEYS[4], level, #items)
return {'work', reclaimed, level, unpack(items)}
"""


# KEYS: leased; ARGV: lease ms, items... (only those still leased)
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return #ARGV - 1
"""

# KEYS: budget; ARGV: cap, count, force ("1": spend even over the cap: calls already made),
# ttl s. Spends *count* of a crawl-wide budget (a billed call cap shared by the workers):
# 1 when spent, 0 when that would go over the cap (nothing spent).
SPEND = """
local used, count = tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[2])
if ARGV[3] ~= '1' and used + count > tonumber(ARGV[1]) then return 0 end
redis.call('INCRBY', KEYS[1], count)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

#: Seconds a crawl's budget counters outlive their last change (a generation's other keys
#: expire at its end; a budget spent by an unfinished crawl stays for its next workers).
BUDGET_TTL = 7 * 24 * 3600


@dataclass
class Step:
    """What one step of a worker got: ``work`` (items at ``depth``), ``wait`` (others
    hold lower-depth or all remaining items) or ``done`` (the crawl has ended)."""

    state: str
    depth: int = 0
    items: list[str] = field(default_factory=list)
    #: Expired leases handed back to the pending items during this step.
    reclaimed: int = 0


class SharedFrontier:
    """One crawl's frontier in Redis (call :meth:`join` first)."""

    def __init__(self, redis: Redis, run_key: str, lease: float, grace: float) -> None:
        self.redis = redis
        self.root = PREFIX + run_key
        self.lease_ms = max(1, int(lease * 1000))
        #: Seconds an ended crawl is still joined (workers started late find it done).
        self.grace = max(1, int(grace))
        self.generation = ""
        self._join = redis.register_script(JOIN)
        self._page = redis.register_script(PAGE)
        self._step = redis.register_script(STEP)
        self._renew = redis.register_script(RENEW)
        self._spend = redis.register_script(SPEND)

    @classmethod
    def from_url(cls, url: str, run_key: str, lease: float, grace: float) -> SharedFrontier:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url, decode_responses=True), run_key, lease, grace)

    def key(self, name: str) -> str:
        return f"{self.root}:{self.generation}:{name}"

    async def join(self, seeds: list[str]) -> tuple[int, bool]:
        """Join the crawl (or start a new generation) and queue *seeds* at depth 0 (those
        seen before are not); how many were new, and whether the crawl has ended."""
        generation, added, ended = await self._join(keys=[self.root], args=seeds)
        self.generation = str(generation)
        return int(added), bool(ended)

    async def page(
        self, owner: str, ids: list[str], max_items: int, child_depth: int | None
    ) -> list[int]:
        """Count *ids* (read on a page of node *owner*) against *max_items* and queue the
        kept ones at *child_depth* (None: none); per id 0 dropped by the cap, 1 stored by
        another node, 2 stored by *owner* (the caller stores it)."""
        if not ids:
            return []
        keys = [self.key(name) for name in ("stored", "seen", "pending", "depths")]
        depth = -1 if child_depth is None else child_depth
        reply = await self._page(keys=keys, args=[max_items, depth, owner, *ids])
        return [int(code) for code in reply]

    async def step(self, want: int, acks: list[str], renew: list[str]) -> Step:
        """Acknowledge *acks* (done), extend the leases of *renew*, hand back expired leases,
        and claim up to *want* items of the lowest pending depth."""
        names = ("pending", "leased", "depths", "inflight", "finished", "seen", "stored")
        args = [self.lease_ms, want, self.grace, len(acks), *acks, *renew]
        reply = await self._step(keys=[self.key(name) for name in names], args=args)
        state, reclaimed, depth, *items = reply
        return Step(str(state), int(depth), [str(item) for item in items], int(reclaimed))

    async def renew(self, items: list[str]) -> None:
        """Extend the leases of *items* (claimed by this worker) by the lease time."""
        if items:
            await self._renew(keys=[self.key("leased")], args=[self.lease_ms, *items])

    async def spend(self, budget: str, cap: int, count: int = 1, force: bool = False) -> bool:
        """Spend *count* of the crawl's *budget* (shared by its workers) within *cap*; with
        *force*, whatever the cap (calls already made; a negative *count* gives back)."""
        args = [cap, count, "1" if force else "0", BUDGET_TTL]
        return bool(await self._spend(keys=[self.key(f"budget:{budget}")], args=args))

    async def close(self) -> None:
        await self.redis.aclose()
