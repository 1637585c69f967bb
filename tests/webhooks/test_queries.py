"""What webhooks cost a ticket's creation: nothing for a desk without endpoints once the
cache knows it, and a constant few queries per subscribed endpoint."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint

pytestmark = pytest.mark.django_db


def queries_to_create(desk) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        make_ticket(desk)
    return [q["sql"] for q in captured.captured_queries]


def test_a_desk_without_endpoints_reads_nothing_of_webhooks_once_the_cache_knows(acme, globex):
    make_endpoint(globex, "https://93.184.215.14/hook")  # another desk's
    make_ticket(acme)  # the cache learns that Acme has none
    for sql in queries_to_create(acme):
        assert "webhooks_" not in sql and "cache_fallback" not in sql, sql


def test_each_subscribed_endpoint_adds_a_constant_few_queries(acme):
    make_ticket(acme)
    without = len(queries_to_create(acme))
    make_endpoint(acme, "https://93.184.215.14/one")
    make_ticket(acme)  # the cache learns the endpoint
    one = [len(queries_to_create(acme)) for _ in range(3)]
    make_endpoint(acme, "https://93.184.215.14/two")
    make_ticket(acme)
    two = len(queries_to_create(acme))

    assert one[0] == one[1] == one[2]  # however many deliveries there are already
    assert one[0] - without <= 5  # the organization's plan; a savepoint and an insert
    assert two - one[0] <= 3  # a savepoint and an insert per endpoint
    assert len(deliveries(acme)) == 4 + 2 * 2
