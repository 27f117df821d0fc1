"""The Redis backend of the rate limiter: one schedule per key shared by every process.

The algorithm is :mod:`harvester.limiter`'s, in Lua scripts that Redis runs
atomically, timed by the server's own ``TIME`` (clients' clocks do not matter).
A key's state is one hash ``<prefix>:<api>:<credential id>`` with fields ``tat``,
``slow`` and ``hold`` (server seconds), and the sorted set ``<that>:admitted`` of the
latest admissions (token → server time), both expiring after an idle hour. Reserving answers
the grant as a server time (the client converts it to its own clock and sleeps:
no polling); admitting answers 0 or the seconds to wait. Calls go
through redis-py's asyncio client, on the reactor's event loop (the project runs
Twisted's asyncio reactor), so waiting for Redis never blocks the crawl.

``limits`` (the library) was not used: its moving-window strategy admits ``N``
calls at once and then nothing, i.e. bursts, and its fixed windows allow ``2N``
calls across a boundary; neither paces calls evenly.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Milliseconds an idle key's state is kept.
IDLE_EXPIRY_MS = 3_600_000

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'tat', 'slow', 'hold', 'backoff_at')
local tat, slow, hold = tonumber(s[1]) or 0, tonumber(s[2]) or 1, tonumber(s[3]) or 0
local backoff_at = tonumber(s[4]) or 0
"""

#: ARGV: interval → {grant, now} in server seconds (strings: Lua numbers become integers).
RESERVE = (
    _NOW
    + """
local grant = math.max(now, tat, hold)
redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', grant + tonumber(ARGV[1]) * slow))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {string.format('%.6f', grant), string.format('%.6f', now)}
"""
)

#: ARGV: interval, factor, max interval, hold seconds, expiry, the call's grant → the
#: slow-down factor (multiplied only for a call granted after the last back-off).
BACKOFF = (
    _NOW
    + """
if tonumber(ARGV[6]) >= backoff_at then
  slow = math.min(slow * tonumber(ARGV[2]), math.max(tonumber(ARGV[3]) / tonumber(ARGV[1]), 1))
  backoff_at = now
end
hold = math.max(hold, now + tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'slow', string.format('%.6f', slow),
           'hold', string.format('%.6f', hold), 'backoff_at', string.format('%.6f', backoff_at))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return string.format('%.6f', slow)
"""
)

#: KEYS: state, admissions; ARGV: calls, window, gap, expiry, allowance → {"0", token}
#: (admitted now, recorded as now + allowance) or {seconds to wait}. Admissions are a
#: sorted set (token → time) holding the latest ``calls``.
ADMIT = (
    _NOW
    + """
local calls = tonumber(ARGV[1])
local earliest = hold
local latest = redis.call('ZREVRANGE', KEYS[2], 0, calls - 1, 'WITHSCORES')
if #latest > 0 then
  earliest = math.max(earliest, tonumber(latest[2]) + tonumber(ARGV[3]) * slow)
end
if #latest >= 2 * calls then
  earliest = math.max(earliest, tonumber(latest[2 * calls]) + tonumber(ARGV[2]) * slow)
end
if now < earliest then
  return {string.format('%.6f', earliest - now)}
end
local token = tostring(redis.call('HINCRBY', KEYS[1], 'serial', 1))
redis.call('ZADD', KEYS[2], string.format('%.6f', now + tonumber(ARGV[5])), token)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(calls + 1))
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {'0', token}
"""
)

#: KEYS: admissions; ARGV: token, seconds → that admission counted as this much later
#: (if still among the latest).
DELAY = """
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if at then
  redis.call('ZADD', KEYS[1], string.format('%.6f', tonumber(at) + tonumber(ARGV[2])), ARGV[1])
end
return 0
"""

RECOVER = (
    _NOW
    + """
if slow > 1 then
  redis.call('HSET', KEYS[1], 'slow', string.format('%.6f', math.max(1, 1 + (slow - 1) / 2)))
end
return 0
"""
)


class RedisLimiter:
    """Shared schedules in Redis at *url*, under keys prefixed *prefix*."""

    def __init__(self, url: str, prefix: str = "harvester:ratelimit") -> None:
        from redis.asyncio import Redis

        self.redis: Redis = Redis.from_url(url)
        self.prefix = prefix
        self.intervals: dict[str, float] = {}
        self._reserve = self.redis.register_script(RESERVE)
        self._admit = self.redis.register_script(ADMIT)
        self._delay = self.redis.register_script(DELAY)
        self._backoff = self.redis.register_script(BACKOFF)
        self._recover = self.redis.register_script(RECOVER)
        #: the server clock minus ``time.monotonic()``, from the quickest exchange lately:
        #: (round trip, offset, when measured)
        self._offset: tuple[float, float, float] | None = None

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def reserve(self, key: str, interval: float) -> tuple[float, float]:
        self.intervals[key] = interval
        asked = time.monotonic()
        answer: Any = await self._reserve(keys=[self._key(key)], args=[interval, IDLE_EXPIRY_MS])
        grant, now = float(answer[0]), float(answer[1])
        return grant - self.offset(asked, time.monotonic(), now), now

    async def admit(
        self, key: str, calls: int, window: float, gap: float, allowance: float = 0.0
    ) -> tuple[float, str]:
        args = [calls, window, gap, IDLE_EXPIRY_MS, allowance]
        answer: Any = await self._admit(keys=[self._key(key), self._admissions(key)], args=args)
        return float(answer[0]), answer[1].decode() if len(answer) > 1 else ""

    async def delay(self, key: str, token: str, seconds: float) -> None:
        await self._delay(keys=[self._admissions(key)], args=[token, seconds])

    def _admissions(self, key: str) -> str:
        return f"{self._key(key)}:admitted"

    def offset(self, asked: float, answered: float, server_now: float) -> float:
        """Server clock − local clock (NTP-style): the server read its clock about halfway
        through the exchange; the quickest exchange of the last 10 s is the most exact."""
        trip = answered - asked
        if self._offset is None or trip <= self._offset[0] or answered - self._offset[2] > 10:
            self._offset = (trip, server_now - (asked + answered) / 2, answered)
        return self._offset[1]

    async def backoff(
        self, key: str, factor: float, max_interval: float, hold: float | None, granted: float
    ) -> float:
        interval = self.intervals.get(key, max_interval)
        args = [interval, factor, max_interval, hold or 0.0, IDLE_EXPIRY_MS, granted]
        slow: Any = await self._backoff(keys=[self._key(key)], args=args)
        return float(slow)

    async def recover(self, key: str) -> None:
        await self._recover(keys=[self._key(key)], args=[])

    async def close(self) -> None:
        await self.redis.aclose()
