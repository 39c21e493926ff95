"""Clocks: the system clock for production and a manual clock for tests and the demo."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The real time, in UTC. Satisfies ``ports.Clock``."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (or by ``tick`` on every read). Thread-safe.

    ``ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=timedelta(seconds=1))`` starts
    there and advances one second per ``now()``, so events read from it are strictly ordered.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        tick: timedelta = timedelta(0),
    ) -> None:
        start = start or datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time (use tzinfo=UTC)")
        self._now = start
        self._tick = tick
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's time; then it advances by ``tick``."""
        # acquire/release rather than ``with``: the same lock, half the cost on this path, which
        # tests and the benchmarks read several times per use case (issue 10).
        lock = self._lock
        lock.acquire()
        try:
            current = self._now
            self._now = current + self._tick
        finally:
            lock.release()
        return current

    def advance(self, delta: timedelta | float | int = 1) -> datetime:
        """Move forward by ``delta`` (a timedelta, or seconds) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += step
            return self._now

    def unix_seconds(self) -> int:
        """The clock's time in whole unix seconds (for FakeStripe, which speaks Stripe's time)."""
        return int(self.now().timestamp())
