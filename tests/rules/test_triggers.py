"""Triggers (rules/services.py): checked after every update of a ticket, in order, each
firing at most once per update; their changes are the desk's, "by trigger …", in the
audit trail and on the ticket page."""

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from helpdesk.models import OutboxJob
from rules.models import Trigger
from rules.services import run_triggers
from tests.rules.factories import make_trigger
from tests.sla.factories import at, travel
from tests.tickets.factories import make_ticket, refresh, set_fields
from tickets.models import Message, Priority, Status, Ticket, TicketEvent
from tickets.services import ticket_add_note, ticket_reply, ticket_update

pytestmark = pytest.mark.django_db(transaction=True)


def trail(desk, ticket) -> list[tuple[str, str, str]]:
    """(kind, rule name, new value) of the ticket's audit rows a rule wrote."""
    with desk.scope():
        return list(
            TicketEvent.objects.filter(ticket=ticket)
            .exclude(rule_name="")
            .order_by("pk")
            .values_list("kind", "rule_name", "new_value")
        )


def fired(desk, ticket) -> list[str]:
    return [name for kind, name, _value in trail(desk, ticket) if kind == TicketEvent.Kind.RULE]


def notes(desk, ticket) -> list[str]:
    with desk.scope():
        return list(
            Message.objects.filter(ticket=ticket, is_internal=True)
            .order_by("pk")
            .values_list("body", flat=True)
        )


def test_a_trigger_acts_on_a_new_ticket_and_the_page_says_which_trigger(acme):
    make_trigger(
        acme,
        "Escalate high from Pro",
        [("priority", "is", "High"), ("plan", "is", "Pro"), ("text", "contains", "outage, down")],
        [
            ("set_priority", "Urgent"),
            ("add_tags", "vip, escalated"),
            ("add_note", "", {"body": "Call {{ customer.name }} about #{{ ticket.number }}."}),
        ],
        runs_on=Trigger.RunsOn.CREATED,
    )
    ticket = refresh(acme, make_ticket(acme, subject="Site is DOWN", priority=Priority.HIGH))
    assert ticket.priority == Priority.URGENT
    assert ticket.tags == ["vip", "escalated"]
    assert notes(acme, ticket) == [f"Call Carol Customer about #{ticket.number}."]
    assert trail(acme, ticket)[:3] == [
        ("rule", "Escalate high from Pro", "Escalate high from Pro"),
        ("priority", "Escalate high from Pro", "Urgent"),
        ("tags", "Escalate high from Pro", "vip escalated"),
    ]
    page = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "Trigger “Escalate high from Pro”" in page

    # Conditions that do not hold: nothing happens.
    calm = refresh(acme, make_ticket(acme, subject="Site is slow", priority=Priority.HIGH))
    other_plan = refresh(
        acme, make_ticket(acme, acme.other_customer, subject="down", priority=Priority.HIGH)
    )
    assert (calm.tags, other_plan.tags) == ([], [])
    assert fired(acme, calm) == fired(acme, other_plan) == []


def test_changed_to_and_from_see_only_the_update_being_checked(acme):
    make_trigger(
        acme,
        "Ask while pending",
        [("status", "changed_to", "Pending"), ("status", "changed_from", "Open")],
        [("email_requester", "", {"subject": "We need you", "body": "Hi {{ customer.name }}"})],
    )
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.OPEN)
    mail.outbox.clear()
    set_fields(acme, ticket, status=Status.PENDING)
    assert [m.subject for m in mail.outbox if m.to == [acme.customer.email]] == [
        f"[#{ticket.number}] We need you"
    ]
    mail.outbox.clear()
    set_fields(acme, ticket, priority=Priority.HIGH)  # still pending, but no change to it
    assert fired(acme, ticket) == ["Ask while pending"]
    assert not [m for m in mail.outbox if m.subject.endswith("We need you")]


def test_one_request_is_one_update_however_many_events_it_publishes(acme):
    """An agent's reply that also solves publishes a reply and a change: a trigger on
    either fires once, and sees both."""
    make_trigger(
        acme,
        "Thank on solve",
        [("update", "is", "agent_reply"), ("status", "changed_to", "Solved")],
        [("add_tags", "answered-and-solved")],
    )
    make_trigger(acme, "Any agent update", [("actor", "is", "agent")], [("add_tags", "touched")])
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body="Fixed.", status=Status.SOLVED)
    assert fired(acme, ticket) == ["Thank on solve", "Any agent update"]
    assert refresh(acme, ticket).tags == ["answered-and-solved", "touched"]


def test_two_triggers_that_undo_each_other_fire_once_each_and_stop(acme):
    make_trigger(acme, "Down", [("priority", "is", "High")], [("set_priority", "Low")], position=1)
    make_trigger(acme, "Up", [("priority", "is", "Low")], [("set_priority", "High")], position=2)
    ticket = make_ticket(acme, priority=Priority.MEDIUM)
    set_fields(acme, ticket, priority=Priority.HIGH)
    assert fired(acme, ticket) == ["Down", "Up"]
    assert refresh(acme, ticket).priority == Priority.HIGH
    with acme.scope():
        assert not OutboxJob.objects.exists()  # no update left to check: the loop ended


def test_a_later_trigger_sees_an_earlier_ones_changes_in_the_same_update(acme):
    make_trigger(acme, "Tag VIP", [("plan", "is", "Pro")], [("add_tags", "vip")], position=1)
    make_trigger(
        acme,
        "VIPs to high",
        [("tags", "contains", "vip"), ("priority", "is", "Medium")],
        [("set_priority", "High")],
        position=2,
    )
    ticket = refresh(acme, make_ticket(acme))
    assert (ticket.tags, ticket.priority) == (["vip"], Priority.HIGH)
    assert fired(acme, ticket) == ["Tag VIP", "VIPs to high"]


def test_runs_on_created_or_updated(acme):
    make_trigger(acme, "New", [("channel", "is", "Web")], [("add_tags", "new")], runs_on="created")
    make_trigger(
        acme, "Later", [("channel", "is", "Web")], [("add_tags", "later")], runs_on="updated"
    )
    ticket = make_ticket(acme)
    assert refresh(acme, ticket).tags == ["new"]
    with acme.scope():
        ticket_add_note(ticket=ticket, author=acme.agent, body="Looking.")
    assert refresh(acme, ticket).tags == ["new", "later"]


def test_who_updated_and_what_kind_of_update(acme):
    make_trigger(
        acme,
        "Customer wrote back",
        [("update", "is", "customer_reply"), ("actor", "is", "customer")],
        [("set_status", "Open"), ("add_tags", "customer-wrote")],
    )
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.ON_HOLD)
    with acme.scope():
        ticket_add_note(ticket=ticket, author=acme.agent, body="Internal.")
    assert refresh(acme, ticket).tags == []
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.customer, body="Any news?")
    ticket = refresh(acme, ticket)
    assert (ticket.status, ticket.tags) == (Status.OPEN, ["customer-wrote"])


def test_inside_or_outside_business_hours(acme):
    """The Pro plan's calendar is open Monday to Friday, 9 to 18 (UTC)."""
    make_trigger(
        acme, "After hours", [("business_hours", "is", "outside")], [("add_tags", "after-hours")]
    )
    with travel(at(2026, 11, 30, 10)):  # a Monday morning
        inside = refresh(acme, make_ticket(acme))
    with travel(at(2026, 12, 5, 10)):  # a Saturday
        outside = refresh(acme, make_ticket(acme))
    assert (inside.tags, outside.tags) == ([], ["after-hours"])


def test_group_assignee_category_and_email_actions(acme):
    from tests.routing.test_routing import make_group

    make_group(acme, "Billing desk", acme.agent, acme.admin)
    make_trigger(
        acme,
        "Billing",
        [("text", "contains", "invoice")],
        [
            ("set_category", "Billing"),
            ("set_group", "Billing desk"),
            ("set_assignee", acme.agent.email),
            ("email_group", "", {"subject": "Invoice question", "body": "See {{ ticket.url }}"}),
        ],
    )
    mail.outbox.clear()
    ticket = refresh(acme, make_ticket(acme, subject="Invoice is wrong"))
    with acme.scope():
        assert (ticket.category.name, ticket.group.name) == ("Billing", "Billing desk")
    assert ticket.assignee == acme.agent
    invoice_mails = [m for m in mail.outbox if m.subject.endswith("Invoice question")]
    assert sorted(m.to[0] for m in invoice_mails) == sorted([acme.agent.email, acme.admin.email])
    assert f"/agent/tickets/{ticket.number}/" in invoice_mails[0].body
    # "Assigned to you" went to the agent: the trigger's change is a change like any other.
    assert [m for m in mail.outbox if m.to == [acme.agent.email] and "Assigned" in m.subject]


def test_a_trigger_switched_off_in_the_admin_stops_at_once(acme):
    rule = make_trigger(acme, "Tagger", [("channel", "is", "Web")], [("add_tags", "on")])
    assert refresh(acme, make_ticket(acme)).tags == ["on"]  # the desk's rules are cached now
    response = acme.client(acme.admin).post(
        "/admin/rules/trigger/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(rule.pk),
            "form-0-position": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert refresh(acme, make_ticket(acme)).tags == []


def test_other_desks_triggers_never_fire(acme, globex):
    make_trigger(globex, "Globex only", [("channel", "is", "Web")], [("add_tags", "globex")])
    assert refresh(acme, make_ticket(acme)).tags == []
    assert refresh(globex, make_ticket(globex)).tags == ["globex"]


def test_a_failing_action_rolls_the_whole_firing_back_and_it_runs_again_once(acme, monkeypatch):
    """The trigger's changes, note and emails are one transaction with its job: an error
    (a worker dying is the same) leaves nothing half done, and the retry does it once."""
    make_trigger(
        acme,
        "Note and email",
        [("channel", "is", "Web")],
        [
            ("add_note", "", {"body": "Noted."}),
            ("email_requester", "", {"subject": "Hello", "body": "Hi"}),
        ],
    )
    import rules.actions

    def dies(*args, **kwargs):
        raise RuntimeError("the worker died here")

    with monkeypatch.context() as patched:
        patched.setattr(rules.actions, "rule_message", dies)
        ticket = make_ticket(acme)
    assert notes(acme, ticket) == []  # undone with the job
    with acme.scope():
        job = OutboxJob.objects.get(handler="rules.services.run_triggers")
        assert "the worker died here" in job.last_error
        from helpdesk.outbox import outbox_run

        assert outbox_run(job_id=job.pk)
        assert not outbox_run(job_id=job.pk)  # done: a second run finds nothing
    assert notes(acme, ticket) == ["Noted."]
    assert len([m for m in mail.outbox if m.subject.endswith("Hello")]) == 1


def test_checking_two_hundred_triggers_costs_the_same_queries_as_checking_one(acme):
    """Triggers are read from memory and matched in Python: no query per trigger."""
    ticket = make_ticket(acme)
    payload = {
        "ticket_id": ticket.pk,
        "origin": "x",
        "updates": ["field_change"],
        "changes": {"priority": {"old": 3, "new": 2}},
        "actor_id": acme.agent.pk,
        "message_ids": [],
    }

    def queries_to_check() -> int:
        with acme.scope(), transaction.atomic(), CaptureQueriesContext(connection) as queries:
            assert run_triggers(acme.tenant, **payload) == []
        return len(queries)

    make_trigger(acme, "one", [("tags", "contains", "never")], [("add_tags", "x")])
    queries_to_check()  # the desk's rules are now in memory
    one = queries_to_check()
    for n in range(199):
        make_trigger(acme, f"t{n}", [("tags", "contains", f"never{n}")], [("add_tags", "x")])
    queries_to_check()
    assert queries_to_check() == one


def test_no_triggers_no_cost_on_the_change(acme):
    """A desk without triggers stores no update for them."""
    ticket = make_ticket(acme)
    with acme.scope():
        before = OutboxJob.objects.filter(handler="rules.services.run_triggers").count()
        ticket_update(ticket=ticket, actor=acme.agent, priority=Priority.HIGH)
        assert OutboxJob.objects.filter(handler="rules.services.run_triggers").count() == before
        assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH
