"""Rate limiters: when may the next call of a credential go out.

A limiter keeps, per key (an API and one credential), a schedule of grant times
spaced ``interval`` apart (GCRA with a bucket of one, the "virtual scheduling"
form): a caller *reserves* the next free point ``max(now, tat, hold)`` and
sleeps until it. Reserved points are never closer than ``interval``, so any
half-open window of ``n × interval`` seconds holds at most ``n`` grants: with
``interval = (1 + margin) / qps`` no second holds more than ``qps`` calls, even if
each call reaches the provider up to ``margin`` seconds later than the one before
relative to its grant (a busy event loop, the network). A caller that wakes later
than its tolerance gives its point up and reserves again
(:mod:`harvester.middlewares.ratelimit`), so a stalled process never sends a
burst of overdue calls. Reservations made while calls are queued keep the
schedule punctual: lateness of one call does not push the others back.

Back-off lives in the limiter too, so that it holds for every process sharing it:
``backoff`` multiplies the key's interval by a factor (capped) and may hold every
grant until a time the provider asked for (``Retry-After``, a ban); ``recover``
halves the excess after each successful answer.

Two backends share this contract: :class:`LocalLimiter` (one process, the
default) and :class:`harvester.limiter_redis.RedisLimiter` (every process using
``HARVESTER_REDIS_URL``; the same algorithm in one atomic Lua script timed by the
Redis server's clock).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    async def reserve(self, key: str, interval: float) -> tuple[float, float]:
        """Reserve the next grant of *key*; return its time on ``time.monotonic()``'s clock
        (the asyncio loop's), and the time of the reservation on the limiter's own clock
        (for :meth:`backoff`)."""

    async def backoff(
        self, key: str, factor: float, max_interval: float, hold: float | None, granted: float
    ) -> float:
        """Slow *key* down by *factor* (its interval at most *max_interval*) unless the
        call answered was *granted* (reserved, limiter clock) before the last back-off —
        a burst of throttle answers to calls already under way slows down once; hold every grant
        for *hold* seconds from now. Return the slow-down factor."""

    async def recover(self, key: str) -> None:
        """A successful answer: bring *key*'s slow-down factor halfway back to 1."""

    async def close(self) -> None:
        """Release connections."""


@dataclass
class KeyState:
    #: Theoretical arrival time: the earliest next grant (``time.monotonic()`` seconds).
    tat: float = 0.0
    #: The interval's multiplier after back-off (1: the limit itself).
    slow: float = 1.0
    #: No grant before this time (a provider's ``Retry-After``).
    hold: float = 0.0
    #: When the interval was last multiplied.
    backoff_at: float = 0.0


def reserve_point(state: KeyState, interval: float, now: float) -> float:
    """The next grant of *state* (moved past it): ``max(now, tat, hold)``."""
    grant = max(now, state.tat, state.hold)
    state.tat = grant + interval * state.slow
    return grant


def apply_backoff(
    state: KeyState,
    interval: float,
    factor: float,
    max_interval: float,
    hold_until: float,
    *,
    granted: float,
    now: float,
) -> float:
    """Multiply the slow-down by *factor* (up to *max_interval*) if the call was granted
    after the last back-off; extend the hold."""
    if granted >= state.backoff_at:
        state.slow = min(state.slow * factor, max(max_interval / interval, 1.0))
        state.backoff_at = now
    state.hold = max(state.hold, hold_until)
    return state.slow


class LocalLimiter:
    """The in-process backend: one schedule per key, on ``time.monotonic()``."""

    def __init__(self) -> None:
        self.states: dict[str, KeyState] = {}
        self.intervals: dict[str, float] = {}

    def _state(self, key: str) -> KeyState:
        return self.states.setdefault(key, KeyState())

    async def reserve(self, key: str, interval: float) -> tuple[float, float]:
        self.intervals[key] = interval
        now = time.monotonic()
        return reserve_point(self._state(key), interval, now), now

    async def backoff(
        self, key: str, factor: float, max_interval: float, hold: float | None, granted: float
    ) -> float:
        interval = self.intervals.get(key, max_interval)
        now = time.monotonic()
        until = now + hold if hold else 0.0
        state = self._state(key)
        return apply_backoff(state, interval, factor, max_interval, until, granted=granted, now=now)

    async def recover(self, key: str) -> None:
        state = self._state(key)
        state.slow = max(1.0, 1.0 + (state.slow - 1.0) / 2)

    async def close(self) -> None:
        return None
