"""Cached reads of small lists that pages show on every request but that rarely change
(a tenant's categories, plans, staff and macros).

A cached value is stored together with the versions of the sources it was built
from; a change to a source gives it a new version, so the value is rebuilt on the
next read. Reading costs one round trip to the cache (the value and its sources'
versions in one `get_many`), never a database query while nothing has changed.

Invalidation, `source_changed(source)`, is called by signal receivers on every
save and delete of the source's rows:

1. A new version is set at once, so the writer's own transaction (and a test
   running inside one) reads the change straight away.
2. A new version is set again once the transaction commits. A reader that built
   the value from the rows as they were before the commit stored it under a
   version that no longer exists, so it is never served.

Versions are random tokens rather than counters: a version evicted from the cache
comes back as a new token, never as an old one that stale values still carry.
Values also expire after VALUE_TIMEOUT, which bounds how long a write that sends
no signals (`QuerySet.update`, raw SQL) can go unnoticed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

VALUE_TIMEOUT = 10 * 60


def _version_key(source: str) -> str:
    return f"read_cache:version:{source}"


def _new_version() -> str:
    return uuid.uuid4().hex


def tenant_source(tenant_id: int, name: str) -> str:
    """The name of a source that belongs to one tenant, e.g. its categories."""
    return f"tenant:{tenant_id}:{name}"


def cached_read(key: str, *, sources: Iterable[str], build: Callable[[], T]) -> T:
    """The value cached under `key` if none of `sources` changed since it was built,
    else `build()` (which is then cached)."""
    version_keys = [_version_key(source) for source in sources]
    value_key = f"read_cache:value:{key}"
    found = cache.get_many([value_key, *version_keys])
    versions = []
    for version_key in version_keys:
        version = found.get(version_key)
        if version is None:
            version = _new_version()
            if not cache.add(version_key, version, timeout=None):
                version = cache.get(version_key) or version  # another process was first
        versions.append(version)
    stored = found.get(value_key)
    if stored is not None and stored[0] == versions:
        return stored[1]
    value = build()
    cache.set(value_key, (versions, value), timeout=VALUE_TIMEOUT)
    return value


def source_changed(source: str) -> None:
    """Make every value built from `source` stale, now and again when the transaction commits."""
    key = _version_key(source)

    def bump() -> None:
        cache.set(key, _new_version(), timeout=None)

    bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(bump)


__all__ = ["cached_read", "source_changed", "tenant_source"]
