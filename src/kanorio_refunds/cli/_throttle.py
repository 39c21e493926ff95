"""Stripe request pacing for the command: a token bucket in front of every HTTP request the SDK
sends, and a retry with backoff of requests Stripe answered 429 (rate limited).

A 429 means Stripe did nothing with the request, and a retried refund creation carries the same
``Idempotency-Key`` header, so retrying it here can never make a second refund.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import stripe

#: Stripe's documented default limits, in requests per second, by key mode.
DEFAULT_RATES: Final = {"test": 25.0, "live": 100.0}


class RateLimiter:
    """A token bucket: ``acquire`` returns when a request may be sent at ``rate`` per second,
    with bursts of at most ``burst`` requests (default: a fifth of a second's worth)."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = max(1.0, self.rate / 5) if burst is None else float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 1.0
        self._last = clock()

    def acquire(self) -> None:
        """Wait for one token."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)


@dataclass
class RequestStats:
    """What the throttled client sent: every attempt, and how many Stripe answered 429."""

    sent: int = 0
    rate_limited: int = 0


class ThrottledHTTPClient(stripe.RequestsClient):
    """``stripe.RequestsClient`` paced by a ``RateLimiter``, retrying 429 answers with
    exponential backoff and jitter (at most ``max_rate_limit_retries`` times, then the 429 goes
    to the SDK, and the gateway reports ``gateway_unavailable``)."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        max_rate_limit_retries: int = 8,
        max_backoff: float = 4.0,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.limiter = limiter
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_backoff = max_backoff
        self.stats = RequestStats()
        self._sleep_for = sleep
        self._stats_lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """Send once a token is free; on 429 wait (1/rate, doubling, jittered) and resend."""
        attempt = 0
        while True:
            self.limiter.acquire()
            content, status, answer_headers = super().request(method, url, headers, post_data)
            with self._stats_lock:
                self.stats.sent += 1
                if status == 429:
                    self.stats.rate_limited += 1
            if status != 429 or attempt >= self.max_rate_limit_retries:
                return content, status, answer_headers
            attempt += 1
            base = min(self.max_backoff, (2 ** (attempt - 1)) / self.limiter.rate)
            self._sleep_for(base * (0.5 + random.random() / 2))
