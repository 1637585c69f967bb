"""Every queue view, in every order, is read from an index in that order (tickets/models.py).

At a million tickets a page that has to sort its whole view took 0.4 to 1.3 s ("Oldest
first" of the open tickets walked the oldest tickets of the desk, which are closed). The
size of a desk cannot be tested here, but the shape of each plan can: with sorting and
whole-table reads made as costly as PostgreSQL allows, each page's plan must still be an
ordered index walk that stops after a page (no Sort over the view), and a view of the
unsolved tickets must walk an index holding only them (else it skips every closed one).
"""

import json

import pytest
from django.db import connection, transaction

from helpdesk.models import Membership
from tests.tickets.factories import make_ticket
from tickets.selectors import (
    PAGE_SIZE,
    QUEUE_PAGE_RELATED,
    QUEUE_SORTS,
    QUEUE_VIEWS,
    QueueFilters,
    queue,
)

pytestmark = pytest.mark.django_db

UNSOLVED_VIEWS = {"open", "mine", "unassigned", "groups"}
# Every view in every order, listing and searching ("best match" orders searches only).
PAGES = [
    pytest.param(view, sort, q, id=f"{view}-{sort}-{'search' if q else 'queue'}")
    for view in QUEUE_VIEWS
    for sort in [*QUEUE_SORTS, "relevance"]
    for q in ("", "export")
    if q or sort != "relevance"
]


def plan_of(queryset) -> dict:
    """The plan PostgreSQL picks for a page of `queryset` when sorting, sequential and
    bitmap reads are all but forbidden: what it would do on a large desk."""
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_sort", "enable_seqscan", "enable_bitmapscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        return json.loads(queryset[: PAGE_SIZE + 1].explain(format="json"))[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def partial_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = 'tickets_ticket'::regclass AND indpred IS NOT NULL"
        )
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.parametrize(("view", "sort", "q"), PAGES)
def test_every_page_is_an_ordered_index_walk(acme, view, sort, q):
    make_ticket(acme, subject="Export fails", body="The export stops.")
    with acme.scope():
        member = Membership.objects.get(tenant=acme.tenant, user=acme.agent)
        page = queue(
            QueueFilters(view=view, sort=sort, q=q), agent=acme.agent, member=member
        ).select_related(*QUEUE_PAGE_RELATED)
        plan = plan_of(page)
    everything = list(nodes(plan))
    # A sort is only allowed over a bounded set: best match ranks a pool of the latest
    # matches (tickets/search.py), itself read in order from an index.
    unbounded_sorts = [
        node
        for node in everything
        if node["Node Type"] == "Sort"
        and not any(below["Node Type"] == "Limit" for below in nodes(node))
    ]
    assert not unbounded_sorts, json.dumps(plan, indent=1)
    walk = ordered_walk(plan)
    assert walk["Relation Name"] == "tickets_ticket", json.dumps(plan, indent=1)
    if view in UNSOLVED_VIEWS:
        assert walk["Index Name"] in partial_indexes(), json.dumps(plan, indent=1)


def ordered_walk(plan: dict) -> dict:
    """The index read that gives the page its order: under the innermost limit (a best
    match's pool, or the page itself), the outer side of every join down to a scan."""
    node = [node for node in nodes(plan) if node["Node Type"] == "Limit"][-1]
    while node["Node Type"] not in {"Index Scan", "Index Only Scan"}:
        assert node.get("Plans"), json.dumps(plan, indent=1)
        node = node["Plans"][0]
    return node
