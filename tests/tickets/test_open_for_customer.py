"""An agent opens a ticket for a customer from the agent workspace (/agent/tickets/new/):
the customer is the requester, the description is the agent's and public, and only this
desk's customers and organizations can be chosen."""

import re

import pytest
from django.core import mail

from helpdesk.models import Membership, Role, User
from tests.access import assert_asked_to_sign_in
from tests.routes import ticket_count
from tests.tickets.factories import category, make_ticket
from tickets.models import Channel, Priority, Status, Ticket, TicketEvent
from tickets.services import ticket_reply

URL = "/agent/tickets/new/"


def _text(response) -> str:
    return response.content.decode()


def _form(desk, **fields) -> dict:
    return {
        "requester": desk.customer.pk,
        "subject": "Export stops at row 500",
        "body": "Carol called: the **March** export stops halfway.",
        "channel": "phone",
        "priority": Priority.HIGH,
        "category": category(desk, "Technical issue").pk,
        "assignee": desk.agent.pk,
        **fields,
    }


def _errors_of(page: str, field: str) -> str:
    found = re.search(rf'id="id_{field}_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def _latest(desk) -> Ticket:
    with desk.scope():
        return Ticket.objects.select_related("requester", "organization").latest("pk")


def test_an_agent_opens_a_ticket_for_a_customer(acme, django_capture_on_commit_callbacks):
    client = acme.client(acme.agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, _form(acme))
    ticket = _latest(acme)
    assert response.status_code == 302
    assert response["Location"] == f"/agent/tickets/{ticket.number}/"
    assert ticket.requester == acme.customer and ticket.organization == acme.org
    assert (ticket.channel, ticket.priority, ticket.assignee) == (
        Channel.PHONE,
        Priority.HIGH,
        acme.agent,
    )
    assert ticket.category.name == "Technical issue"
    with acme.scope():
        message = ticket.messages.get()
        trail = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", "actor"))
    # The description is the agent's, public.
    assert message.author == acme.agent and not message.is_internal
    assert ("created", acme.agent.pk) in trail and ("assignee", acme.agent.pk) in trail
    # The agent's public word is the desk's first: no first reply is owed; resolution runs.
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is not None
    assert ticket.first_agent_reply_at is not None and ticket.first_response_seconds is None
    # The customer gets the description, not "we received your request"; the admin hears
    # of a new ticket; the agent who wrote it is told nothing.
    to_customer = [m for m in mail.outbox if m.to == [acme.customer.email]]
    assert len(to_customer) == 1
    assert "Acme Analytics: Acme Analytics Agent opened request" in to_customer[0].body
    assert "the **March** export stops halfway" in to_customer[0].body
    assert "We received your request" not in to_customer[0].subject
    assert [m.to for m in mail.outbox if m.to != [acme.customer.email]] == [[acme.admin.email]]
    # Carol sees it as hers, with the agent's words.
    page = _text(acme.client(acme.customer).get(f"/tickets/{ticket.number}/"))
    assert "the <strong>March</strong> export stops halfway" in page


def test_a_customer_reply_then_owes_the_next_response(acme):
    acme.client(acme.agent).post(URL, _form(acme))
    ticket = _latest(acme)
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.customer, body="Still stuck.")
        ticket.refresh_from_db()
    assert ticket.next_response_due_at is not None
    assert ticket.sla_due_at == ticket.next_response_due_at


def test_a_new_customer_is_added_to_an_organization_and_invited(
    acme, django_capture_on_commit_callbacks
):
    data = _form(
        acme,
        requester="",
        new_email="nina@new-co.example",
        new_name="Nina New",
        new_organization=acme.other_org.pk,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = acme.client(acme.agent).post(URL, data)
    assert response.status_code == 302
    ticket = _latest(acme)
    with acme.scope():
        membership = Membership.objects.get(user__email="nina@new-co.example")
    assert (membership.role, membership.organization) == (Role.CUSTOMER, acme.other_org)
    assert ticket.requester == membership.user and ticket.organization == acme.other_org
    assert membership.user.full_name == "Nina New" and membership.user.tenant == acme.tenant
    to_nina = [m.subject for m in mail.outbox if m.to == ["nina@new-co.example"]]
    assert len(to_nina) == 2  # the invitation, and her request


def test_a_customer_of_another_desk_cannot_be_chosen(acme, globex):
    before = ticket_count(acme), ticket_count(globex)
    response = acme.client(acme.agent).post(URL, _form(acme, requester=globex.customer.pk))
    assert response.status_code == 400
    assert "Choose a customer of this help desk." in _errors_of(_text(response), "requester")
    assert (ticket_count(acme), ticket_count(globex)) == before
    assert globex.customer.email not in _text(response)


def test_an_organization_of_another_desk_cannot_be_chosen(acme, globex):
    data = _form(
        acme, requester="", new_email="nina@new-co.example", new_organization=globex.org.pk
    )
    response = acme.client(acme.agent).post(URL, data)
    assert response.status_code == 400
    assert "Choose an organization of this help desk." in _errors_of(
        _text(response), "new_organization"
    )
    with acme.scope():
        assert not User.objects.filter(email="nina@new-co.example").exists()
    assert ticket_count(acme) == 0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"requester": ""}, "requester", "Choose the customer, or give a new customer"),
        ({"requester": "abc"}, "requester", "Choose a customer of this help desk."),
        ({"requester": "", "new_email": "not-an-email"}, "new_email", "valid email"),
        ({"requester": "", "new_email": "AGENT@acme.example"}, "new_email", "already signs in"),
        ({"new_email": "nina@new-co.example"}, "new_email", "not both"),
        ({"subject": ""}, "subject", "This field is required."),
        ({"body": ""}, "body", "This field is required."),
        ({"channel": "chat"}, "channel", "Select a valid choice."),
        ({"priority": "9"}, "priority", "Select a valid choice."),
        ({"assignee": "999999"}, "assignee", "Select a valid choice."),
    ],
)
def test_bad_input_is_an_error_beside_its_field_and_opens_nothing(acme, change, field, message):
    response = acme.client(acme.agent).post(URL, _form(acme, **change))
    assert response.status_code == 400
    assert message in _errors_of(_text(response), field), _text(response)
    assert ticket_count(acme) == 0
    # What was typed is kept.
    assert "Export stops at row 500" in _text(response) or change.get("subject") == ""


def test_an_agent_of_the_desk_cannot_be_the_requester(acme):
    response = acme.client(acme.agent).post(URL, _form(acme, requester=acme.admin.pk))
    assert response.status_code == 400
    assert "Choose a customer of this help desk." in _errors_of(_text(response), "requester")


def test_who_may_open_tickets_for_customers(acme, globex):
    assert_asked_to_sign_in(acme.client().get(URL))
    assert_asked_to_sign_in(acme.client(globex.agent).post(URL, _form(acme)))
    assert acme.client(acme.customer).post(URL, _form(acme)).status_code == 403
    assert acme.client(acme.agent).put(URL).status_code == 405
    assert ticket_count(acme) == 0


def test_the_search_finds_this_desks_customers_only(acme, globex):
    client = acme.client(acme.agent)
    page = _text(client.get(URL))
    assert "Carol Customer" in page and "Oscar Other" in page
    assert acme.agent.email not in page.split('id="customer-choices"')[1].split("</fieldset>")[0]
    found = _text(client.get("/agent/customers/search/", {"q": "other co"}))
    assert "Oscar Other" in found and "Carol Customer" not in found
    by_email = _text(client.get("/agent/customers/search/", {"q": "carol@"}))
    assert "Carol Customer" in by_email and "globex" not in by_email
    nobody = _text(client.get("/agent/customers/search/", {"q": "oscar@globex-other"}))
    assert "No customer matches" in nobody
    assert acme.client(acme.customer).get("/agent/customers/search/").status_code == 403
    assert_asked_to_sign_in(acme.client(globex.agent).get("/agent/customers/search/"))


def test_a_refused_form_keeps_the_chosen_customer_ticked(acme):
    response = acme.client(acme.agent).post(
        URL, _form(acme, requester=acme.other_customer.pk, subject="")
    )
    page = _text(response)
    assert re.search(rf'value="{acme.other_customer.pk}" checked', page)


def test_a_ticket_for_one_organization_stays_out_of_the_others_sight(acme):
    acme.client(acme.agent).post(URL, _form(acme, requester=acme.other_customer.pk))
    ticket = _latest(acme)
    assert ticket.organization == acme.other_org
    assert acme.client(acme.customer).get(f"/tickets/{ticket.number}/").status_code == 404
    assert acme.client(acme.other_customer).get(f"/tickets/{ticket.number}/").status_code == 200
    assert ticket.status == Status.NEW
    make_ticket(acme)  # Carol's own still numbers on
