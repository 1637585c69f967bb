"""Failed attempts are retried with back-off, each one a line of the log; an endpoint
that keeps failing is turned off and the desk's admins are told; turned on again, it
gets what waited."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from helpdesk.devstack import _free_port
from helpdesk.models import OutboundEmail
from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, later, make_endpoint, sweep
from tests.webhooks.receiver import Answer
from webhooks.models import WebhookAttempt, WebhookEndpoint
from webhooks.services import MAX_ATTEMPTS, backoff

pytestmark = pytest.mark.django_db


def attempts_of(desk, delivery) -> list[tuple[int | None, str]]:
    with desk.scope():
        return [
            (a.response_status, a.error)
            for a in WebhookAttempt.objects.filter(delivery_id=delivery.pk).order_by("number")
        ]


def endpoint_now(desk, endpoint) -> WebhookEndpoint:
    with desk.scope():
        return WebhookEndpoint.objects.get(pk=endpoint.pk)


def test_server_errors_are_retried_after_one_then_five_minutes_until_one_succeeds(
    acme, receiver, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(acme, receiver.url())
    receiver.answer(500, Answer(status=503, body=b"busy"))
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    [delivery] = deliveries(acme)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert abs(delivery.next_attempt_at - (timezone.now() + timedelta(minutes=1))) < timedelta(
        seconds=10
    )
    assert sweep(django_capture_on_commit_callbacks)["due"] == 0  # not before its time

    with later(1.5):
        sweep(django_capture_on_commit_callbacks)
    [delivery] = deliveries(acme)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 2, 503)
    assert delivery.response_excerpt == "busy"
    with later(4):
        assert sweep(django_capture_on_commit_callbacks)["due"] == 0
    with later(1.5 + 5.5):
        sweep(django_capture_on_commit_callbacks)

    [delivery] = deliveries(acme)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 3, 200)
    assert delivery.delivered_at is not None
    assert [status for status, _error in attempts_of(acme, delivery)] == [500, 503, 200]
    with acme.scope():
        assert all(a.response_ms is not None for a in WebhookAttempt.objects.all())
    # One delivery: the same id and the same bytes on every attempt.
    assert len({r.header("X-Helpdesk-Delivery") for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    state = endpoint_now(acme, endpoint)
    assert state.consecutive_failures == 0 and state.last_success_at is not None


def test_a_receiver_too_slow_to_answer_is_a_failed_attempt(
    acme, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT = 1
    make_endpoint(acme, receiver.url())
    receiver.answer(Answer(delay=3))
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    [delivery] = deliveries(acme)
    assert delivery.status == "pending" and delivery.response_status is None
    assert delivery.error == "No complete answer within 1 seconds."
    assert 900 <= delivery.response_ms < 2500
    with later(2):
        sweep(django_capture_on_commit_callbacks)
    assert deliveries(acme)[0].status == "succeeded"


def test_a_refused_connection_is_a_failed_attempt(
    acme, receiver, django_capture_on_commit_callbacks
):
    make_endpoint(acme, f"http://127.0.0.1:{_free_port()}/nobody")
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    [delivery] = deliveries(acme)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.error.startswith("ConnectionRefusedError")


def test_after_every_attempt_it_fails_and_send_again_posts_it_with_the_same_id(
    acme, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 100
    make_endpoint(acme, receiver.url())
    receiver.default = Answer(status=502)
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    waited = 0.0
    for attempt in range(1, MAX_ATTEMPTS):
        waited += backoff(attempt).total_seconds() / 60 + 0.5
        with later(waited):
            sweep(django_capture_on_commit_callbacks)
    [delivery] = deliveries(acme)
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert waited / 60 < 24  # about a day

    receiver.default = Answer(status=204, body=b"")
    client = acme.client(acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/webhooks/webhookdelivery/",
            {"action": "send_again", "_selected_action": [delivery.pk]},
        )
    [delivery] = deliveries(acme)
    assert (delivery.status, delivery.response_status) == ("succeeded", 204)
    assert len({r.header("X-Helpdesk-Delivery") for r in receiver.requests}) == 1


def test_an_endpoint_failing_again_and_again_is_turned_off_its_admins_told_and_on_again(
    acme, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    endpoint = make_endpoint(acme, receiver.url(), name="Ops channel")
    receiver.default = Answer(status=500, body=b"down")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            make_ticket(acme)
    state = endpoint_now(acme, endpoint)
    assert state.is_active is False and state.disabled_at is not None
    assert state.consecutive_failures == 3
    assert state.disabled_reason == "3 failed attempts in a row; the last: HTTP status 500"

    # Each active admin is emailed once, nobody else.
    with acme.scope():
        notices = list(OutboundEmail.objects.filter(subject__contains="Ops channel"))
    assert [n.to for n in notices] == [[acme.admin.email]]
    [sent] = [m for m in mail.outbox if "Ops channel" in m.subject]
    assert sent.subject == "Webhook “Ops channel” was turned off after repeated failures"
    assert "failed 3 times in a row" in sent.body
    assert f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/" in sent.body
    assert "/hook" not in sent.body  # the host only: a chat tool's key may be in the path

    # Turned off: its deliveries wait and are not posted; new events are not queued.
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(acme)
    with later(30):
        sweep(django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 3
    assert [d.status for d in deliveries(acme)] == ["pending"] * 3

    # An admin turns it on again in the admin: the count restarts, what waited is sent.
    receiver.default = Answer(status=200)
    response = acme.client(acme.admin).post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {
            "name": "Ops channel",
            "url": receiver.url(),
            "format": "json",
            "events": ["ticket.created"],
            "is_active": "on",
            "chat_secret": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    state = endpoint_now(acme, endpoint)
    assert state.is_active and state.consecutive_failures == 0 and state.disabled_at is None
    sweep(django_capture_on_commit_callbacks)
    assert [d.status for d in deliveries(acme)] == ["succeeded"] * 3
    assert len(receiver.requests) == 3 + 3
