"""helpdesk.queries.without_parallel_workers: a search's page runs its queries without
PostgreSQL's parallel workers (their start costs more than a query that stops early),
and the setting ends with the block: other requests on the same connection keep them."""

import pytest
from django.db import connection

from helpdesk.queries import without_parallel_workers


def _workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_only_the_block_runs_without_parallel_workers():
    before = _workers()
    assert before != "0"
    with without_parallel_workers():
        assert _workers() == "0"
    assert _workers() == before
    with pytest.raises(ZeroDivisionError), without_parallel_workers():
        1 / 0  # noqa: B018 - a failing query's block
    assert _workers() == before
