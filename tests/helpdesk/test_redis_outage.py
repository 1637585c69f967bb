"""Intake never depends on Redis: with a real Redis stopped, nothing a customer sends
is refused or lost, and what it should cause happens once Redis is back.

Each test runs a Redis server of its own (tests/processes.py), used by this process's
cache and Celery publishing and by the worker and beat processes it starts, and stops
it as an operator would.
"""

import logging
import time
from datetime import timedelta

import pytest
import redis
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from helpdesk.models import OutboundEmail, OutboxJob
from helpdesk.outbox import outbox_sweep
from tests.api.helpers import send, token_client
from tests.helpdesk.factories import PASSWORD
from tests.processes import Beat, RedisServer, Worker, celery_on, sent_files, wait_for
from tests.tickets.factories import make_ticket
from tests.tickets.test_inbound import raw_mail
from tickets.models import Category, Priority, Ticket


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def cache_on(redis_server, settings):
    """The cache on the test's own Redis, tried again half a second after a failure."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "RETRY_AFTER": 0.5},
        }
    }
    return redis_server


def new_request(desk, subject: str) -> dict:
    """The help-center form's fields for a request about `subject`."""
    with desk.scope():
        category = Category.objects.get(name="Technical issue")
    return {
        "subject": subject,
        "body": "Is it saved?",
        "category": category.pk,
        "priority": Priority.MEDIUM,
    }


def outage_log(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "helpdesk.outage"]


def test_the_cache_works_on_the_database_while_redis_is_down_and_serves_nothing_stale_after(
    db, cache_on, caplog
):
    cache.set("plans", "before the outage")
    cache.set("doomed", "before the outage")
    cache_on.stop()
    with caplog.at_level(logging.INFO, logger="helpdesk.outage"):
        assert cache.get("plans") is None  # Redis's copy is out of reach, no error
        cache.set("plans", "during the outage")
        assert cache.get("plans") == "during the outage"
        assert cache.get_many(["plans", "nothing"]) == {"plans": "during the outage"}
        # "Once a day" and counters keep their meaning.
        assert cache.add("reply-once", 1) is True
        assert cache.add("reply-once", 1) is False
        cache.add("attempts", 0)
        assert [cache.incr("attempts") for _ in range(3)] == [1, 2, 3]
        cache.delete("doomed")
        assert cache.get("doomed") is None
    assert len([m for m in outage_log(caplog) if "unreachable" in m]) == 1

    cache_on.start()
    time.sleep(0.6)  # past the breaker's retry time
    with caplog.at_level(logging.INFO, logger="helpdesk.outage"):
        # Redis still holds the values of before the outage: neither is served, as
        # both changed while it was away; their sources are read again instead.
        assert cache.get("plans") is None
        assert cache.get("doomed") is None
        assert cache.get("reply-once") is None
    assert any("answers again" in m for m in outage_log(caplog))
    # Back on Redis: values live there again, and the fallback table is empty.
    cache.set("plans", "after")
    assert cache_on.client().exists("helpdesk:1:plans") == 1
    assert cache.fallback.get("plans") is None


def test_cache_calls_share_one_redis_client_through_a_restart(db, cache_on, monkeypatch):
    # Django's Redis cache built a client for every call (about 50 µs each, six on an
    # API call that files a ticket); one per connection pool serves them all.
    built = []
    build = redis.Redis.__init__
    monkeypatch.setattr(
        redis.Redis,
        "__init__",
        lambda self, *a, **kw: (built.append(self), build(self, *a, **kw))[1],
    )
    for n in range(5):
        cache.set(f"key-{n}", n)
        assert cache.get(f"key-{n}") == n
    assert cache.get_many(["key-1", "key-2"]) == {"key-1": 1, "key-2": 2}
    assert len(built) == 1

    cache_on.stop()
    assert cache.get("key-1") is None  # on the fallback table meanwhile
    cache_on.start()  # (which builds a client of its own to see Redis answer)
    time.sleep(0.6)  # past the breaker's retry time
    built.clear()
    cache.set("after", "the restart")
    assert cache.get("after") == "the restart"
    assert built == []  # the same client, on a new connection
    assert cache_on.client().exists("helpdesk:1:after") == 1  # on Redis, not the table


def test_api_rate_limits_hold_while_redis_is_down(acme, cache_on, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    client = acme.client(acme.customer)
    assert client.get("/api/v1/categories/").status_code == 200
    cache_on.stop()
    statuses = [client.get("/api/v1/categories/").status_code for _ in range(4)]
    # Counting starts afresh in the database: three allowed, then refused.
    assert statuses == [200, 200, 200, 429]


def test_login_works_and_failed_logins_still_count_while_redis_is_down(acme, cache_on):
    cache_on.stop()
    client = Client(HTTP_HOST=acme.host)
    login = {"login": acme.customer.email, "password": PASSWORD}
    assert client.post("/accounts/login/", login).status_code == 302
    assert client.get("/tickets/").status_code == 200  # the session is in PostgreSQL

    attacker = Client(HTTP_HOST=acme.host)
    wrong = {"login": acme.agent.email, "password": "guess"}
    for _ in range(5):
        attacker.post("/accounts/login/", wrong)
    right = attacker.post("/accounts/login/", {**wrong, "password": PASSWORD})
    assert right.status_code in (200, 429)  # refused: too many failed attempts
    assert "_auth_user_id" not in attacker.session


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_refuses_at_commit_fails_no_request_and_the_sweep_delivers(
    acme, settings, caplog
):
    settings.OUTBOX_WAKE_UP_GRACE = 30
    nobody_listens = RedisServer.closed_port_url()
    api = token_client(acme, acme.customer)
    with celery_on(nobody_listens), caplog.at_level(logging.WARNING, logger="helpdesk.outage"):
        form = acme.client(acme.customer).post(
            "/tickets/new/", new_request(acme, "Form, broker down")
        )
        created = send(
            api, "post", "/api/v1/tickets/", {"subject": "API, broker down", "body": "?"}
        )
    # Committed, answered as usual: the customer has no reason to file it again.
    assert form.status_code == 302 and created.status_code == 201
    assert any("unreachable" in m for m in outage_log(caplog))
    with acme.scope():
        assert Ticket.objects.count() == 2
        assert OutboxJob.objects.count() == 2  # each ticket's emails, waiting
    assert mail.outbox == []
    # The beat's sweep, once the wake-ups' grace is over, does what they could not.
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        assert outbox_sweep()["jobs"] == 2
        outbox_sweep()  # the emails those jobs queued were woken already: nothing more
    acknowledgements = [m for m in mail.outbox if m.to == [acme.customer.email]]
    assert sorted(m.subject for m in acknowledgements) == [
        "[#1] We received your request: Form, broker down",
        "[#2] We received your request: API, broker down",
    ]
    with acme.scope():
        assert not OutboxJob.objects.exists()
        assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_intake_while_redis_is_down_is_saved_and_acknowledged_when_it_is_back(
    acme, cache_on, settings, tmp_path, caplog
):
    """Form, API, inbound mail and an agent's reply, with the real Redis stopped; then
    Redis starts again and the real worker and beat send every email once, untouched."""
    settings.OUTBOX_WAKE_UP_GRACE = 1
    outbox = tmp_path / "sent"
    worker = Worker(outbox, broker_url=cache_on.url)
    beat = Beat(
        outbox, tmp_path / "beat-schedule", broker_url=cache_on.url, OUTBOX_SWEEP_SECONDS="2"
    )

    def delivered() -> bool:
        with acme.scope():
            return not (
                OutboxJob.objects.exists()
                or OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()
            )

    try:
        with celery_on(cache_on.url):
            answered = make_ticket(acme, subject="Asked before the outage")
            wait_for(delivered, message="the worker to send the first ticket's emails")
            before = len(sent_files(outbox))
            assert before == 3  # its acknowledgement, and a notice to each staff member
            cache_on.stop()

            customer = acme.client(acme.customer)
            form = customer.post("/tickets/new/", new_request(acme, "Filed in the form"))
            api = send(
                token_client(acme, acme.customer),
                "post",
                "/api/v1/tickets/",
                {"subject": "Filed through the API", "body": "Redis is down."},
            )
            inbound = Client(HTTP_HOST=acme.host).post(
                "/inbound/email/",
                raw_mail(acme.customer.email, "Redis is down.", subject="Sent by email"),
                content_type="message/rfc822",
                HTTP_X_INBOUND_SECRET=acme.tenant.inbound_email_secret,
            )
            reply = acme.client(acme.agent).post(
                f"/agent/tickets/{answered.number}/respond/", {"body": "Answered in the outage."}
            )
            assert (form.status_code, api.status_code, inbound.status_code) == (302, 201, 200)
            assert reply.status_code == 302
            with acme.scope():
                assert Ticket.objects.count() == 4
                assert OutboxJob.objects.count() == 4
            time.sleep(3)
            assert len(sent_files(outbox)) == before  # nothing can go out yet

            cache_on.start()  # Redis is back; nobody does anything else

            def delivered():
                with acme.scope():
                    return (
                        not OutboxJob.objects.exists()
                        and not OutboundEmail.objects.filter(status="queued").exists()
                    )

            wait_for(delivered, timeout=90, message="the outbox to drain after the outage")
    finally:
        beat.stop()
        worker.stop()
    to_customer = [
        path.read_text() for path in sent_files(outbox) if acme.customer.email in path.read_text()
    ]
    for subject in (
        "We received your request: Filed in the form",
        "We received your request: Filed through the API",
        "We received your request: Sent by email",
        f"[#{answered.number}] Re: Asked before the outage",
    ):
        assert sum(subject in text for text in to_customer) == 1, subject
    with acme.scope():
        assert set(OutboundEmail.objects.values_list("status", flat=True)) == {"sent"}
