from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from helpdesk.models import Role
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket, upload
from tickets.models import Category, Message, Priority, Status, Ticket, TicketEvent
from tickets.services import (
    ticket_add_note,
    ticket_apply_macro,
    ticket_bulk_update,
    ticket_merge,
    ticket_reopen,
    ticket_reply,
    ticket_solve,
    ticket_update,
    tickets_close_solved,
)


def _kinds(desk, ticket):
    """The ticket's audit trail, without the SLA clock rows (tests/sla covers those)."""
    with desk.scope():
        return [(e.kind, e.old_value, e.new_value) for e in ticket.events.exclude(kind="sla")]


def test_new_tenant_gets_the_default_categories(acme):
    with acme.scope():
        assert list(Category.objects.values_list("name", flat=True)) == [
            "Getting started",
            "Technical issue",
            "Billing",
            "Account",
            "Feature request",
        ]


def test_numbers_are_sequential_per_tenant(acme, globex):
    numbers = [make_ticket(acme).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert make_ticket(globex).number == 1
    assert make_ticket(acme).number == 4


def test_create_records_the_thread_audit_row_and_organization(
    acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme, body="**Bold** <script>alert(1)</script>", uploads=[upload()])
    assert ticket.organization == acme.org and ticket.status == Status.NEW
    with acme.scope():
        message = ticket.messages.get()
        assert message.body_html.startswith("<p><strong>Bold</strong>")
        assert "<script>" not in message.body_html
        assert message.attachments.get().name == "notes.txt"
    assert _kinds(acme, ticket) == [("created", "", "Web")]
    # The customer is acknowledged with the promise; staff are told of the new ticket.
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == sorted([acme.customer.email, acme.agent.email, acme.admin.email])
    ack = next(m for m in mail.outbox if m.to == [acme.customer.email])
    # The promise as a concrete time, in the desk's time zone, and as the plan's rule.
    with acme.scope():
        due = Ticket.objects.get(pk=ticket.pk).first_response_due_at
    assert due is not None
    shown = date_format(timezone.localtime(due, acme.tenant.tzinfo), "DATETIME_FORMAT")
    assert f"We will reply by {shown} (UTC)." in ack.body
    assert (
        "On the Pro plan, we reply within 24 business hours (Mon-Fri 9:00-18:00, UTC)." in ack.body
    )
    assert ack.subject.startswith(f"[#{ticket.number}]")


def test_urgent_is_reserved_to_plans_that_allow_it(acme):
    with pytest.raises(ValidationError) as error:
        make_ticket(acme, priority=Priority.URGENT)
    assert "priority" in error.value.message_dict
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
        acme.customer.refresh_from_db()
    assert make_ticket(acme, priority=Priority.URGENT).priority == Priority.URGENT


def test_agent_reply_sets_first_reply_and_opens_the_ticket(
    acme, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme)
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, author=acme.agent, body="On it.")
        ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.first_agent_reply_at
    reply = mail.outbox[-1]
    assert reply.to == [acme.customer.email] and "On it." in reply.body
    assert reply.extra_headers["In-Reply-To"] == f"<ticket-acme-{ticket.number}@localhost>"
    # The customer's own token, not the ticket's (see tests/tickets/test_mail_authorship.py).
    assert reply.extra_headers["Reply-To"].startswith("reply+")
    assert ticket.reply_token not in reply.extra_headers["Reply-To"]
    assert ("status", "new", "open") in _kinds(acme, ticket)


def test_agent_can_submit_a_reply_as_pending(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_reply(
            ticket=ticket,
            author=acme.agent,
            body="Can you send a screenshot?",
            status=Status.PENDING,
        )
        ticket.refresh_from_db()
    assert ticket.status == Status.PENDING


def test_customer_reply_reopens_a_solved_ticket(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_solve(ticket=ticket, actor=acme.agent)
        ticket_reply(ticket=ticket, author=acme.customer, body="Still broken.")
        ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.solved_at is None
    assert ("reopened", "solved", "open") in _kinds(acme, ticket)


def test_customer_reply_to_pending_returns_it_to_open(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_update(ticket=ticket, actor=acme.agent, status=Status.PENDING)
        ticket_reply(ticket=ticket, author=acme.customer, body="Here it is.")
        ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_internal_note_is_staff_only_and_not_emailed(acme, django_capture_on_commit_callbacks):
    ticket = make_ticket(acme)
    mail.outbox.clear()
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        note = ticket_add_note(ticket=ticket, author=acme.agent, body="Customer is on old version")
        assert note.is_internal
        with pytest.raises(Exception):  # noqa: B017 - PermissionDenied
            ticket_add_note(ticket=ticket, author=acme.customer, body="sneaky")
    assert mail.outbox == []


def test_update_records_one_audit_row_per_changed_field(acme, django_capture_on_commit_callbacks):
    ticket = make_ticket(acme)
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        billing = Category.objects.get(name="Billing")
        ticket_update(
            ticket=ticket,
            actor=acme.admin,
            priority=Priority.HIGH,
            category=billing,
            assignee=acme.agent,
            tags=["VIP", "vip", "needs reply"],
        )
        ticket_update(ticket=ticket, actor=acme.admin, priority=Priority.HIGH)  # no change
        ticket.refresh_from_db()
    assert ticket.tags == ["vip", "needs-reply"]
    assert _kinds(acme, ticket)[1:] == [
        ("priority", "Medium", "High"),
        ("category", "Technical issue", "Billing"),
        ("assignee", "", "Acme Analytics Agent"),
        ("tags", "", "vip needs-reply"),
    ]
    assert mail.outbox[-1].to == [acme.agent.email]
    assert "Assigned to you" in mail.outbox[-1].subject


def test_only_agents_can_be_assignees(acme):
    ticket = make_ticket(acme)
    with acme.scope(), pytest.raises(ValidationError):
        ticket_update(ticket=ticket, actor=acme.admin, assignee=acme.customer)


def test_bulk_update_is_all_or_nothing(acme):
    tickets = [make_ticket(acme) for _ in range(3)]
    with acme.scope():
        ticket_bulk_update(tickets=tickets, actor=acme.admin, assignee=acme.agent)
        assert Ticket.objects.filter(assignee=acme.agent).count() == 3
        with pytest.raises(ValidationError):
            ticket_bulk_update(tickets=tickets, actor=acme.admin, assignee=acme.customer)
        assert Ticket.objects.filter(assignee=acme.agent).count() == 3


def test_merge_moves_the_thread_and_closes_the_source(acme):
    source = make_ticket(acme, subject="Dup", body="first")
    target = make_ticket(acme, subject="Main", body="second")
    with acme.scope():
        ticket_merge(source=source, target=target, actor=acme.agent)
        source.refresh_from_db()
        bodies = list(target.messages.values_list("body", flat=True))
        assert source.status == Status.CLOSED and source.merged_into == target
        assert bodies == ["first", "second"]
        assert source.messages.get().is_internal  # the "merged into" note
    assert ("merged", f"#{source.number}", f"#{target.number}") in _kinds(acme, target)
    with acme.scope(), pytest.raises(ValidationError):
        ticket_merge(source=target, target=target, actor=acme.agent)


def test_reopen_requires_a_solved_ticket(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        with pytest.raises(ValidationError):
            ticket_reopen(ticket=ticket, actor=acme.customer)
        ticket_solve(ticket=ticket, actor=acme.customer)
        assert ticket_reopen(ticket=ticket, actor=acme.customer).status == Status.OPEN


def test_solved_tickets_close_after_the_configured_days(acme, globex):
    old = make_ticket(acme)
    recent = make_ticket(acme)
    with time_machine.travel(timezone.now() - timedelta(days=5)), acme.scope():
        ticket_solve(ticket=old, actor=acme.agent)
    with acme.scope():
        ticket_solve(ticket=recent, actor=acme.agent)
        assert tickets_close_solved(tenant=acme.tenant, older_than=timedelta(days=4)) == 1
        old.refresh_from_db()
        recent.refresh_from_db()
    assert old.status == Status.CLOSED and old.closed_at
    assert recent.status == Status.SOLVED
    with acme.scope(), pytest.raises(ValidationError):
        ticket_reply(ticket=old, author=acme.customer, body="hello?")


def test_macro_fills_placeholders_and_applies_its_changes(acme):
    from tickets.models import Macro

    ticket = make_ticket(acme)
    with acme.scope():
        macro = Macro.objects.create(
            tenant=acme.tenant,
            name="Ask for logs",
            body="Hi {{ customer.first_name }}, please send logs for #{{ ticket.number }}. "
            "{{ customer.password }}",
            set_status=Status.PENDING,
            set_priority=Priority.HIGH,
        )
        message = ticket_apply_macro(ticket=ticket, macro=macro, actor=acme.agent)
        ticket.refresh_from_db()
    assert message.body == (
        f"Hi Carol, please send logs for #{ticket.number}. {{{{ customer.password }}}}"
    )
    assert ticket.status == Status.PENDING and ticket.priority == Priority.HIGH
    assert ("macro", "", "Ask for logs") in _kinds(acme, ticket)


def test_tickets_of_one_tenant_are_invisible_in_another(acme, globex):
    make_ticket(acme, subject="Acme only")
    with globex.scope():
        assert not Ticket.objects.filter(subject="Acme only").exists()
        assert not Message.objects.filter(body="It shows nothing.").exists()
        assert not TicketEvent.objects.exists()


def test_agents_of_other_tenants_cannot_be_assigned(acme, globex):
    ticket = make_ticket(acme)
    with acme.scope(), pytest.raises(ValidationError):
        ticket_update(ticket=ticket, actor=acme.admin, assignee=globex.agent)


def test_requester_must_be_a_member(acme, globex):
    with pytest.raises(ValidationError):
        make_ticket(acme, requester=globex.customer)
    make_member(acme.tenant, "late@acme-co.example", Role.CUSTOMER)


def test_beat_task_closes_solved_tickets_in_every_tenant(acme, globex):
    from tickets.tasks import close_solved_tickets

    tickets = [make_ticket(acme), make_ticket(globex)]
    for desk, ticket in zip([acme, globex], tickets, strict=True):
        with time_machine.travel(timezone.now() - timedelta(days=30)), desk.scope():
            ticket_solve(ticket=ticket, actor=desk.agent)
    assert close_solved_tickets.delay().get() == 2
    for desk, ticket in zip([acme, globex], tickets, strict=True):
        with desk.scope():
            ticket.refresh_from_db()
        assert ticket.status == Status.CLOSED


def test_a_ticket_event_sends_each_email_once_however_often_it_is_woken(
    acme, django_capture_on_commit_callbacks
):
    from helpdesk.models import OutboundEmail, OutboxJob
    from helpdesk.tasks import run_outbox_job
    from tickets.notifications import deliver_ticket_event

    with django_capture_on_commit_callbacks(execute=True) as woken:
        ticket = make_ticket(acme)
    first = len(mail.outbox)
    assert first == 3  # the acknowledgement and two staff notices
    with acme.scope():
        assert not OutboxJob.objects.exists()  # the job ended with its emails
        key = OutboundEmail.objects.filter(to=[acme.customer.email]).get().dedupe_key
    # The broker redelivers the wake-up: the job is gone, nothing new is sent.
    job_id = woken[0].args[1][1]
    with django_capture_on_commit_callbacks(execute=True):
        assert run_outbox_job.delay(acme.tenant.id, job_id).get() is False
    # The same occurrence rendered again (an admin's retry of a job that had in fact
    # queued its emails) finds them by their dedupe keys.
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        deliver_ticket_event(
            acme.tenant,
            event="created",
            ticket_id=ticket.pk,
            message_id=None,
            occurrence=key.split(":")[0],
        )
    assert len(mail.outbox) == first
    # A new occurrence of an event (solved again after a reopen) does send.
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        ticket_solve(ticket=ticket, actor=acme.agent)
        ticket_reopen(ticket=ticket, actor=acme.customer)
        ticket_solve(ticket=ticket, actor=acme.agent)
    solved = [m for m in mail.outbox if m.subject.startswith(f"[#{ticket.number}] Solved")]
    assert len(solved) == 2
