"""The API's rate limits, counted in Redis with one round trip per request.

DRF's own throttles keep the time of every request in the window: a list as long as
the rate allows, read, unpickled, trimmed, pickled and written back through the cache
on each request (two round trips; at 1,000 requests a minute, 1,000 floats each way).
These keep two counters per client instead, for this window and the one before, and
count the one before in proportion to how much of it the sliding window still covers
(the "sliding window counter"): the same limits, constant cost whatever the rate.

Rates, scopes and cache keys are DRF's (`DEFAULT_THROTTLE_RATES`, "user" per signed-in
person, "anon" per IP address); the counters live in the cache's Redis database.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])


class SlidingWindowThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        current = cache.make_key(f"{self.key}:{window}")
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incr(current)
        pipeline.expire(current, 2 * self.duration)
        pipeline.get(cache.make_key(f"{self.key}:{window - 1}"))
        count, _expiry_set, previous = pipeline.execute()
        previous = int(previous or 0)
        # The share of the previous window that the sliding window still covers.
        overlap = 1 - (now - window * self.duration) / self.duration
        if previous * overlap + count <= self.num_requests:
            return True
        # As with DRF's throttles, a refused request uses none of the allowance.
        _redis().decr(current)
        self.wait_seconds = self._wait(previous, count - 1, overlap)
        return False

    def _wait(self, previous: int, count: int, overlap: float) -> float | None:
        """Seconds until one more request fits, if none is sent meanwhile."""
        if self.num_requests < 1:
            return None
        room = self.num_requests - count
        if room >= 1:  # once enough of the previous window has slid out
            return self.duration * (overlap - (room - 1) / previous)
        # After this window ends, once enough of it has slid out.
        return self.duration * (overlap + 1 - (self.num_requests - 1) / count)

    def wait(self) -> float | None:
        return self.wait_seconds


class UserRateThrottle(SlidingWindowThrottle, throttling.UserRateThrottle):
    """Per signed-in person (or per IP address for anonymous requests)."""


class AnonRateThrottle(SlidingWindowThrottle, throttling.AnonRateThrottle):
    """Per IP address, for anonymous requests only."""
