"""Knowing, per process, whether a service we can live without answered lately.

Redis holds caches and carries Celery's wake-ups, and the site must keep taking
tickets while it is down. A `Breaker` remembers a failure for a few seconds so that,
during an outage, each request does not pay a connection timeout again before it
degrades: callers ask `available()` first, report `failed()` or `succeeded()` after,
and the outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("helpdesk.outage")


class Breaker:
    """Whether `name` may be tried now; shared by every thread of the process."""

    def __init__(self, name: str, *, retry_after: float = 5.0) -> None:
        self.name = name
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def available(self) -> bool:
        """False while a recent failure says trying again would only wait and fail."""
        return self._down_since is None or time.monotonic() >= self._retry_at

    def failed(self, error: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
                logger.warning(
                    "%s is unreachable (%s: %s); degrading until it answers again.",
                    self.name,
                    type(error).__name__,
                    error,
                )
            self._retry_at = now + self.retry_after

    def succeeded(self) -> bool:
        """Record an answer; True when it ends an outage this process saw."""
        if self._down_since is None:
            return False
        with self._lock:
            if self._down_since is None:
                return False
            down_for = time.monotonic() - self._down_since
            self._down_since = None
        logger.warning("%s answers again after %.0f s.", self.name, down_for)
        return True

    def reset(self) -> None:
        """Forget any failure (tests that restart a service use this)."""
        with self._lock:
            self._down_since = None
            self._retry_at = 0.0
