"""The Redis backend of the rate limiter: one schedule per key shared by every process.

The algorithm is :mod:`harvester.limiter`'s, in Lua scripts that Redis runs
atomically, timed by the server's own ``TIME`` (clients' clocks do not matter).
A key's state is one hash ``<prefix>:<api>:<credential id>`` with fields ``tat``,
``slow`` and ``hold`` (server seconds), and the list ``<that>:admitted`` of the latest
admission times (newest first), both expiring after an idle hour. Reserving answers
the grant as a server time (the client converts it to its own clock and sleeps:
no polling); admitting answers 0 or the seconds to wait. Calls go
through redis-py's asyncio client, on the reactor's event loop (the project runs
Twisted's asyncio reactor), so waiting for Redis never blocks the crawl.

``limits`` (the library) was not used: its moving-window strategy admits ``N``
calls at once and then nothing, i.e. bursts, and its fixed windows allow ``2N``
calls across a boundary; neither paces calls evenly.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Seconds an admission's answer may take to come back before the admission is moved to
#: the time the call really leaves (a busy process: the delay counts against the margin).
SLOW_REPLY = 0.005
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

#: KEYS: state, admissions; ARGV: calls, window, gap, expiry, allowance → "0" (admitted
#: now, and the time recorded: now + allowance) or the seconds to wait.
ADMIT = (
    _NOW
    + """
local calls = tonumber(ARGV[1])
local earliest = hold
local admitted = redis.call('LRANGE', KEYS[2], 0, calls - 1)
if #admitted > 0 then
  earliest = math.max(earliest, tonumber(admitted[1]) + tonumber(ARGV[3]) * slow)
end
if #admitted >= calls then
  earliest = math.max(earliest, tonumber(admitted[calls]) + tonumber(ARGV[2]) * slow)
end
if now < earliest then
  return {string.format('%.6f', earliest - now)}
end
redis.call('LPUSH', KEYS[2], string.format('%.6f', now + tonumber(ARGV[5])))
redis.call('LTRIM', KEYS[2], 0, calls - 1)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {'0', string.format('%.6f', now + tonumber(ARGV[5]))}
"""
)

#: KEYS: admissions; ARGV: an admission recorded by ADMIT, how many are kept → moves it to
#: the server's now if later (a reply that reached its process late: the call left then).
MOVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local admitted = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for i, value in ipairs(admitted) do
  if value == ARGV[1] then
    if now > tonumber(value) then
      redis.call('LSET', KEYS[1], i - 1, string.format('%.6f', now))
    end
    return 1
  end
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
        self._move = self.redis.register_script(MOVE)
        self._moves: set[asyncio.Future[Any]] = set()
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
    ) -> float:
        """As :meth:`Limiter.admit`; an answer that took longer than :data:`SLOW_REPLY` to
        come back moves the admission to when the call really leaves (the server's clock
        then): the calls after it keep the window from that time."""
        admissions = f"{self._key(key)}:admitted"
        args = [calls, window, gap, IDLE_EXPIRY_MS, allowance]
        asked = time.monotonic()
        answer: Any = await self._admit(keys=[self._key(key), admissions], args=args)
        wait = float(answer[0])
        if not wait and time.monotonic() - asked > SLOW_REPLY:
            # not awaited: Redis runs it about when this call leaves (a failure shows at
            # the next reservation)
            task = asyncio.ensure_future(self._move(keys=[admissions], args=[answer[1], calls]))
            self._moves.add(task)
            task.add_done_callback(self._moves.discard)
        return wait

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
        await asyncio.gather(*self._moves, return_exceptions=True)
        await self.redis.aclose()
