"""Callback requests: offered by plan (page and server), a window inside the phone hours,
a ticket on the phone channel opened as any other, and a due time the queue sorts by."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from phone.models import CallbackRequest
from phone.services import call_log, callback_request
from sla.models import SLAPolicy
from sla.selectors import forget_policy_book
from tests.access import assert_asked_to_sign_in
from tests.phone.helpers import at, form_data, next_monday, offer_phone
from tests.routes import ticket_count
from tests.tickets.factories import make_ticket, refresh
from tickets.models import Channel, Ticket, TicketEvent

URL = "/callback/"


def _text(response) -> str:
    return response.content.decode()


def _request(desk, user=None, **fields):
    return desk.client(user or desk.customer).post(URL, form_data(**fields))


def _callback_ticket(desk) -> Ticket:
    with desk.scope():
        return Ticket.objects.filter(channel=Channel.PHONE).latest("pk")


def _set_first_response_target(desk, plan, minutes: int) -> None:
    with desk.scope():
        SLAPolicy.objects.filter(plan=plan, priority=None).update(first_response_minutes=minutes)
    forget_policy_book(desk.tenant.pk)


# -- the request ----------------------------------------------------------------------------


def test_a_customer_whose_plan_offers_phone_gets_a_phone_ticket_with_a_callback_due(
    acme, django_capture_on_commit_callbacks
):
    offer_phone(acme)
    day = next_monday()
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(acme, day=day, start="10:00", end="11:30")
    ticket = _callback_ticket(acme)
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.number}/"
    assert ticket.requester == acme.customer and ticket.organization == acme.org
    assert ticket.subject == "Walk me through the export settings"
    assert ticket.callback_window_start == at(day, 10)
    assert ticket.callback_due_at == at(day, 11, 30)
    # The same path as any request: SLA clocks, the audit trail, emails.
    assert ticket.first_response_due_at is not None
    assert ticket.sla_due_at == min(ticket.first_response_due_at, ticket.callback_due_at)
    with acme.scope():
        callback = CallbackRequest.objects.get(ticket=ticket)
        assert callback.phone_number == "+8613800138000"  # stored in E.164
        assert ticket.messages.get().body == "Best on my mobile."
        kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", "new_value"))
    assert ("created", "Phone") in kinds
    assert any(kind == "callback" for kind, _value in kinds)
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == sorted([acme.customer.email, acme.agent.email, acme.admin.email])
    ack = next(m for m in mail.outbox if m.to == [acme.customer.email])
    assert "We will call you back in the window you chose:" in ack.body
    # The customer's page says when we will call, and on which number.
    page = _text(acme.client(acme.customer).get(response["Location"]))
    assert "We will call you at +86 138 0013 8000" in page


def test_the_form_offers_the_number_the_customer_used_last(acme):
    offer_phone(acme)
    first = _text(acme.client(acme.customer).get(URL))
    assert 'name="phone_number"' in first and 'value="+' not in first
    _request(acme, phone_number="0044 20 7946 0958")
    again = _text(acme.client(acme.customer).get(URL))
    assert 'value="+442079460958"' in again
    # Someone else's number is never offered.
    assert "+442079460958" not in _text(acme.client(acme.other_customer).get(URL))


def test_the_phone_hours_and_their_time_zone_are_stated_on_the_form(acme):
    offer_phone(acme)
    page = _text(acme.client(acme.customer).get(URL))
    assert "Mon-Fri 9:00-18:00 (UTC)" in page
    assert 'type="date"' in page and 'type="time"' in page


# -- offered by plan -------------------------------------------------------------------------


def test_a_plan_without_phone_shows_what_a_higher_plan_gives_and_no_form(acme):
    response = acme.client(acme.other_customer).get(URL)  # Oscar, on Free
    page = _text(response)
    assert response.status_code == 200
    assert 'name="phone_number"' not in page
    assert "Phone support is not part of the Free plan." in page
    assert "phone support: ask for a callback in a window that suits you" in page
    assert "Pro+" in page  # the plan that offers it, with its way up
    assert "Ask us about Pro+" in page or "Upgrade to Pro+" in page


def test_the_home_page_links_callbacks_only_where_the_plan_offers_phone(acme):
    assert URL not in _text(acme.client(acme.customer).get("/"))  # Pro, no phone yet
    offer_phone(acme)
    assert f'href="{URL}"' in _text(acme.client(acme.customer).get("/"))
    assert f'href="{URL}"' in _text(acme.client(acme.customer).get("/tickets/new/"))
    assert f'href="{URL}"' not in _text(acme.client(acme.other_customer).get("/"))


def test_the_server_refuses_a_callback_from_a_plan_without_phone(acme):
    before = ticket_count(acme)
    response = _request(acme, acme.other_customer)
    assert response.status_code == 403
    assert "We could not take this callback request" in _text(response)
    assert ticket_count(acme) == before
    with acme.scope(), pytest.raises(PermissionDenied):
        callback_request(
            tenant=acme.tenant,
            requester=acme.other_customer,
            phone_number="+86 138 0013 8000",
            window_start=at(next_monday(), 10),
            window_end=at(next_monday(), 12),
            subject="Call me",
        )
    assert ticket_count(acme) == before


def test_people_of_another_desk_and_agents_cannot_request_one(acme, globex):
    offer_phone(acme)
    offer_phone(globex)
    before = ticket_count(acme)
    stranger = acme.client(globex.customer)
    assert_asked_to_sign_in(stranger.get(URL))
    assert_asked_to_sign_in(stranger.post(URL, form_data()))
    assert_asked_to_sign_in(acme.client().post(URL, form_data()))
    with acme.scope(), pytest.raises(PermissionDenied):
        callback_request(
            tenant=acme.tenant,
            requester=acme.agent,
            phone_number="+86 138 0013 8000",
            window_start=at(next_monday(), 10),
            window_end=at(next_monday(), 12),
            subject="Call me",
        )
    assert ticket_count(acme) == before


# -- the window and the number: form errors in place ----------------------------------------


def _errors_of(page: str, field: str) -> str:
    """The errors Django lists beside a field (its `id_<name>_error` list)."""
    found = re.search(rf'id="id_{field}_error">(.*?)</ul>', page, re.S)
    return found.group(1) if found else ""


def _saturday():
    return next_monday() + timedelta(days=5)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"day": "saturday"}, "day", "We call back during our phone hours, Mon-Fri 9:00-18:00"),
        ({"start": "17:30", "end": "19:00"}, "day", "Choose a window inside them."),
        ({"start": "07:00", "end": "09:30"}, "day", "Choose a window inside them."),
        ({"start": "12:00", "end": "11:00"}, "end_time", "The window must end after it starts."),
        ({"start": "10:00", "end": "10:15"}, "end_time", "a window of at least 30 minutes"),
        ({"day": "far"}, "day", "Choose a day within the next 30 days."),
        ({"day": "past"}, "end_time", "ends at least 30 minutes from now"),
        ({"day": "2026/12/07"}, "day", "Enter a valid date."),
        ({"start": "25:00"}, "start_time", "Enter a valid time."),
    ],
)
def test_a_window_we_cannot_keep_is_an_error_beside_its_field(acme, fields, field, message):
    offer_phone(acme)
    days = {
        "saturday": _saturday().isoformat(),
        "far": (next_monday() + timedelta(weeks=6)).isoformat(),
        "past": (next_monday() - timedelta(weeks=2)).isoformat(),
    }
    data = form_data(start=fields.get("start", "10:00"), end=fields.get("end", "12:00"))
    if "day" in fields:
        data["day"] = days.get(fields["day"], fields["day"])
    before = ticket_count(acme)
    response = acme.client(acme.customer).post(URL, data)
    page = _text(response)
    assert response.status_code == 400
    assert ticket_count(acme) == before
    # The error sits in the field's group, and what was typed is kept.
    assert message in _errors_of(page, field), page
    assert 'value="Walk me through the export settings"' in page


@pytest.mark.parametrize("number", ["12345", "+1 555 0100", "+86 123", "call me", "138 0013 8000"])
def test_a_number_that_is_not_one_is_an_error_beside_it(acme, number):
    offer_phone(acme)
    before = ticket_count(acme)
    response = _request(acme, phone_number=number)
    page = _text(response)
    assert response.status_code == 400
    assert "country code" in _errors_of(page, "phone_number")
    assert ticket_count(acme) == before


def test_a_desk_open_around_the_clock_takes_any_hour(acme):
    # Pro+ counts around the clock by default: its customers may choose a Saturday night.
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
    response = _request(acme, day=_saturday(), start="02:00", end="03:00")
    assert response.status_code == 302
    assert _callback_ticket(acme).callback_due_at == at(_saturday(), 3)


# -- the queue ------------------------------------------------------------------------------


def _queue_numbers(desk) -> list[int]:
    page = _text(desk.client(desk.agent).get("/agent/"))
    return [int(n) for n in re.findall(r"<td>#(\d+)</td>", page)]


def test_the_queue_sorts_a_callback_by_its_due_time_until_the_call_is_made(acme):
    offer_phone(acme)
    # Pro answers in 300 business hours here (later than any callback of these tests),
    # Free in 30 minutes (sooner than any of them).
    _set_first_response_target(acme, acme.pro, 300 * 60)
    _set_first_response_target(acme, acme.free, 30)
    written = make_ticket(acme, subject="Written request")
    _request(acme)
    callback = _callback_ticket(acme)
    hurried = make_ticket(acme, acme.other_customer, subject="Free and due soon")
    assert callback.sla_due_at == callback.callback_due_at
    assert _queue_numbers(acme) == [hurried.number, callback.number, written.number]
    # An answered outbound call makes the callback: the ticket sorts by its own clocks.
    with acme.scope():
        call_log(
            ticket=callback,
            agent=acme.agent,
            direction="outbound",
            outcome="answered",
            duration_seconds=95,
        )
    callback = refresh(acme, callback)
    assert callback.callback_due_at is None
    assert callback.sla_due_at == min(callback.first_response_due_at, callback.resolution_due_at)
    assert _queue_numbers(acme) == [hurried.number, written.number, callback.number]


def test_a_pending_callback_ticket_waits_like_its_clocks(acme):
    offer_phone(acme)
    _request(acme)
    ticket = _callback_ticket(acme)
    with acme.scope():
        from tickets.services import ticket_update

        ticket_update(ticket=ticket, actor=acme.agent, status="pending")
        ticket.refresh_from_db()
        assert ticket.sla_due_at is None and ticket.callback_due_at is not None
        ticket_update(ticket=ticket, actor=acme.agent, status="open")
        ticket.refresh_from_db()
    assert ticket.sla_due_at == min(ticket.first_response_due_at, ticket.callback_due_at)


def test_the_badge_says_callback_by_in_the_desks_time_zone(acme):
    offer_phone(acme)
    acme.tenant.time_zone = "Asia/Shanghai"
    acme.tenant.save()
    _request(acme, start="10:00", end="12:00")
    ticket = _callback_ticket(acme)
    shanghai = timezone.localtime(ticket.callback_due_at, acme.tenant.tzinfo)
    assert shanghai.hour == 20  # 12:00 UTC
    badge = f"Callback by {date_format(shanghai, 'SHORT_DATETIME_FORMAT')}"
    agent = acme.client(acme.agent)
    assert badge in _text(agent.get("/agent/"))
    assert badge in _text(agent.get(f"/agent/tickets/{ticket.number}/"))
    # The customer's own page names the number and the window, not the agents' badge.
    customer_page = _text(acme.client(acme.customer).get(f"/tickets/{ticket.number}/"))
    assert "Callback by" not in customer_page and "(Asia/Shanghai)" in customer_page


def test_the_queue_query_count_does_not_grow_with_callbacks(acme, django_assert_num_queries):
    offer_phone(acme)
    for hour in (9, 11):
        _request(acme, start=f"{hour:02d}:00", end=f"{hour + 1:02d}:00")
    client = acme.client(acme.agent)
    client.get("/agent/")
    with CaptureQueriesContext(connection) as few:
        client.get("/agent/")
    # Counted now: the requests below empty the connection's log the slice reads.
    count = len(few.captured_queries)
    for hour in (12, 13, 14, 15, 16):
        _request(acme, start=f"{hour:02d}:00", end=f"{hour + 1:02d}:00")
    with django_assert_num_queries(count):
        page = _text(client.get("/agent/"))
    assert page.count("Callback by") == 7
