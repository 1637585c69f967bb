"""The customer's ticket page says when to expect our reply while a first- or
next-response clock runs for them, in the desk's time zone and their language, and
nothing while none runs: answered, waiting on them, solved, or no service level.

The page is read through a ticket's life, each step checked against the clocks
(`sla.timers.reply_due`), so a state that shows a promise it does not keep, or hides
one it does, fails."""

from datetime import timedelta

import time_machine
from django.utils import formats, timezone, translation

from helpdesk.models import Tenant
from sla.models import SLAPolicy
from sla.selectors import forget_policy_book
from tests.tickets.factories import make_ticket, refresh, set_fields
from tickets.services import ticket_reply


def _promise(desk, ticket, language="en") -> str:
    page = desk.client(desk.customer).get(
        f"/tickets/{ticket.number}/", HTTP_ACCEPT_LANGUAGE=language
    )
    assert page.status_code == 200
    body = page.content.decode()
    start = body.find('<p class="reply-by')
    return "" if start < 0 else body[start : body.index("</p>", start)]


def _shown(due, zone: str, language: str = "en") -> str:
    with translation.override(language), timezone.override(zone):
        return formats.date_format(timezone.localtime(due), "DATETIME_FORMAT")


def test_the_promise_follows_the_clocks_through_a_tickets_life(acme):
    ticket = make_ticket(acme)
    ticket = refresh(acme, ticket)
    # Filed: the first reply is owed by the first-response due time.
    due = ticket.first_response_due_at
    assert f"We will reply by {_shown(due, 'UTC')} (UTC)." in _promise(acme, ticket)

    with acme.scope():  # the agent answers: nothing is owed
        ticket_reply(ticket=ticket, author=acme.agent, body="Looking into it.")
    assert _promise(acme, ticket) == ""

    with acme.scope():  # the customer writes back: a next reply is owed
        ticket_reply(ticket=ticket, author=acme.customer, body="Still broken.")
    ticket = refresh(acme, ticket)
    assert f"We will reply by {_shown(ticket.next_response_due_at, 'UTC')}" in _promise(
        acme, ticket
    )

    set_fields(acme, ticket, status="pending")  # waiting on the customer: paused
    assert _promise(acme, ticket) == ""
    set_fields(acme, ticket, status="open")
    assert "We will reply by" in _promise(acme, ticket)
    set_fields(acme, ticket, status="solved")
    assert _promise(acme, ticket) == ""


def test_in_the_desks_time_zone_and_the_customers_language(acme):
    Tenant.objects.filter(pk=acme.tenant.pk).update(time_zone="Asia/Shanghai")
    acme.tenant.refresh_from_db()
    ticket = refresh(acme, make_ticket(acme))
    due = ticket.first_response_due_at
    english = _promise(acme, ticket)
    assert f"{_shown(due, 'Asia/Shanghai')} (Asia/Shanghai)" in english
    chinese = _promise(acme, ticket, "zh-hans")
    assert (
        f"我们将在 {_shown(due, 'Asia/Shanghai', 'zh-hans')}（Asia/Shanghai）前回复你。" in chinese
    )


def test_an_overdue_reply_is_owned_up_to(acme):
    ticket = refresh(acme, make_ticket(acme))
    with time_machine.travel(ticket.first_response_due_at + timedelta(hours=1), tick=False):
        promise = _promise(acme, ticket)
    assert "late" in promise and "sorry for the wait" in promise


def test_nothing_when_no_service_level_applies(acme):
    with acme.scope():
        SLAPolicy.objects.all().delete()
    forget_policy_book(acme.tenant.pk)
    ticket = refresh(acme, make_ticket(acme))
    assert ticket.first_response_due_at is None
    assert _promise(acme, ticket) == ""


def test_the_apology_in_chinese(acme):
    ticket = refresh(acme, make_ticket(acme))
    with time_machine.travel(ticket.first_response_due_at + timedelta(hours=1), tick=False):
        promise = _promise(acme, ticket, "zh-hans")
    assert "抱歉让你久等，我们会尽快回复。" in promise
