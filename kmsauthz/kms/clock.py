"""Injectable time: the local KMS reads the time only through a clock object.

Tests move a :class:`ManualClock` forward to trigger automatic rotation and the end of a deletion
window; the default :class:`SystemClock` is the wall clock.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = datetime(2026, 1, 1, tzinfo=UTC)
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        return self._t

    def advance(self, delta: timedelta | float | None = None, *, days: float = 0, seconds: float = 0) -> None:
        step = delta.total_seconds() if isinstance(delta, timedelta) else float(delta or 0)
        with self._lock:
            self._t += step + days * 86400 + seconds

    def set(self, when: datetime | float) -> None:
        with self._lock:
            self._t = when.timestamp() if isinstance(when, datetime) else float(when)

    def __repr__(self) -> str:
        return f"ManualClock({to_datetime(self._t).isoformat()})"


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def now(clock: Clock) -> datetime:
    return to_datetime(clock.time())


DAY = 86400.0
__all__ = ["DAY", "Clock", "ManualClock", "SystemClock", "now", "timedelta", "to_datetime"]
