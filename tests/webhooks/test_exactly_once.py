"""Once per event and endpoint from our side, at least once on the wire, with real
`celery worker` processes on the real broker (tests/processes.py): a worker SIGKILLed
while its request is in flight, and a broker that is down when the change commits."""

import os
import signal
import time
from collections import defaultdict
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.processes import RedisServer, Worker, celery_on, wait_for
from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint
from webhooks.services import SENDING_LEASE, webhook_sweep

pytestmark = pytest.mark.django_db(transaction=True)


def all_succeeded(desk, count: int) -> bool:
    found = deliveries(desk)
    return len(found) == count and all(d.status == "succeeded" for d in found)


def test_a_worker_killed_mid_request_leaves_one_delivery_each_posted_again_with_its_id(
    acme, queue, receiver, tmp_path
):
    make_endpoint(acme, receiver.url(), events=["ticket.created"])
    receiver.stall()  # requests are recorded, then left unanswered
    outbox = tmp_path / "outbox"
    dying = Worker(outbox, WEBHOOK_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8")
    try:
        tickets = [make_ticket(acme, subject=f"Request {n}") for n in range(3)]  # committed
        wait_for(lambda: receiver.requests, message="a delivery in flight")
        os.kill(dying.process.pid, signal.SIGKILL)
        assert dying.wait_killed() == -signal.SIGKILL
    finally:
        dying.stop()
    receiver.release()
    in_flight = [d for d in deliveries(acme) if d.status == "sending"]
    assert len(in_flight) == 1  # claimed, posted, never recorded

    second = Worker(outbox, visibility_timeout=1, WEBHOOK_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8")
    try:
        # Redis hands the dead worker's task back: it finds the delivery claimed, and
        # leaves it. Beat's sweep, once the claim is older than any attempt can last,
        # posts it again.
        time.sleep(3)
        assert [d.pk for d in deliveries(acme) if d.status == "sending"] == [in_flight[0].pk]
        with time_machine.travel(timezone.now() + SENDING_LEASE + timedelta(seconds=5)):
            assert webhook_sweep()["orphaned"] == 1
        wait_for(lambda: all_succeeded(acme, 3), message="every delivery")
        time.sleep(2)  # let any duplicate run through
    finally:
        second.stop()

    rows = deliveries(acme)
    assert len(rows) == 3  # one per (endpoint, event)
    assert len({row.event_id for row in rows}) == 3
    assert all(row.status == "succeeded" for row in rows)
    requests_by_event = defaultdict(list)
    for request in receiver.requests:
        requests_by_event[request.json()["id"]].append(request.header("X-Helpdesk-Delivery"))
    assert len(requests_by_event) == 3
    # The one in flight at the kill was posted twice, the others once; each event's
    # requests carry one delivery id, by which the receiver recognises the repeat.
    assert sorted(len(ids) for ids in requests_by_event.values()) == [1, 1, 2]
    assert all(len(set(ids)) == 1 for ids in requests_by_event.values())
    by_id = {str(row.delivery_id): row for row in rows}
    assert by_id[in_flight[0].delivery_id.__str__()].attempts == 2
    subjects = sorted(r.json()["data"]["ticket"]["subject"] for r in receiver.requests)
    assert set(subjects) == {t.subject for t in tickets}


def test_with_redis_stopped_at_commit_the_ticket_is_saved_and_the_sweep_delivers(
    acme, receiver, redis_of_its_own, settings
):
    settings.OUTBOX_WAKE_UP_GRACE = 30
    make_endpoint(acme, receiver.url(), events=["ticket.created"])
    redis_of_its_own.stop()  # the cache (endpoints' lookup) and the broker (wake-ups) are away
    with celery_on(redis_of_its_own.url):
        ticket = make_ticket(acme, subject="Filed while Redis is down")
    assert receiver.requests == []
    [delivery] = deliveries(acme)
    assert delivery.status == "pending"
    # Beat's sweep, once the wake-up's grace is over, does what the wake-up could not.
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        assert webhook_sweep()["due"] == 1
    [request] = receiver.requests
    assert request.json()["data"]["ticket"]["subject"] == ticket.subject
    assert deliveries(acme)[0].status == "succeeded"


def test_a_broker_that_refuses_wake_ups_costs_the_request_nothing(acme, receiver):
    make_endpoint(acme, receiver.url(), events=["ticket.created"])
    with celery_on(RedisServer.closed_port_url()):
        make_ticket(acme)
    assert receiver.requests == []
    assert [d.status for d in deliveries(acme)] == ["pending"]
