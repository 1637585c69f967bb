"""A real Celery worker on the real Redis broker delivers queued email."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from helpdesk.celery import app as celery_app
from helpdesk.models import OutboundEmail
from helpdesk.outbox import backoff, outbox_sweep
from helpdesk.services import email_deliver, email_queue


def _message(subject):
    message = EmailMultiAlternatives(
        subject, "Plain body", "desk@acme.example", ["cu@acme.example"]
    )
    message.attach_alternative("<p>HTML body</p>", "text/html")
    return message


def test_worker_delivers_an_email_queued_after_commit(acme, worker):
    with transaction.atomic(), acme.scope():
        outbound = email_queue(tenant=acme.tenant, message=_message("Welcome aboard"))
        # Nothing is queued for the broker until the transaction commits.
        assert mail.outbox == []

    from helpdesk.tasks import deliver_email

    # The task the commit queued runs on the worker; wait for the row to say so.
    for _ in range(100):
        with acme.scope():
            outbound.refresh_from_db()
        if outbound.status == OutboundEmail.Status.SENT:
            break
        time.sleep(0.05)
    assert outbound.status == OutboundEmail.Status.SENT
    assert [m.subject for m in mail.outbox] == ["Welcome aboard"]
    assert mail.outbox[0].alternatives[0].content == "<p>HTML body</p>"

    # A duplicate task for the same email is a no-op.
    assert deliver_email.delay(acme.tenant.id, outbound.id).get(timeout=10) is False
    assert len(mail.outbox) == 1


def test_rolled_back_transaction_queues_nothing(acme, worker):
    with pytest.raises(RuntimeError), transaction.atomic(), acme.scope():
        email_queue(tenant=acme.tenant, message=_message("Never"))
        raise RuntimeError("the request failed")
    with acme.scope():
        assert not OutboundEmail.objects.exists()
    assert mail.outbox == []


def test_delivery_is_claimed_once(acme):
    with acme.scope():
        outbound = email_queue(tenant=acme.tenant, message=_message("Once"))
        assert email_deliver(email_id=outbound.id) is True
        assert email_deliver(email_id=outbound.id) is False
        outbound.refresh_from_db()
    assert outbound.status == OutboundEmail.Status.SENT and outbound.sent_at
    assert len(mail.outbox) == 1


class RefusingSMTP:
    """An SMTP server that is down: the delivery fails like smtplib would."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp.example:25 refused the connection")


def test_a_failed_send_is_retried_by_the_sweep_with_backoff_then_shown_as_failed(acme, settings):
    settings.EMAIL_BACKEND = "tests.helpdesk.test_celery.RefusingSMTP"
    from helpdesk.services import EMAIL_MAX_ATTEMPTS

    with acme.scope():
        outbound = email_queue(tenant=acme.tenant, message=_message("Will fail"))
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        for attempt in range(1, EMAIL_MAX_ATTEMPTS + 1):
            if attempt == 1:
                with acme.scope():
                    assert email_deliver(email_id=outbound.id) is False
            else:
                # Not before its back-off: the sweep leaves it alone.
                assert outbox_sweep()["emails"] == 0
                clock.move_to(outbound.retry_at)
                assert outbox_sweep()["emails"] == 1
            with acme.scope():
                outbound.refresh_from_db()
            assert outbound.attempts == attempt
            assert "refused the connection" in outbound.last_error
            if attempt > 1:
                assert outbound.retry_at - timezone.now() == backoff(attempt)
        assert outbound.status == OutboundEmail.Status.FAILED
        # Failed for good: later sweeps and a late task leave it alone.
        clock.shift(timedelta(days=1))
        assert outbox_sweep()["emails"] == 0
        with acme.scope():
            assert email_deliver(email_id=outbound.id) is False
    assert mail.outbox == []


def test_an_email_whose_wake_up_was_lost_is_delivered_by_the_sweep_once(acme):
    # Stored, but the process died before publishing its wake-up: nothing ran it.
    with acme.scope():
        lost = email_queue(tenant=acme.tenant, message=_message("Lost in a crash"))
    with time_machine.travel(timezone.now() + timedelta(seconds=20), tick=False):
        with acme.scope():
            recent = email_queue(tenant=acme.tenant, message=_message("Wake-up on its way"))
        # Inside the grace its wake-up has, nothing is taken.
        assert outbox_sweep()["emails"] == 0
    with time_machine.travel(lost.retry_at + timedelta(seconds=1), tick=False):
        assert outbox_sweep()["emails"] == 1
        assert [m.subject for m in mail.outbox] == ["Lost in a crash"]
        with acme.scope():
            assert OutboundEmail.objects.get(pk=recent.pk).status == OutboundEmail.Status.QUEUED
        # Run again: the sent one is not sent twice.
        assert outbox_sweep()["emails"] == 0
    assert len(mail.outbox) == 1


def test_tasks_queued_on_commit_keep_no_result(
    acme, monkeypatch, django_capture_on_commit_callbacks
):
    # No one can wait for them: the sender subscribes to no result channel (one
    # Redis round trip per task otherwise) and the worker stores no result.
    celery_app.conf.task_always_eager = False
    sent, subscribed = [], []
    monkeypatch.setattr(
        celery_app.amqp,
        "send_task_message",
        lambda producer, name, message, **options: sent.append(message),
    )
    monkeypatch.setattr(
        celery_app.backend, "on_task_call", lambda producer, task_id: subscribed.append(task_id)
    )
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        email_queue(tenant=acme.tenant, message=_message("Queued"))

    assert [message.headers["task"] for message in sent] == ["helpdesk.tasks.deliver_email"]
    assert sent[0].headers["ignore_result"] is True
    assert subscribed == []
