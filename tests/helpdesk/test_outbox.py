"""The transactional outbox: a write's side effects are rows of its transaction, run
once by a worker, retried with back-off, and shown to admins when they cannot be."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from helpdesk.models import OutboundEmail, OutboxJob
from helpdesk.outbox import MAX_ATTEMPTS, backoff, outbox_enqueue, outbox_handler, outbox_sweep
from helpdesk.services import email_queue
from helpdesk.tasks import run_outbox_job
from tests.helpdesk.test_celery import _message
from tests.tickets.factories import make_ticket
from tickets.models import Ticket

# What the test handlers saw, and whether they should fail.
seen: list[tuple[int, dict]] = []
failures = {"left": 0}


@outbox_handler
def record_event(tenant, **payload):
    if failures["left"]:
        failures["left"] -= 1
        # Its write is undone with it: a failed attempt leaves nothing half done.
        Ticket.objects.filter(tenant=tenant).update(subject="half done")
        raise RuntimeError("the template is broken")
    seen.append((tenant.pk, payload))


@pytest.fixture(autouse=True)
def _clean():
    seen.clear()
    failures["left"] = 0


def test_a_job_is_a_row_of_the_write_and_vanishes_with_a_rollback(acme):
    with pytest.raises(RuntimeError), transaction.atomic(), acme.scope():
        make_ticket(acme)
        assert OutboxJob.objects.count() == 1  # the ticket's emails, to be rendered
        raise RuntimeError("the request failed after all")
    with acme.scope():
        assert not OutboxJob.objects.exists() and not Ticket.objects.exists()


def test_a_job_runs_once_after_commit_in_its_tenant(acme, django_capture_on_commit_callbacks):
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        job = outbox_enqueue(tenant=acme.tenant, handler=record_event, ticket_id=7)
        assert seen == []  # not before the commit
    assert seen == [(acme.tenant.pk, {"ticket_id": 7})]
    with acme.scope():
        assert not OutboxJob.objects.filter(pk=job.pk).exists()
    # A duplicate wake-up, or the sweep, finds nothing left to do.
    assert run_outbox_job.delay(acme.tenant.pk, job.pk).get() is False
    assert seen == [(acme.tenant.pk, {"ticket_id": 7})]


def test_only_declared_handlers_can_be_queued(acme):
    def not_declared(tenant):
        pass

    with acme.scope(), pytest.raises(ValueError, match="not an @outbox_handler"):
        outbox_enqueue(tenant=acme.tenant, handler=not_declared)


def test_a_failing_job_undoes_its_own_writes_and_is_retried_with_backoff_then_failed(
    acme, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme, subject="Kept as it was")
    with acme.scope():
        OutboxJob.objects.all().delete()  # the ticket's own emails are not this test's
    failures["left"] = MAX_ATTEMPTS
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        with acme.scope(), django_capture_on_commit_callbacks(execute=True):
            job = outbox_enqueue(tenant=acme.tenant, handler=record_event, n=1)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            with acme.scope():
                job.refresh_from_db()
                assert Ticket.objects.get(pk=ticket.pk).subject == "Kept as it was"
            assert job.attempts == attempt
            assert job.last_error == "RuntimeError: the template is broken"
            if attempt == MAX_ATTEMPTS:
                break
            assert job.retry_at == timezone.now() + backoff(attempt)
            assert outbox_sweep()["jobs"] == 0  # not before its back-off
            clock.move_to(job.retry_at)
            assert outbox_sweep()["jobs"] == 1
        assert job.failed_at is not None
        clock.shift(timedelta(days=1))
        assert outbox_sweep()["jobs"] == 0  # failed for good: an admin decides
    assert seen == []
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 9)] == [30, 60, 120, 3600, 3600]


def test_admins_are_told_of_failed_jobs_and_undeliverable_email_and_can_retry(
    acme, globex, django_capture_on_commit_callbacks
):
    for desk in (acme, globex):
        with desk.scope():
            job = outbox_enqueue(tenant=desk.tenant, handler=record_event, desk=desk.tenant.slug)
            OutboxJob.objects.filter(pk=job.pk).update(
                attempts=MAX_ATTEMPTS, failed_at=timezone.now()
            )
            unknown = email_queue(tenant=desk.tenant, message=_message("Lost in the crash"))
            OutboundEmail.objects.filter(pk=unknown.pk).update(
                status=OutboundEmail.Status.UNKNOWN, claimed_at=timezone.now()
            )
    with acme.scope():
        acme_job = OutboxJob.objects.get()
    admin = acme.client(acme.admin)
    index = admin.get("/admin/").content.decode()
    assert "1 email may not have been delivered" in index
    assert "1 background job failed after every attempt" in index

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/helpdesk/outboxjob/",
            {"action": "run_again", "_selected_action": [acme_job.pk]},
            follow=True,
        )
    assert "1 job will run again." in response.content.decode()
    assert seen == [(acme.tenant.pk, {"desk": "acme"})]
    with acme.scope():
        email = OutboundEmail.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            "/admin/helpdesk/outboundemail/",
            {"action": "send_again", "_selected_action": [email.pk]},
        )
    assert [m.subject for m in mail.outbox] == ["Lost in the crash"]
    index = admin.get("/admin/").content.decode()
    assert "may not have been delivered" not in index and "background job" not in index
    # Globex's own failures are untouched, and its admin still sees them.
    globex_index = globex.client(globex.admin).get("/admin/").content.decode()
    assert "1 email may not have been delivered" in globex_index
    with globex.scope():
        assert OutboxJob.objects.get().failed_at is not None


def test_an_admin_may_not_act_on_another_desks_jobs_or_emails(acme, globex):
    with globex.scope():
        job = outbox_enqueue(tenant=globex.tenant, handler=record_event)
        OutboxJob.objects.filter(pk=job.pk).update(failed_at=timezone.now())
        email = email_queue(tenant=globex.tenant, message=_message("Globex's"))
        OutboundEmail.objects.filter(pk=email.pk).update(status=OutboundEmail.Status.UNKNOWN)
    admin = acme.client(acme.admin)
    admin.post("/admin/helpdesk/outboxjob/", {"action": "run_again", "_selected_action": [job.pk]})
    admin.post(
        "/admin/helpdesk/outboundemail/",
        {"action": "send_again", "_selected_action": [email.pk]},
    )
    with globex.scope():
        assert OutboxJob.objects.get(pk=job.pk).failed_at is not None
        assert OutboundEmail.objects.get(pk=email.pk).status == OutboundEmail.Status.UNKNOWN
    assert mail.outbox == [] and seen == []
    # Agents and customers of the desk itself see neither list.
    for user in (acme.agent, acme.customer):
        assert acme.client(user).get("/admin/helpdesk/outboxjob/").status_code in (302, 403)


def test_unknown_delivery_is_sent_again_only_by_an_admin_and_never_twice_by_a_sweep(acme):
    with acme.scope():
        email = email_queue(tenant=acme.tenant, message=_message("Maybe delivered"))
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
        )
    assert outbox_sweep()["unknown"] == 1
    assert outbox_sweep()["unknown"] == 0
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert outbox_sweep() == {"jobs": 0, "emails": 0, "unknown": 0}
    assert mail.outbox == []
    admin = acme.client(acme.admin)
    page = admin.get("/admin/helpdesk/outboundemail/?status__exact=unknown").content.decode()
    assert "Unknown: check with the recipient" in page
    admin.post(
        "/admin/helpdesk/outboundemail/",
        {"action": "mark_delivered", "_selected_action": [email.pk]},
    )
    with acme.scope():
        email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT and email.body_text == ""
    assert re.search(r"may not have been delivered", admin.get("/admin/").content.decode()) is None
