"""Rate limiters: when may the next call of a credential go out.

Two steps per call, per key (an API and one credential):

1. **Reserve** a turn on a schedule of points spaced ``interval`` apart (GCRA with
   a bucket of one, the "virtual scheduling" form): the next free point
   ``max(now, tat, hold)``; the caller sleeps until it. Waiting callers each hold
   their own point, so nobody polls, and the schedule stays punctual: one late
   wake-up does not push the others back.
2. **Admit** the call when it is about to go (:meth:`Limiter.admit`): the limiter
   keeps the times of the last ``calls`` calls it admitted and lets this one go now
   only if the ``calls``-th last is at least ``window`` seconds old (and the last one
   ``gap`` seconds); else it answers how long to wait, and the caller asks again
   then. Admission times are the ones that count: a call that woke late still
   goes (its turn is not lost), and any window of ``window`` seconds holds at most
   ``calls`` admissions whatever the wake-ups did.
3. **Delay** an admission whose call may have reached the provider late
   (:meth:`Limiter.delay`, from the answer's round trip: see
   :mod:`harvester.middlewares.ratelimit`): the calls after it keep the window from
   that later time.

With ``window = 1 + margin`` seconds (``calls`` = the QPS), no second holds more
than QPS *arrivals* at the provider as long as calls reach it with delays (after
their admission) that differ by at most ``margin`` — the time from admission to the
socket on a busy event loop, the network. The long-run rate is QPS / (1 + margin),
less the mean lateness of calls that had to wait for the window.

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
from dataclasses import dataclass, field
from typing import Any, Protocol


class Pace:
    """A limit as the limiter applies it: *calls* per *window* seconds (the margin
    included), turns *interval* apart, no two calls closer than *gap*."""

    def __init__(self, qps: float, margin: float) -> None:
        self.calls = max(1, int(qps))
        self.window = (1.0 + margin) * (1.0 if qps >= 1 else 1.0 / qps)
        self.interval = self.window / self.calls
        self.gap = self.interval / 2


def resolve_qps(limits: dict[str, Any], api: str, credentials: list[str], default: float) -> float:
    """The first override of ``<api>:<credential>`` for *credentials* (its value, its id),
    else of ``<api>``, else the provider's *default*."""
    for key in [f"{api}:{credential}" for credential in credentials] + [api]:
        if key in limits:
            qps = float(limits[key])
            if qps <= 0:
                raise ValueError(f"HARVESTER_RATE_LIMITS[{key!r}] must be positive, got {qps}")
            return qps
    return default


def check_limits(limits: dict[str, Any], known: set[str]) -> None:
    """Refuse overrides of unknown APIs (a typo would silently leave the default in force)."""
    for key, value in limits.items():
        api = str(key).partition(":")[0]
        if api not in known:
            raise ValueError(
                f"HARVESTER_RATE_LIMITS: unknown API {api!r} in {key!r}; "
                f"known: {', '.join(sorted(known))}"
            )
        if float(value) <= 0:
            raise ValueError(f"HARVESTER_RATE_LIMITS[{key!r}] must be positive, got {value}")


class Limiter(Protocol):
    async def reserve(self, key: str, interval: float) -> tuple[float, float]:
        """Reserve the next grant of *key*; return its time on ``time.monotonic()``'s clock
        (the asyncio loop's), and the time of the reservation on the limiter's own clock
        (for :meth:`backoff`)."""

    async def admit(
        self, key: str, calls: int, window: float, gap: float, allowance: float = 0.0
    ) -> tuple[float, str]:
        """Admit a call of *key* now if fewer than *calls* were admitted in the last
        *window* seconds and none in the last *gap* (both stretched by the back-off
        factor, and not before a hold): return 0 and the admission's token, and record the
        admission *allowance* seconds later than now (a call that may take longer to reach
        the provider: the calls after it keep the window from that time). Else the seconds
        to wait before asking again (and no token)."""

    async def delay(self, key: str, token: str, seconds: float) -> None:
        """Count the admission *token* of *key* as *seconds* later (its call may have
        reached the provider that late), if it is still among the latest."""

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
    #: Admission times of the latest calls (at most ``calls`` of them), by token.
    admitted: dict[str, float] = field(default_factory=dict)
    #: The last token handed out.
    serial: int = 0


def reserve_point(state: KeyState, interval: float, now: float) -> float:
    """The next grant of *state* (moved past it): ``max(now, tat, hold)``."""
    grant = max(now, state.tat, state.hold)
    state.tat = grant + interval * state.slow
    return grant


def admit_at(
    state: KeyState, now: float, calls: int, window: float, gap: float, allowance: float = 0.0
) -> tuple[float, str]:
    """(0, token) and *now* recorded if a call may go at *now* (:meth:`Limiter.admit`), else
    the seconds until it may (and no token)."""
    latest = sorted(state.admitted.values(), reverse=True)
    earliest = state.hold
    if latest:
        earliest = max(earliest, latest[0] + gap * state.slow)
    if len(latest) >= calls:
        earliest = max(earliest, latest[calls - 1] + window * state.slow)
    if now < earliest:
        return earliest - now, ""
    state.serial += 1
    token = str(state.serial)
    state.admitted[token] = now + allowance
    if len(state.admitted) > calls:  # keep the latest
        del state.admitted[min(state.admitted, key=state.admitted.__getitem__)]
    return 0.0, token


def delay_admission(state: KeyState, token: str, seconds: float) -> None:
    """:meth:`Limiter.delay` on *state*."""
    if token in state.admitted:
        state.admitted[token] += seconds


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

    async def admit(
        self, key: str, calls: int, window: float, gap: float, allowance: float = 0.0
    ) -> tuple[float, str]:
        return admit_at(self._state(key), time.monotonic(), calls, window, gap, allowance)

    async def delay(self, key: str, token: str, seconds: float) -> None:
        delay_admission(self._state(key), token, seconds)

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
