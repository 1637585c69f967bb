"""The API's rate limits, counted in Redis with one round trip per request.

DRF's own throttles keep the time of every request in the window: a list as long as
the rate allows, read, unpickled, trimmed, pickled and written back through the cache
on each request (two round trips; at 1,000 requests a minute, 1,000 floats each way).
These keep two counters per client instead, for this window and the one before, and
count the one before in proportion to how much of it the sliding window still covers
(the "sliding window counter"): the same limits, constant cost whatever the rate.

Rates, scopes and cache keys are DRF's (`DEFAULT_THROTTLE_RATES`, "user" per signed-in
person, "anon" per IP address); the counters live in the cache's Redis database, and
in the cache's database table while Redis is unreachable (helpdesk/cache.py): the
limits hold during an outage, at the cost of a query or two per request.
"""

from __future__ import annotations

from contextlib import suppress

from django.core.cache import cache
from rest_framework import throttling

from helpdesk.cache import RedisUnavailable


def _count_on_redis(current: str, previous: str, expiry: int):
    def work(client) -> tuple[int, int]:
        pipeline = client.pipeline(transaction=False)
        pipeline.incr(cache.make_key(current))
        pipeline.expire(cache.make_key(current), expiry)
        pipeline.get(cache.make_key(previous))
        count, _expiry_set, before = pipeline.execute()
        return count, int(before or 0)

    return work


class SlidingWindowThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        current, previous_key = f"{self.key}:{window}", f"{self.key}:{window - 1}"
        try:
            count, previous = cache.run_on_redis(
                _count_on_redis(current, previous_key, 2 * self.duration)
            )
        except RedisUnavailable:
            count, previous = self._count_in_database(current, previous_key)
        # The share of the previous window that the sliding window still covers.
        overlap = 1 - (now - window * self.duration) / self.duration
        if previous * overlap + count <= self.num_requests:
            return True
        # As with DRF's throttles, a refused request uses none of the allowance.
        try:
            cache.run_on_redis(lambda client: client.decr(cache.make_key(current)))
        except RedisUnavailable:
            with suppress(ValueError):  # counted on Redis, which went away since
                cache.fallback.decr(current)
        self.wait_seconds = self._wait(previous, count - 1, overlap)
        return False

    def _count_in_database(self, current: str, previous: str) -> tuple[int, int]:
        fallback = cache.fallback
        fallback.add(current, 0, timeout=2 * self.duration)
        return fallback.incr(current), int(fallback.get(previous) or 0)

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
