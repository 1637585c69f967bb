"""Query helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def unique_match(queryset: QuerySet[M]) -> M | None:
    """The row that a lookup by a unique key matches, or None.

    Like `.first()` without its ORDER BY, which a single row does not need and which
    the ORM takes about 0.2 ms to compile: noticeable on paths every API call takes.
    """
    return next(iter(queryset[:1]), None)


@contextmanager
def without_parallel_workers() -> Iterator[None]:
    """Run the block's queries on this connection alone, in a transaction of their own.

    For a query that stops early (a LIMIT over an index walked in order, as a search's
    latest matches are), PostgreSQL may still plan two parallel workers, whose start
    costs more than the work: a common word's search page at a million tickets took
    30 ms with them and 18 ms without (bench, section scale).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield
