"""Independent read-only work run side by side, each piece on its own database
connection.

The insights dashboard's panels (volume, speed, SLA, ...) each spend most of their
time waiting for PostgreSQL. Run one after another, they keep one CPU busy; run side
by side, their queries overlap on every CPU the database has.

- A small pool of threads per process (SIDE_BY_SIDE_THREADS), made on first use, so
  after gunicorn has forked its workers. Each thread treats its database connection
  like a request thread does: `close_old_connections()` before and after each piece
  gives it back to the process's connection pool (DB_POOL, so an idle thread holds
  none), or, without the pool, keeps it for CONN_MAX_AGE with the health checks.
- Each piece runs with the caller's tenant scope (django-scopes keeps it in a context
  variable, copied along), language and time zone (asgiref's locals stay in their
  thread, so these two are set again). Nothing else of the request goes along: the
  URL conf is the default one there (the dashboard's pieces build no URLs; the page
  around them does).
- Inside a transaction (a caller's atomic block, or a test) everything runs in order
  on the caller's connection instead: another connection would not see the
  transaction's uncommitted rows, nor share its snapshot.

Pieces must only read: each commits on its own, so writes would not be atomic
with the caller's.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.utils import timezone, translation

K = TypeVar("K")
V = TypeVar("V")

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()
_wrappers: set = set()  # the pool threads' connection wrappers, for stop()
# Set while a piece runs: a piece that asks for pieces of its own runs them in order,
# rather than wait for pool threads that may all be waiting like it.
_in_piece: contextvars.ContextVar[bool] = contextvars.ContextVar("in_piece", default=False)


def _threads() -> int:
    return getattr(settings, "SIDE_BY_SIDE_THREADS", 0)


def _get_pool() -> ThreadPoolExecutor:
    """This process's pool (a forked child makes its own: threads do not survive fork)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(_threads(), thread_name_prefix="side-by-side")
            _pool_pid = os.getpid()
        return _pool


def _piece(call: Callable[[], V], language: str | None, zone) -> V:
    _in_piece.set(True)  # in this piece's own copy of the caller's context
    close_old_connections()
    with translation.override(language), timezone.override(zone):
        try:
            return call()
        finally:
            _wrappers.update(connections.all(initialized_only=True))
            close_old_connections()


def run_side_by_side(calls: Mapping[K, Callable[[], V]]) -> dict[K, V]:
    """{key: call()} for each call, run side by side when they can be. The first error
    raised by a call is raised here, after every call has finished."""
    if _threads() < 2 or len(calls) < 2 or connection.in_atomic_block or _in_piece.get():
        return {key: call() for key, call in calls.items()}
    language, zone = translation.get_language(), timezone.get_current_timezone()
    pool = _get_pool()
    futures = {
        key: pool.submit(contextvars.copy_context().run, _piece, call, language, zone)
        for key, call in calls.items()
    }
    # Wait for all before raising, so no piece is still running when the caller goes on.
    errors = [future.exception() for future in futures.values()]
    for error in errors:
        if error is not None:
            raise error
    return {key: future.result() for key, future in futures.items()}


def stop() -> None:
    """Stop this process's pool and close its threads' connections: a test database
    cannot be dropped while they are open."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)
    # Their threads have ended: nothing else can be using these connections now.
    for wrapper in list(_wrappers):
        if wrapper.connection is not None:
            wrapper.connection.close()
            wrapper.connection = None
    _wrappers.clear()
