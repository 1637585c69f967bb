"""Helpers for the SLA tests: instants, customers on a plan, tickets filed and answered
at a given moment, what the clocks recorded, and admin forms posted back."""

from datetime import UTC, datetime

import time_machine

from helpdesk.models import Role, User
from plans.models import Plan
from sla.models import SLAOutcome, SLAPolicy
from tests.helpdesk.factories import make_member
from tests.plans.factories import make_organization
from tests.tickets.factories import make_ticket, refresh
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_add_note, ticket_reopen, ticket_reply, ticket_update


def at(*fields: int) -> datetime:
    """An instant in UTC (every test desk's time zone): at(2026, 11, 30, 10)."""
    return datetime(*fields, tzinfo=UTC)


def travel(moment: datetime):
    """Stop the clock at `moment` for the block (services read `timezone.now()`)."""
    return time_machine.travel(moment, tick=False)


def make_customer_on(desk, plan: Plan, *, slug: str = "initech") -> User:
    """A customer of a new organization on `plan`."""
    organization = make_organization(
        desk.tenant, name=f"{slug.title()} Inc", plan=plan, domain=f"{slug}.example"
    )
    return make_member(desk.tenant, f"ivy@{slug}.example", Role.CUSTOMER, organization=organization)


def file(desk, when: datetime, requester=None, **fields) -> Ticket:
    with travel(when):
        return refresh(desk, make_ticket(desk, requester, **fields))


def reply(desk, ticket: Ticket, author, when: datetime, **fields) -> Ticket:
    """A public reply by `author` (agent or customer) at `when`; the ticket as saved."""
    with travel(when), desk.scope():
        ticket_reply(ticket=ticket, author=author, body=fields.pop("body", "Thanks."), **fields)
    return refresh(desk, ticket)


def note(desk, ticket: Ticket, when: datetime) -> Ticket:
    with travel(when), desk.scope():
        ticket_add_note(ticket=ticket, author=desk.agent, body="Checking the logs.")
    return refresh(desk, ticket)


def change(desk, ticket: Ticket, when: datetime, **fields) -> Ticket:
    """Status, priority, ... changed by the desk's agent at `when`."""
    with travel(when), desk.scope():
        ticket_update(ticket=ticket, actor=desk.agent, **fields)
    return refresh(desk, ticket)


def reopen(desk, ticket: Ticket, when: datetime) -> Ticket:
    with travel(when), desk.scope():
        ticket_reopen(ticket=ticket, actor=desk.agent)
    return refresh(desk, ticket)


def policy(desk, plan: Plan | None = None, priority: int | None = None) -> SLAPolicy:
    with desk.scope():
        return SLAPolicy.objects.get(plan=plan, priority=priority, category=None, channel="")


def outcomes(desk, ticket: Ticket) -> list[tuple[str, str, datetime, datetime]]:
    """(metric, result, due, recorded) of every clock that ended, oldest first."""
    with desk.scope():
        return list(
            SLAOutcome.objects.filter(ticket=ticket)
            .order_by("recorded_at", "pk")
            .values_list("metric", "result", "due_at", "recorded_at")
        )


def sla_notes(desk, ticket: Ticket) -> list[tuple[str, str]]:
    """The ticket's audit rows about its clocks: (metric, 'due 2026-12-02T14:00:00+00:00')."""
    with desk.scope():
        return list(
            TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.SLA)
            .order_by("pk")
            .values_list("old_value", "new_value")
        )


# -- admin forms ---------------------------------------------------------------------------


def _posted(value) -> str | list[str] | None:
    """A form value as a browser sends it; None for an unticked checkbox (not sent)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else None
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


def _add_form(data: dict, form) -> None:
    from django.forms import MultiWidget

    for bound in form:
        widget = bound.field.widget
        if isinstance(widget, MultiWidget):  # hours and minutes (sla.fields): one input each
            value = bound.value()
            parts = value if isinstance(value, list) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=True):
                data[bound.html_name + suffix] = _posted(part) or ""
            continue
        value = _posted(bound.value())
        if value is not None:
            data[bound.html_name] = value


def admin_form_data(response) -> dict:
    """What a browser posts back from an admin add/change page left as it is: every
    field's value and each inline's existing rows (its blank extra rows left out)."""
    data: dict = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        rows = formset.initial_forms
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(len(rows))
        data[f"{formset.prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{formset.prefix}-MAX_NUM_FORMS"] = "1000"
        for form in rows:
            _add_form(data, form)
    return data


def add_inline_rows(data: dict, prefix: str, *rows: dict) -> dict:
    """`data` with new rows appended to the inline `prefix` ("hours", "dates", ...)."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    for index, row in enumerate(rows, start=total):
        for name, value in row.items():
            data[f"{prefix}-{index}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(total + len(rows))
    return data
