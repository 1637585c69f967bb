"""Solving an unassigned ticket makes the solver its assignee, whichever way it is solved
(tickets/services.py `_set_status`): the ticket page's properties, a reply submitted as
solved, a macro that solves, a bulk change and the API, each with its audit row. An
assignee already there, or chosen with the solve, stays; a customer who marks their own
request solved assigns nobody."""

import json

import pytest

from tests.api.helpers import token_client
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket, refresh, set_fields
from tickets.models import Macro, Status, TicketEvent


def _macro_that_solves(desk) -> Macro:
    with desk.scope():
        return Macro.objects.create(
            tenant=desk.tenant, name="Solved", body="Glad it works!", set_status=Status.SOLVED
        )


def _by_ticket_page(desk, ticket):
    ticket = refresh(desk, ticket)  # the form as the page shows it, status changed
    desk.client(desk.agent).post(
        f"/agent/tickets/{ticket.number}/change/",
        {
            "status": "solved",
            "priority": ticket.priority,
            "category": ticket.category_id,
            "assignee": ticket.assignee_id or "",
            "tags": "",
        },
    )


def _by_reply_submitted_as_solved(desk, ticket):
    desk.client(desk.agent).post(
        f"/agent/tickets/{ticket.number}/respond/", {"body": "Fixed now.", "status": "solved"}
    )


def _by_macro(desk, ticket):
    macro = _macro_that_solves(desk)
    desk.client(desk.agent).post(
        f"/agent/tickets/{ticket.number}/respond/", {"body": "Glad it works!", "macro": macro.pk}
    )


def _by_bulk_change(desk, ticket):
    desk.client(desk.agent).post(
        "/agent/tickets/bulk/", {"selected": [ticket.number], "status": "solved"}
    )


def _by_api(desk, ticket):
    token_client(desk, desk.agent).patch(
        f"/api/v1/tickets/{ticket.number}/",
        json.dumps({"status": "solved"}),
        content_type="application/json",
    )


PATHS = [_by_ticket_page, _by_reply_submitted_as_solved, _by_macro, _by_bulk_change, _by_api]


@pytest.mark.parametrize("solve", PATHS, ids=[p.__name__.removeprefix("_by_") for p in PATHS])
def test_the_agent_who_solves_an_unassigned_ticket_becomes_its_assignee(acme, solve):
    ticket = make_ticket(acme)
    solve(acme, ticket)
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.SOLVED
    assert ticket.assignee == acme.agent
    with acme.scope():
        event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ASSIGNEE)
    assert (event.actor, event.old_value) == (acme.agent, "")
    assert event.new_value == "Acme Analytics Agent"


@pytest.mark.parametrize("solve", PATHS, ids=[p.__name__.removeprefix("_by_") for p in PATHS])
def test_an_assigned_ticket_keeps_its_assignee_when_another_agent_solves_it(acme, solve):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, assignee=acme.admin)
    solve(acme, ticket)
    ticket = refresh(acme, ticket)
    assert (ticket.status, ticket.assignee) == (Status.SOLVED, acme.admin)
    with acme.scope():
        changes = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNEE)
        assert changes.count() == 1


def test_an_assignee_chosen_with_the_solve_wins_over_the_solver(acme):
    colleague = make_member(acme.tenant, "sam@acme.example", "agent", full_name="Sam Patel")
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.SOLVED, assignee=colleague)
    ticket = refresh(acme, ticket)
    assert ticket.assignee == colleague
    with acme.scope():
        changes = list(
            TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNEE).values_list(
                "old_value", "new_value"
            )
        )
    assert changes == [("", "Sam Patel")]


def test_a_customer_marking_their_request_solved_assigns_nobody(acme):
    ticket = make_ticket(acme)
    acme.client(acme.customer).post(f"/tickets/{ticket.number}/solve/")
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.SOLVED and ticket.assignee is None
