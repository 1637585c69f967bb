"""Call logs: agents log a call on any ticket; it shows in the agents' thread and trail,
never to the customer nor in an email; an answered outbound call makes a callback."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phone.models import CallbackRequest, CallLog
from phone.services import call_log
from tests.access import assert_asked_to_sign_in
from tests.phone.helpers import form_data, offer_phone
from tests.tickets.factories import make_ticket, refresh
from tickets.models import Channel, Ticket, TicketEvent
from tickets.services import ticket_merge

CALL = {
    "direction": "outbound",
    "outcome": "answered",
    "minutes": "3",
    "seconds": "20",
    "phone_number": "+86 138 0013 8000",
    "notes": "Walked her through the export settings.",
}


def _text(response) -> str:
    return response.content.decode()


def _url(ticket) -> str:
    return f"/agent/tickets/{ticket.number}/calls/"


def _calls(desk) -> int:
    with desk.scope():
        return CallLog.objects.count()


def test_an_agent_logs_a_call_shown_to_agents_in_the_thread_and_the_trail(
    acme, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme)
    mail.outbox.clear()
    client = acme.client(acme.agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(ticket), CALL)
    with acme.scope():
        call = CallLog.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/agent/tickets/{ticket.number}/#call{call.pk}"
    assert (call.agent, call.direction, call.outcome) == (acme.agent, "outbound", "answered")
    assert call.duration_seconds == 200 and call.phone_number == "+8613800138000"
    page = _text(client.get(f"/agent/tickets/{ticket.number}/"))
    entry = re.search(
        rf'<li class="message-item internal call" id="call{call.pk}">.*?</li>', page, re.S
    )
    assert entry is not None
    for shown in ("Call log", "Outbound call, Answered, 3:20", "+86 138 0013 8000", "Walked her"):
        assert shown in entry.group(0)
    assert "Call logged." in page
    # The trail names it, stored as codes and read as words.
    assert "logged a call: Outbound call, Answered, 3:20" in page
    # Never the customer's: not on their page, not in any email.
    customer_page = _text(acme.client(acme.customer).get(f"/tickets/{ticket.number}/"))
    assert "Walked her" not in customer_page and "Call log" not in customer_page
    assert mail.outbox == []
    with acme.scope():
        assert ticket.messages.count() == 1  # a call is no message


def test_a_call_on_a_callback_ticket_makes_the_callback_only_if_outbound_and_answered(acme):
    offer_phone(acme)
    acme.client(acme.customer).post("/callback/", form_data())
    with acme.scope():
        ticket = Ticket.objects.get(channel=Channel.PHONE)
    due = ticket.callback_due_at
    client = acme.client(acme.agent)
    client.post(_url(ticket), {**CALL, "outcome": "no_answer"})
    client.post(_url(ticket), {**CALL, "direction": "inbound"})
    assert refresh(acme, ticket).callback_due_at == due
    client.post(_url(ticket), CALL)
    ticket = refresh(acme, ticket)
    assert ticket.callback_due_at is None and ticket.callback_window_start is None
    with acme.scope():
        callback = CallbackRequest.objects.get(ticket=ticket)
        made = TicketEvent.objects.get(ticket=ticket, kind="callback", old_value="made")
    assert callback.called_by == acme.agent and callback.called_at is not None
    assert made.actor == acme.agent
    page = _text(client.get(f"/agent/tickets/{ticket.number}/"))
    assert "Callback by" not in page
    assert "callback: made" in page
    customer_page = _text(acme.client(acme.customer).get(f"/tickets/{ticket.number}/"))
    assert "We called you back at +86 138 0013 8000" in customer_page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"minutes": "abc"}, "minutes", "Enter a whole number."),
        ({"seconds": "75"}, "seconds", "less than or equal to 59"),
        ({"minutes": "-1"}, "minutes", "greater than or equal to 0"),
        ({"outcome": "exploded"}, "outcome", "Select a valid choice."),
        ({"direction": ""}, "direction", "This field is required."),
        ({"phone_number": "123"}, "phone_number", "country code"),
        ({"notes": "x" * 10_001}, "notes", "at most 10000 characters"),
    ],
)
def test_bad_input_is_an_error_beside_its_field_and_logs_nothing(acme, change, field, message):
    ticket = make_ticket(acme)
    response = acme.client(acme.agent).post(_url(ticket), {**CALL, **change})
    assert response.status_code == 400
    errors = re.search(rf'id="id_{field}_error">(.*?)</ul>', _text(response), re.S)
    assert errors and message in errors.group(1)
    assert _calls(acme) == 0


def test_anonymous_visitors_customers_and_other_desks_log_nothing(acme, globex):
    ticket = make_ticket(acme)
    assert_asked_to_sign_in(acme.client().post(_url(ticket), CALL))
    assert_asked_to_sign_in(acme.client(globex.agent).post(_url(ticket), CALL))
    assert acme.client(acme.customer).post(_url(ticket), CALL).status_code == 403
    assert acme.client(acme.agent).get(_url(ticket)).status_code == 405
    assert _calls(acme) == 0
    # The service itself takes calls from agents only.
    with acme.scope(), pytest.raises(PermissionDenied):
        call_log(
            ticket=ticket,
            agent=acme.customer,
            direction="outbound",
            outcome="answered",
            duration_seconds=1,
        )


def test_a_number_of_another_desk_is_404(acme, globex):
    make_ticket(globex)
    make_ticket(globex)
    response = acme.client(acme.agent).post("/agent/tickets/2/calls/", CALL)
    assert response.status_code == 404
    assert _calls(acme) == 0 and _calls(globex) == 0


def test_merging_moves_the_calls_to_the_ticket_they_joined(acme):
    source, target = make_ticket(acme), make_ticket(acme)
    acme.client(acme.agent).post(_url(source), CALL)
    with acme.scope():
        ticket_merge(source=source, target=target, actor=acme.agent)
        assert CallLog.objects.get().ticket == target
    page = _text(acme.client(acme.agent).get(f"/agent/tickets/{target.number}/"))
    assert "Walked her through" in page


def test_admins_see_call_logs_of_their_own_desk_in_admin(acme, globex):
    ticket = make_ticket(acme, subject="Acme call subject")
    acme.client(acme.agent).post(_url(ticket), CALL)
    other = make_ticket(globex, subject="Globex call subject")
    globex.client(globex.agent).post(_url(other), CALL)
    admin = acme.client(acme.admin)
    listing = _text(admin.get("/admin/phone/calllog/"))
    assert "Acme call subject" in listing and "Globex call subject" not in listing
    with globex.scope():
        foreign = CallLog.objects.get()
    assert admin.get(f"/admin/phone/calllog/{foreign.pk}/change/").status_code in (302, 404)
    assert admin.get("/admin/phone/calllog/add/").status_code == 403
    assert acme.client(acme.agent).get("/admin/phone/calllog/").status_code in (302, 403)
    assert admin.get("/admin/phone/callbackrequest/").status_code == 200


def _log_calls(desk, ticket, count: int) -> None:
    with desk.scope():
        for i in range(count):
            call_log(
                ticket=ticket,
                agent=[desk.agent, desk.admin][i % 2],
                direction="inbound",
                outcome="answered",
                duration_seconds=60 + i,
                notes=f"Call {i}",
            )


def test_the_ticket_page_query_count_does_not_grow_with_calls(acme, django_assert_num_queries):
    ticket = make_ticket(acme)
    _log_calls(acme, ticket, 2)
    client = acme.client(acme.agent)
    url = f"/agent/tickets/{ticket.number}/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    count = len(few.captured_queries)
    _log_calls(acme, ticket, 20)
    with django_assert_num_queries(count):
        page = _text(client.get(url))
    assert page.count('class="message-item internal call"') == 22
