"""Conditions (rules/conditions.py) mean the same whether a trigger checks one ticket in
Python or an automation asks the database, for every field and operator; and what an
admin types is read in words, or refused in words."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rules.conditions import (
    Facts,
    Field,
    as_q,
    display_value,
    fields_for,
    holds,
    operators_for,
    parse_value,
)
from tests.routing.test_routing import make_group
from tests.sla.factories import travel
from tests.tickets.factories import category, make_ticket, refresh, set_fields
from tickets.models import Channel, Priority, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(acme):
    """Tickets that differ in every field a condition reads, made at different times."""
    now = timezone.now()
    make_group(acme, "Second line", acme.agent)
    with travel(now - timedelta(hours=50)):
        first = make_ticket(acme, subject="Dashboard is blank", tags=["vip"])
        second = make_ticket(
            acme,
            acme.other_customer,
            subject="Invoice is wrong",
            body="Please fix the invoice.",
            priority=Priority.HIGH,
            channel=Channel.EMAIL,
            category=category(acme, "Billing"),
        )
    with travel(now - timedelta(hours=20)):
        with acme.scope():
            from tickets.models import Group

            group = Group.objects.get(name="Second line")
        set_fields(acme, second, status=Status.PENDING, assignee=acme.agent, group=group)
        third = make_ticket(
            acme, subject="Export fails", priority=Priority.LOW, tags=["Billing issue"]
        )
    with travel(now - timedelta(hours=2)):
        set_fields(acme, third, status=Status.SOLVED)
    # Pending since before the clock was recorded: counted from its last update.
    legacy = make_ticket(acme, subject="Old one")
    with acme.scope():
        Ticket.objects.filter(pk=legacy.pk).update(
            status=Status.PENDING, status_changed_at=None, updated_at=now - timedelta(hours=40)
        )
    return now, [refresh(acme, t) for t in (first, second, third, legacy)]


VALUES = {
    Field.STATUS: ["Pending", "new"],
    Field.PRIORITY: ["High", "Medium", "低"],
    Field.CATEGORY: ["Billing"],
    Field.GROUP: ["Second line"],
    Field.ASSIGNEE: ["agent@acme.example"],
    Field.CHANNEL: ["Email", "web"],
    Field.ORGANIZATION: ["Acme Analytics Customer Co"],
    Field.PLAN: ["Pro", "Free"],
    Field.REQUESTER: ["carol@acme-co.example", "acme-other.example, nobody.example"],
    Field.TAGS: ["vip", "billing issue, nothing"],
    Field.TEXT: ["INVOICE", "blank, export"],
    Field.HOURS_SINCE_CREATED: ["1", "30"],
    Field.HOURS_SINCE_UPDATED: ["10", "30"],
    Field.HOURS_SINCE_PENDING: ["10", "30"],
    Field.HOURS_SINCE_SOLVED: ["1", "3"],
    Field.SLA_DUE_IN: ["60", "100000"],
}


def test_every_field_and_operator_means_the_same_in_python_and_in_the_database(acme, tickets):
    now, rows = tickets
    asked = telling = 0
    with acme.scope():
        requesters = {t.pk: t for t in Ticket.objects.select_related("requester", "organization")}
        for field_name, _label in fields_for("automation"):
            if field_name == Field.BUSINESS_HOURS:
                continue  # a calendar's hours now: checked in Python by both (test_automations)
            for op in operators_for(field_name, "automation"):
                for typed in VALUES[field_name]:
                    value = parse_value(field_name, op, typed)
                    in_python = {
                        t.pk
                        for t in rows
                        if holds(
                            field_name,
                            op,
                            value,
                            Facts(
                                ticket=requesters[t.pk],
                                now=now,
                                text=f"{t.subject}\n{t.messages.first().body}".lower(),
                            ),
                        )
                    }
                    in_database = set(
                        Ticket.objects.filter(pk__in=[t.pk for t in rows])
                        .filter(as_q(field_name, op, value, now))
                        .values_list("pk", flat=True)
                    )
                    assert in_python == in_database, (field_name, op, typed)
                    asked += 1
                    # Cases that tell tickets apart, not ones every ticket passes or fails.
                    telling += 0 < len(in_python) < len(rows)
    assert asked > 60
    assert telling > 40


def test_values_are_read_in_either_language_and_shown_back_in_words(acme):
    with acme.scope():
        assert parse_value(Field.STATUS, "is", "待客户回复") == Status.PENDING
        assert parse_value(Field.PRIORITY, "is", "urgent") == str(Priority.URGENT)
        billing = parse_value(Field.CATEGORY, "is", "账单")
        assert display_value(Field.CATEGORY, billing) == "Billing"
        assert parse_value(Field.TAGS, "contains", " VIP Customer , beta") == "vip-customer, beta"
        agent = parse_value(Field.ASSIGNEE, "is", "AGENT@acme.example")
        assert display_value(Field.ASSIGNEE, agent) == "agent@acme.example"


@pytest.mark.parametrize(
    "field_name, typed, says",
    [
        (Field.STATUS, "Waiting", "is not a status. Use one of: New, Open, Pending"),
        (Field.CATEGORY, "Billng", "This desk has no category called “Billng”. Its category"),
        (Field.ASSIGNEE, "carol@acme-co.example", "is not the email of one of this desk's agents"),
        (Field.HOURS_SINCE_CREATED, "two days", "Give a whole number of hours"),
        (Field.TEXT, " , ", "Give a value to compare with"),
    ],
)
def test_a_value_that_cannot_be_read_is_refused_in_words(acme, field_name, typed, says):
    op = operators_for(field_name, "automation")[0]
    with acme.scope(), pytest.raises(ValidationError) as refused:
        parse_value(field_name, op, typed)
    assert says in " ".join(refused.value.messages)


def test_another_desks_names_are_not_this_desks_values(acme, globex):
    from tests.routing.test_routing import make_group

    make_group(globex, "Globex escalations")
    with acme.scope(), pytest.raises(ValidationError):
        parse_value(Field.GROUP, "is", "Globex escalations")
    with acme.scope(), pytest.raises(ValidationError):
        parse_value(Field.ASSIGNEE, "is", globex.agent.email)
