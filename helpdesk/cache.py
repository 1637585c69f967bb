"""The cache: Redis while it answers, a PostgreSQL table while it does not.

Caches, rate-limit counters and presence heartbeats live in Redis. When Redis stops,
the site must keep working (intake never depends on Redis), and the things kept in
the cache must keep their meaning: a login limit still counts, a "once a day" reply
is still sent once. So every operation that Redis cannot answer is done on a
database cache table instead (Django's `DatabaseCache` on `helpdesk_cache_fallback`),
and for a few seconds after a failure Redis is not even tried (`helpdesk.breaker`),
so an outage costs no connection timeout per call.

Coming back must not serve what the outage made stale: a value cached in Redis
before the outage, whose source changed meanwhile, would outlive the change. Every
key written or deleted during the outage is in the fallback table (a deletion as a
`failover-deleted:` marker), so the first time a process reaches Redis after an
outage, or for the first time at all, it deletes those keys from Redis and empties
the table (`_purge_outage_keys`); the values are rebuilt from the database on the
next read. Nothing else is needed: every value in a cache can be rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connection, transaction

from helpdesk.breaker import Breaker

logger = logging.getLogger("helpdesk.outage")

T = TypeVar("T")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
FALLBACK_TABLE = "helpdesk_cache_fallback"
DELETED_MARKER = "failover-deleted:"
# The fallback table is a cache for the length of an outage, not a store: enough
# rows for every active client's counters without Django culling live ones.
FALLBACK_MAX_ENTRIES = 200_000

# One per Redis location, shared by the threads of a process (Django makes a cache
# object per thread). `purge_pending` starts True: a process cannot know whether an
# outage happened before it started.
_breakers: dict[str, Breaker] = {}
_purge_pending: dict[str, bool] = {}


class RedisUnavailable(Exception):
    """Redis did not answer (or recently did not): the caller degrades."""


class ReusedClientRedisCache(RedisCache):
    """Django's RedisCache, building one redis.Redis per connection pool, not per call.

    Django builds a client for every cache call, and each build fills a table of
    response callbacks (about 50 µs); an API call that files a ticket makes six.
    A client is a thread-safe front of its pool, so one per pool serves every call.
    """

    class _Client(RedisCacheClient):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._clients: dict[int, redis.Redis] = {}

        def get_client(self, key=None, *, write=False) -> redis.Redis:
            index = self._get_connection_pool_index(write)
            client = self._clients.get(index)
            if client is None:
                client = self._clients[index] = super().get_client(key, write=write)
            return client

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = self._Client


class FailoverCache(BaseCache):
    """Django's RedisCache, falling back to a DatabaseCache while Redis is unreachable.

    OPTIONS are Django's Redis cache options (socket timeouts, above all), plus
    `RETRY_AFTER`: seconds after a failure before Redis is tried again.
    """

    def __init__(self, server: str, params: dict) -> None:
        super().__init__(params)
        options = dict(params.get("OPTIONS", {}))
        retry_after = float(options.pop("RETRY_AFTER", 5))
        self.location = server
        self.primary = ReusedClientRedisCache(server, {**params, "OPTIONS": options})
        self.fallback = DatabaseCache(
            FALLBACK_TABLE,
            {**params, "OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES}},
        )
        self.breaker = _breakers.setdefault(
            server, Breaker("Redis (cache)", retry_after=retry_after)
        )
        _purge_pending.setdefault(server, True)

    # -- the one path every operation takes ----------------------------------------------

    def _run(
        self,
        on_redis: Callable[[], T],
        on_database: Callable[[], T],
        *,
        deleted: Iterable[str] = (),
        version: int | None = None,
    ) -> T:
        if self.breaker.available():
            try:
                result = self._on_redis(on_redis)
            except REDIS_ERRORS:
                pass
            else:
                return result
        result = on_database()
        # A key written now is in the table already; a deleted one leaves a marker
        # there naming its Redis key.
        for key in deleted:
            self.fallback.set(f"{DELETED_MARKER}{self.make_key(key, version)}", 1, timeout=None)
        return result

    def _on_redis(self, work: Callable[[], T]) -> T:
        """`work()` against Redis, first dropping what an outage made stale; a
        failure is recorded on the breaker and raised."""
        try:
            if self.breaker.is_down or _purge_pending[self.location]:
                _purge_pending[self.location] = not self._purge_outage_keys()
            result = work()
        except REDIS_ERRORS as error:
            self.breaker.failed(error)
            raise
        self.breaker.succeeded()
        return result

    def _purge_outage_keys(self) -> bool:
        """Delete from Redis every key the fallback table says changed while Redis was
        unreachable, then those rows; True when done. Redis errors are raised (Redis
        is still away); database errors only leave it for the next call."""
        try:
            # A savepoint inside the caller's transaction: a failure here must not
            # break the request's own work.
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT cache_key FROM {FALLBACK_TABLE} LIMIT 10000")  # noqa: S608
                    stored = [row[0] for row in cursor.fetchall()]
                if not stored:
                    return True
                marker = f":{DELETED_MARKER}"
                redis_keys = {key.split(marker, 1)[-1] for key in stored}
                self.primary._cache.get_client(write=True).delete(*redis_keys)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"DELETE FROM {FALLBACK_TABLE} WHERE cache_key = ANY(%s)",  # noqa: S608
                        [stored],
                    )
        except REDIS_ERRORS:
            raise
        except Exception as error:  # best effort: tried again on the next call
            logger.info("Could not yet drop the cache keys of an outage: %s", error)
            return False
        logger.warning(
            "Dropped %d cache keys that changed while Redis was unreachable.", len(redis_keys)
        )
        return len(stored) < 10000

    def redis_client(self) -> redis.Redis:
        """The Redis client, for work the cache API cannot express (one pipeline)."""
        return self.primary._cache.get_client(write=True)

    def run_on_redis(self, work: Callable[[redis.Redis], T]) -> T:
        """`work(client)` on Redis; RedisUnavailable while it is (or lately was) down."""
        if not self.breaker.available():
            raise RedisUnavailable(self.location)
        try:
            return self._on_redis(lambda: work(self.redis_client()))
        except REDIS_ERRORS as error:
            raise RedisUnavailable(self.location) from error

    # -- Django's cache API ----------------------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._run(
            lambda: self.primary.add(key, value, timeout, version),
            lambda: self.fallback.add(key, value, timeout, version),
        )

    def get(self, key, default=None, version=None) -> Any:
        return self._run(
            lambda: self.primary.get(key, default, version),
            lambda: self.fallback.get(key, default, version),
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        return self._run(
            lambda: self.primary.set(key, value, timeout, version),
            lambda: self.fallback.set(key, value, timeout, version),
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._run(
            lambda: self.primary.touch(key, timeout, version),
            lambda: self.fallback.touch(key, timeout, version),
        )

    def delete(self, key, version=None) -> bool:
        return self._run(
            lambda: self.primary.delete(key, version),
            lambda: self.fallback.delete(key, version),
            deleted=[key],
            version=version,
        )

    def get_many(self, keys, version=None) -> dict:
        keys = list(keys)
        return self._run(
            lambda: self.primary.get_many(keys, version),
            lambda: self.fallback.get_many(keys, version),
        )

    def has_key(self, key, version=None) -> bool:
        return self._run(
            lambda: self.primary.has_key(key, version),
            lambda: self.fallback.has_key(key, version),
        )

    def incr(self, key, delta=1, version=None) -> int:
        return self._run(
            lambda: self.primary.incr(key, delta, version),
            lambda: self.fallback.incr(key, delta, version),
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
        return self._run(
            lambda: self.primary.set_many(data, timeout, version),
            lambda: self.fallback.set_many(data, timeout, version),
        )

    def delete_many(self, keys, version=None) -> None:
        keys = list(keys)
        return self._run(
            lambda: self.primary.delete_many(keys, version),
            lambda: self.fallback.delete_many(keys, version),
            deleted=keys,
            version=version,
        )

    def clear(self) -> None:
        self.fallback.clear()
        self._run(self.primary.clear, lambda: None)

    def close(self, **kwargs) -> None:
        self.primary.close(**kwargs)
        self.fallback.close(**kwargs)


def forget_when_changed(
    forget: Callable[[int], None], models: Iterable[type], *, name: str, through: Iterable = ()
) -> None:
    """Drop a desk's cached value, `forget(tenant_id)`, whenever a row of `models` (or a
    link of the many-to-many `through` tables) is saved or deleted; and again after
    commit, as a reader that reloaded it meanwhile read the old rows.

    A row saved through a proxy model (the admin's Trigger for a Rule) signals as the
    proxy: the proxies of `models` are listened to as well."""
    from django.apps import apps
    from django.db.models.signals import m2m_changed, post_delete, post_save

    def changed(sender, instance, **kwargs) -> None:
        tenant_id = instance.tenant_id
        forget(tenant_id)
        transaction.on_commit(lambda: forget(tenant_id))

    models = list(models)
    models += [
        proxy
        for proxy in apps.get_models()
        if proxy._meta.proxy and proxy._meta.concrete_model in models and proxy not in models
    ]
    for model in models:
        label = model._meta.label
        post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"{name}-{label}")
        post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"{name}-del-{label}")
    for table in through:
        m2m_changed.connect(
            changed, sender=table, weak=False, dispatch_uid=f"{name}-{table._meta.label}"
        )
