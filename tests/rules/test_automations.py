"""Automations (rules/services.py): time-based rules run by beat over every ticket, each
firing once per ticket for each start of its clock, safe to run twice or at once."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from rules.models import AutomationFiring
from rules.services import automations_run
from rules.tasks import run_automations
from tests.rules.factories import make_automation, make_trigger
from tests.sla.factories import at, travel
from tests.tickets.factories import make_ticket, refresh, set_fields
from tickets.models import Priority, Status, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

NUDGE = (
    "email_requester",
    "",
    {"subject": "Still there?", "body": "Hello {{ customer.first_name }}, any news?"},
)


def nudges(customer) -> int:
    return len([m for m in mail.outbox if m.to == [customer.email] and "Still there?" in m.subject])


def run(desk, when=None) -> int:
    with desk.scope(), travel(when or timezone.now()):
        return automations_run(tenant=desk.tenant)


def pending_since(desk, when, **fields):
    with travel(when):
        ticket = make_ticket(desk, **fields)
        return set_fields(desk, ticket, status=Status.PENDING)


def test_fires_once_per_ticket_for_each_time_the_clock_starts(acme):
    make_automation(
        acme,
        "Nudge",
        [("status", "is", "Pending"), ("hours_since_pending", "greater_than", "48")],
        [NUDGE, ("add_tags", "nudged")],
    )
    start = at(2026, 11, 2, 9)
    waiting = pending_since(acme, start)
    recent = pending_since(acme, start + timedelta(hours=40))
    mail.outbox.clear()
    assert run(acme, start + timedelta(hours=49)) == 1
    assert run(acme, start + timedelta(hours=50)) == 0  # run again: nothing new
    assert nudges(acme.customer) == 1
    assert refresh(acme, waiting).tags == ["nudged"]
    assert refresh(acme, recent).tags == []
    with acme.scope():
        event = TicketEvent.objects.get(ticket=waiting, kind=TicketEvent.Kind.RULE)
        assert (event.rule_kind, event.rule_name, event.actor) == ("automation", "Nudge", None)

    # The customer answers, the agent asks again: a new clock, a new nudge two days on.
    with travel(start + timedelta(hours=60)):
        set_fields(acme, waiting, status=Status.OPEN)
        set_fields(acme, waiting, status=Status.PENDING)
    assert run(acme, start + timedelta(hours=100)) == 1  # the other ticket's turn
    assert run(acme, start + timedelta(hours=109)) == 1  # this one's second window
    assert nudges(acme.customer) == 3


def test_two_runs_at_once_fire_once(acme):
    make_automation(
        acme,
        "Nudge",
        [("status", "is", "Pending"), ("hours_since_pending", "greater_than", "1")],
        [NUDGE],
    )
    start = at(2026, 11, 2, 9)
    tickets = [pending_since(acme, start) for _ in range(30)]
    mail.outbox.clear()
    counts, errors = [], []
    barrier = threading.Barrier(3)

    def runner():
        try:
            barrier.wait()
            counts.append(run(acme, start + timedelta(hours=3)))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Every ticket fired once, whichever run got it (one left locked by another is the
    # next minute's): no ticket twice.
    assert sum(counts) + run(acme, start + timedelta(hours=3)) == len(tickets)
    assert nudges(acme.customer) == len(tickets)
    with acme.scope():
        assert AutomationFiring.objects.count() == len(tickets)


def test_closed_tickets_and_other_desks_are_left_alone(acme, globex):
    make_automation(
        globex,
        "Globex cleanup",
        [("hours_since_created", "greater_than", "1")],
        [("add_tags", "globex-was-here")],
    )
    make_automation(
        acme,
        "Close solved",
        [("status", "is", "Solved"), ("hours_since_solved", "greater_than", "24")],
        [("set_status", "Closed")],
    )
    start = at(2026, 11, 2, 9)
    with travel(start):
        solved = make_ticket(acme)
        set_fields(acme, solved, status=Status.SOLVED)
        closed = make_ticket(acme)
        set_fields(acme, closed, status=Status.CLOSED)
    with travel(start + timedelta(hours=30)):
        run_automations()  # beat: one task per desk with automations (eager here)
    assert refresh(acme, solved).status == Status.CLOSED
    assert refresh(acme, solved).tags == refresh(acme, closed).tags == []


def test_sla_due_soon_fires_once_per_due_time(acme):
    make_automation(
        acme,
        "Warn the group",
        [("sla_due_in", "less_than", "60"), ("status", "is_not", "Solved")],
        [("add_note", "", {"body": "Due soon: #{{ ticket.number }}"})],
    )
    start = at(2026, 11, 30, 9)  # a Monday: the Pro plan's office hours
    with travel(start):
        ticket = refresh(acme, make_ticket(acme, priority=Priority.HIGH))
    due = ticket.sla_due_at
    assert run(acme, due - timedelta(minutes=90)) == 0
    assert run(acme, due - timedelta(minutes=50)) == 1
    assert run(acme, due - timedelta(minutes=10)) == 0
    with acme.scope():
        assert ticket.messages.filter(is_internal=True).count() == 1


def test_an_automations_change_wakes_the_triggers(acme):
    make_automation(
        acme,
        "Escalate old",
        [("hours_since_created", "greater_than", "72"), ("priority", "less_than", "High")],
        [("set_priority", "High")],
    )
    make_trigger(
        acme,
        "Tell the agents",
        [("priority", "changed_to", "High"), ("actor", "is", "desk")],
        [("add_tags", "auto-escalated")],
    )
    start = at(2026, 11, 2, 9)
    with travel(start):
        ticket = make_ticket(acme, priority=Priority.LOW)
    assert run(acme, start + timedelta(hours=73)) == 1
    ticket = refresh(acme, ticket)
    assert (ticket.priority, ticket.tags) == (Priority.HIGH, ["auto-escalated"])


def test_business_hours_are_checked_when_the_automation_runs(acme):
    make_automation(
        acme,
        "Weekend tag",
        [("hours_since_created", "greater_than", "1"), ("business_hours", "is", "outside")],
        [("add_tags", "weekend")],
    )
    start = at(2026, 12, 4, 12)  # a Friday
    with travel(start):
        ticket = make_ticket(acme)
    assert run(acme, start + timedelta(hours=2)) == 0  # Friday 14:00: open
    assert run(acme, start + timedelta(hours=22)) == 1  # Saturday
    assert refresh(acme, ticket).tags == ["weekend"]
