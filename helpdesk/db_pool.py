"""The database connection pool (DB_POOL) across fork.

Each process keeps its pool in a class attribute of Django's PostgreSQL backend. A
process forked after it used the database (multiprocessing, a test's sweepers) would
inherit that pool: connections whose sockets it shares with its parent, and worker
threads that do not exist in it. Two processes talking on one socket corrupt both
conversations, and a wait for the missing workers never ends. So a forked child
forgets what it inherited, without closing anything (that would close the parent's
connections too), and opens its own. psycopg does not close connections made in
another process when they are garbage-collected.

gunicorn and Celery fork before the app touches the database, and Celery also drops
the pool in each prefork child; this covers every other fork.
"""

import os

_installed = False


def forget_inherited_connections() -> None:
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    DatabaseWrapper._connection_pools.clear()
    for wrapper in connections.all(initialized_only=True):
        wrapper.connection = None  # the parent's; this process opens its own


def install() -> None:
    global _installed
    if not _installed:
        os.register_at_fork(after_in_child=forget_inherited_connections)
        _installed = True
