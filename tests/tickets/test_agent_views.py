"""The agent workspace: the queue, bulk changes and the ticket page.

Every page is checked for the same things: it works for agents, anonymous
visitors go to the login page, people of another tenant get the no-access page,
customers get the "not for your role" page, and a wrong HTTP method is a 405.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Role
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tests.tickets.factories import (
    category,
    make_ticket,
    message_count,
    refresh,
    set_fields,
    upload,
)
from tickets.models import Macro, Priority, Status, TicketEvent
from tickets.services import ticket_add_note, ticket_reply, ticket_update


def _text(response) -> str:
    return response.content.decode()


def _numbers(html: str) -> list[int]:
    """The ticket numbers listed in the queue, in page order."""
    return [int(n) for n in re.findall(r"<td>#(\d+)</td>", html)]


def _event_count(desk) -> int:
    with desk.scope():
        return TicketEvent.objects.count()


def _macro(desk, **fields) -> Macro:
    fields.setdefault("name", "Ask for a screenshot")
    fields.setdefault(
        "body",
        "Hi {{ customer.first_name }}, could you send a screenshot for "
        "#{{ ticket.number }}? {{ agent.name }}",
    )
    with desk.scope():
        return Macro.objects.create(tenant=desk.tenant, **fields)


# -- the access matrix ----------------------------------------------------------------------

# (method, path, data) for every agent page; {n} is a ticket number, {m} a macro id.
AGENT_PAGES = [
    ("get", "/agent/", {}),
    ("get", "/agent/customers/", {}),
    ("post", "/agent/tickets/bulk/", {"selected": ["{n}"], "status": "solved"}),
    ("get", "/agent/tickets/{n}/", {}),
    ("post", "/agent/tickets/{n}/respond/", {"body": "Sneaky reply"}),
    (
        "post",
        "/agent/tickets/{n}/change/",
        {"status": "solved", "priority": "2", "category": "", "assignee": "", "tags": "x"},
    ),
    ("post", "/agent/tickets/{n}/merge/", {"target": "{n2}"}),
    ("get", "/agent/tickets/{n}/presence/", {}),
    ("post", "/agent/tickets/{n}/presence/", {"typing": "1"}),
    ("get", "/agent/tickets/{n}/macros/{m}/", {}),
    # {u}: the review key of unverified mail held on ticket {n2}.
    ("post", "/agent/tickets/{n2}/mail/{u}/review/", {"decision": "publish"}),
]
TICKET_PAGES = [(m, p, d) for m, p, d in AGENT_PAGES if "{n}/" in p]


def _fill(value, **numbers):
    if isinstance(value, list):
        return [_fill(v, **numbers) for v in value]
    return value.format(**numbers)


def _call(client, method, path, data, **numbers):
    data = {key: _fill(value, **numbers) for key, value in data.items()}
    return getattr(client, method)(path.format(**numbers), data)


@pytest.fixture
def two_tickets(acme):
    """A ticket, a second one (as merge target, holding unverified mail) and a macro at Acme."""
    ticket = make_ticket(acme, subject="Acme-only dashboard question")
    other = make_ticket(acme, subject="Second ticket")
    note = _unverified_mail(acme, other)
    return {
        "n": ticket.number,
        "n2": other.number,
        "m": _macro(acme).pk,
        "u": note.review_key,
        "ticket": ticket,
        "note": note,
    }


def _unverified_mail(desk, ticket):
    from tickets.models import SenderCheck, SenderEvidence
    from tickets.services import MailOrigin, ticket_add_unverified_mail

    origin = MailOrigin(
        desk.customer.email, SenderCheck.UNVERIFIED, SenderEvidence.NO_TOKEN, {"dmarc": "none"}
    )
    with desk.scope():
        return ticket_add_unverified_mail(ticket=ticket, mail_origin=origin, body="Mine, really")


def _unchanged(desk, ticket, note=None) -> None:
    if note is not None:  # unverified mail stays a note, unreviewed
        with desk.scope():
            note.refresh_from_db()
        assert note.is_internal and note.reviewed_at is None
    ticket = refresh(desk, ticket)
    assert ticket.status == Status.NEW
    assert ticket.priority == Priority.MEDIUM
    assert ticket.merged_into is None
    assert message_count(desk, ticket) == 1


def _numbers_of(two_tickets):
    return {k: v for k, v in two_tickets.items() if k not in ("ticket", "note")}


@pytest.mark.parametrize(("method", "path", "data"), AGENT_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(acme, two_tickets, method, path, data):
    response = _call(acme.client(), method, path, data, **_numbers_of(two_tickets))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    _unchanged(acme, two_tickets["ticket"], two_tickets["note"])


@pytest.mark.parametrize(("method", "path", "data"), AGENT_PAGES)
def test_customers_get_the_not_for_your_role_page(acme, two_tickets, method, path, data):
    client = acme.client(acme.customer)  # the requester of the ticket herself
    response = _call(client, method, path, data, **_numbers_of(two_tickets))
    assert response.status_code == 403
    page = _text(response)
    assert "This page is not for your role" in page
    assert "Only people with the Agent role can open this page." in page
    _unchanged(acme, two_tickets["ticket"], two_tickets["note"])


@pytest.mark.parametrize("persona", ["agent", "admin", "customer"])
@pytest.mark.parametrize(("method", "path", "data"), AGENT_PAGES)
def test_people_of_another_desk_are_asked_to_sign_in(
    acme, globex, two_tickets, persona, method, path, data
):
    client = acme.client(getattr(globex, persona))
    response = _call(client, method, path, data, **_numbers_of(two_tickets))
    assert_asked_to_sign_in(response)
    assert "Acme-only dashboard question" not in _text(response)
    _unchanged(acme, two_tickets["ticket"], two_tickets["note"])


@pytest.mark.parametrize(("method", "path", "data"), TICKET_PAGES)
def test_a_number_that_exists_only_at_another_tenant_is_404(acme, globex, method, path, data):
    make_ticket(globex, subject="Globex one")
    globex_only = make_ticket(globex, subject="Globex secret migration")
    make_ticket(acme)
    macro = _macro(acme)
    response = _call(acme.client(acme.agent), method, path, data, n=2, n2=1, m=macro.pk)
    assert response.status_code == 404
    assert "Globex secret migration" not in _text(response)
    globex_only = refresh(globex, globex_only)
    assert globex_only.status == Status.NEW and globex_only.merged_into is None
    assert message_count(globex, globex_only) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/agent/"),
        ("post", "/agent/customers/"),
        ("get", "/agent/tickets/bulk/"),
        ("post", "/agent/tickets/{n}/"),
        ("get", "/agent/tickets/{n}/respond/"),
        ("get", "/agent/tickets/{n}/change/"),
        ("get", "/agent/tickets/{n}/merge/"),
        ("put", "/agent/tickets/{n}/presence/"),
        ("post", "/agent/tickets/{n}/macros/{m}/"),
        ("get", "/agent/tickets/{n2}/mail/{u}/review/"),
    ],
)
def test_wrong_http_method_is_405(acme, two_tickets, method, path):
    response = _call(acme.client(acme.agent), method, path, {}, **_numbers_of(two_tickets))
    assert response.status_code == 405
    _unchanged(acme, two_tickets["ticket"], two_tickets["note"])


# -- the queue ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["agent", "admin"])
def test_queue_lists_unsolved_tickets_most_urgent_first_then_oldest(acme, persona):
    import time_machine

    # Filed at one instant on the same plan, so their SLA clocks end together (the
    # queue's first key): then the most urgent comes first, then the oldest.
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), tick=False):
        low = make_ticket(acme, subject="Typo in footer", priority=Priority.LOW)
        medium_old = make_ticket(acme, subject="Chart colors off")
        high = make_ticket(acme, subject="Export fails", priority=Priority.HIGH)
        urgent = make_ticket(
            acme, subject="Site is down", priority=Priority.URGENT, actor=acme.agent
        )
        medium_new = make_ticket(acme, subject="Slow dashboard")
        solved = make_ticket(acme, subject="Already fixed thing")
        set_fields(acme, solved, status=Status.SOLVED)

    page = _text(acme.client(getattr(acme, persona)).get("/agent/"))
    assert _numbers(page) == [
        urgent.number,
        high.number,
        medium_old.number,
        medium_new.number,
        low.number,
    ]
    assert "All open" in page
    assert "Site is down" in page and ">Urgent<" in page
    assert "Carol Customer" in page and "Acme Analytics Customer Co" in page
    assert "Already fixed thing" not in page


def test_queue_views_mine_unassigned_pending_on_hold_and_solved(acme):
    mine = make_ticket(acme, subject="Assigned to me")
    theirs = make_ticket(acme, subject="Assigned to the admin")
    unassigned = make_ticket(acme, subject="Nobody has it")
    pending = make_ticket(acme, subject="Waiting on customer")
    on_hold = make_ticket(acme, subject="Waiting on vendor")
    solved = make_ticket(acme, subject="Done and dusted")
    set_fields(acme, mine, assignee=acme.agent)
    set_fields(acme, theirs, assignee=acme.admin)
    set_fields(acme, pending, status=Status.PENDING, assignee=acme.agent)
    set_fields(acme, on_hold, status=Status.ON_HOLD, assignee=acme.admin)
    set_fields(acme, solved, status=Status.SOLVED, assignee=acme.agent)
    client = acme.client(acme.agent)

    def listed(view):
        return _numbers(_text(client.get("/agent/", {"view": view})))

    assert listed("mine") == [mine.number, pending.number]
    assert listed("unassigned") == [unassigned.number]
    assert listed("pending") == [pending.number]
    assert listed("on_hold") == [on_hold.number]
    assert listed("solved") == [solved.number]
    page = _text(client.get("/agent/", {"view": "solved"}))
    assert "Recently solved" in page and "Done and dusted" in page


def test_queue_filters_each_narrow_the_list(acme):
    billing = category(acme, "Billing")
    dave = make_member(acme.tenant, "dave@acme-co.example", Role.CUSTOMER, organization=acme.org)
    high = make_ticket(acme, subject="High one", priority=Priority.HIGH)
    billed = make_ticket(acme, subject="Billing one", category=billing)
    free_org = make_ticket(acme, acme.other_customer, subject="Free plan one")
    tagged = make_ticket(acme, subject="Tagged one")
    assigned = make_ticket(acme, subject="Assigned one")
    by_dave = make_ticket(acme, dave, subject="Dave wrote this")
    pending = make_ticket(acme, subject="Pending one")
    set_fields(acme, tagged, tags=["vip"])
    set_fields(acme, assigned, assignee=acme.admin)
    set_fields(acme, pending, status=Status.PENDING)
    client = acme.client(acme.agent)

    def listed(**query):
        return _numbers(_text(client.get("/agent/", query)))

    assert listed(status="pending") == [pending.number]
    assert listed(priority=Priority.HIGH) == [high.number]
    assert listed(category=billing.pk) == [billed.number]
    assert listed(plan=acme.free.pk) == [free_org.number]
    assert listed(organization=acme.other_org.pk) == [free_org.number]
    assert listed(assignee=acme.admin.pk) == [assigned.number]
    assert listed(tag="VIP") == [tagged.number]
    assert listed(q="billing") == [billed.number]
    assert listed(q="dave@acme") == [by_dave.number]
    assert listed(q=f"#{assigned.number}") == [assigned.number]
    assert listed(q=str(pending.number)) == [pending.number]


def test_queue_filters_combine_through_the_query_string(acme):
    billing = category(acme, "Billing")
    wanted = make_ticket(acme, subject="Refund please", priority=Priority.HIGH, category=billing)
    make_ticket(acme, subject="Refund later", priority=Priority.LOW, category=billing)
    make_ticket(acme, subject="Refund technical", priority=Priority.HIGH)
    make_ticket(
        acme, acme.other_customer, subject="Refund free", priority=Priority.HIGH, category=billing
    )
    response = acme.client(acme.agent).get(
        f"/agent/?priority=2&priority=1&category={billing.pk}&plan={acme.pro.pk}"
        f"&organization={acme.org.pk}&q=refund"
    )
    page = _text(response)
    assert _numbers(page) == [wanted.number]
    # The filters stay in the links to the other views, so switching keeps them.
    assert f"category={billing.pk}" in page and "view=mine" in page


@pytest.mark.parametrize(
    "query",
    [
        "view=bogus",
        "status=bogus",
        "priority=9",
        "priority=abc",
        "category=abc",
        "category=999999",
        "plan=-1",
        "assignee=99999999999999999999",
        "tag=" + "x" * 300,
        "q=" + "%25" * 500,
        "page=abc",
        "page=0",
        "page=99999999999999999999",
        "selected=abc",
    ],
)
def test_invalid_filter_values_do_not_break_the_queue(acme, query):
    make_ticket(acme, subject="Still here")
    response = acme.client(acme.agent).get(f"/agent/?{query}")
    assert response.status_code == 200
    page = _text(response)
    assert "Apply filters" in page
    if not query.startswith(("page=9", "tag=", "q=")):
        assert "Still here" in page


def test_queue_pages_keep_the_filters(acme, monkeypatch):
    monkeypatch.setattr("tickets.selectors.PAGE_SIZE", 2)
    tickets = [make_ticket(acme, subject=f"Paged {i}", priority=Priority.HIGH) for i in range(5)]
    make_ticket(acme, subject="Filtered out", priority=Priority.LOW)
    client = acme.client(acme.agent)
    first = _text(client.get("/agent/?priority=2"))
    assert _numbers(first) == [tickets[0].number, tickets[1].number]
    assert "priority=2&amp;page=2" in first and ">Next<" in first
    assert ">Previous<" not in first
    second = _text(client.get("/agent/?priority=2&page=2"))
    assert _numbers(second) == [tickets[2].number, tickets[3].number]
    assert ">Previous<" in second and ">Next<" in second
    last = _text(client.get("/agent/?priority=2&page=3"))
    assert _numbers(last) == [tickets[4].number]
    assert ">Next<" not in last


def test_htmx_refresh_returns_only_the_rows_and_keeps_the_selection(acme):
    first = make_ticket(acme, subject="First")
    second = make_ticket(acme, subject="Second")
    client = acme.client(acme.agent)
    response = client.get(
        "/agent/", {"selected": [str(second.number)]}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = _text(response)
    assert page.lstrip().startswith('<div id="queue-rows"')
    assert "<html" not in page and "Apply filters" not in page
    assert _numbers(page) == [first.number, second.number]
    boxes = dict(re.findall(r'<input type="checkbox" name="selected" value="(\d+)"([^>]*)>', page))
    assert "checked" in boxes[str(second.number)]
    assert "checked" not in boxes[str(first.number)]
    # The same URL without htmx is the full page.
    assert "<html" in _text(client.get("/agent/"))


def test_bulk_assign_applies_to_every_selected_ticket(acme):
    a, b, c = (make_ticket(acme, subject=f"Bulk {i}") for i in range(3))
    response = acme.client(acme.admin).post(
        "/agent/tickets/bulk/",
        {"selected": [a.number, b.number], "assignee": acme.agent.pk, "next": "/agent/"},
        follow=True,
    )
    assert response.redirect_chain == [("/agent/", 302)]
    assert "Updated 2 tickets." in _text(response)
    assert refresh(acme, a).assignee == acme.agent
    assert refresh(acme, b).assignee == acme.agent
    assert refresh(acme, c).assignee is None
    with acme.scope():
        assert TicketEvent.objects.filter(kind="assignee").count() == 2
    mine = _text(acme.client(acme.agent).get("/agent/?view=mine"))
    assert _numbers(mine) == [a.number, b.number]


def test_bulk_status_applies_and_returns_to_the_filtered_queue(acme):
    a, b = make_ticket(acme, subject="One"), make_ticket(acme, subject="Two")
    response = acme.client(acme.agent).post(
        "/agent/tickets/bulk/",
        {"selected": [a.number, b.number], "status": "pending", "next": "/agent/?view=pending"},
        follow=True,
    )
    assert response.redirect_chain == [("/agent/?view=pending", 302)]
    page = _text(response)
    assert "Updated 2 tickets." in page
    assert _numbers(page) == [a.number, b.number]
    assert refresh(acme, a).status == refresh(acme, b).status == Status.PENDING


def test_bulk_does_not_redirect_off_the_workspace(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.agent).post(
        "/agent/tickets/bulk/",
        {"selected": [ticket.number], "status": "open", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/agent/"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"status": "solved"}, "Select at least one ticket."),
        ({"selected": ["{n}"], "assignee": "{globex_agent}"}, "Select a valid choice."),
        ({"selected": ["{n}"], "assignee": "{customer}"}, "Select a valid choice."),
        ({"selected": ["{n}"]}, "Choose a status or an assignee to apply."),
        ({"selected": ["{n}"], "status": "closed"}, "Select a valid choice."),
        ({"selected": ["abc"], "status": "solved"}, "That selection is not valid."),
    ],
)
def test_bulk_with_bad_input_shows_an_error_and_changes_nothing(acme, globex, data, error):
    ticket = make_ticket(acme)
    events = _event_count(acme)
    data = {
        key: _fill(value, n=ticket.number, globex_agent=globex.agent.pk, customer=acme.customer.pk)
        for key, value in data.items()
    }
    response = acme.client(acme.agent).post("/agent/tickets/bulk/", data, follow=True)
    assert response.status_code == 200
    assert error in _text(response)
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.NEW and ticket.assignee is None
    assert _event_count(acme) == events


def test_bulk_is_all_or_nothing(acme):
    fine = make_ticket(acme, subject="Fine")
    closed = make_ticket(acme, subject="Closed already")
    set_fields(acme, closed, status=Status.CLOSED)
    response = acme.client(acme.agent).post(
        "/agent/tickets/bulk/",
        {"selected": [fine.number, closed.number], "status": "open"},
        follow=True,
    )
    assert "A closed ticket cannot change status." in _text(response)
    assert refresh(acme, fine).status == Status.NEW


def test_bulk_cannot_touch_tickets_of_another_tenant(acme, globex):
    make_ticket(acme)
    globex_ticket = make_ticket(globex)
    make_ticket(globex)
    acme.client(acme.agent).post(
        "/agent/tickets/bulk/", {"selected": [1, 2], "status": "solved"}, follow=True
    )
    assert refresh(globex, globex_ticket).status == Status.NEW


# -- the ticket page ------------------------------------------------------------------------


def test_ticket_page_shows_the_thread_with_internal_notes_marked(acme):
    ticket = make_ticket(acme, subject="Dashboard is blank", body="It shows nothing at all.")
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body="Which browser do you use?")
        ticket_add_note(
            ticket=ticket,
            author=acme.admin,
            body="Known bug in build 41.",
            uploads=[upload("debug.txt", b"trace")],
        )
    response = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/")
    assert response.status_code == 200
    page = _text(response)
    assert "Dashboard is blank" in page and f"#{ticket.number}" in page
    assert 'class="status status-open">Open<' in page
    assert "It shows nothing at all." in page
    assert "Which browser do you use?" in page
    note = re.search(r'<li class="message-item internal"[^>]*>(.*?)</li>\s*\n', page, re.S)
    assert note is not None
    assert "Known bug in build 41." in note.group(1)
    assert '<span class="badge note">Internal note</span>' in note.group(1)
    assert "debug.txt" in note.group(1)
    assert page.count('<span class="badge note">Internal note</span>') == 1


def test_ticket_page_shows_the_audit_trail(acme):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, priority=Priority.HIGH, assignee=acme.admin)
    page = _text(acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/"))
    assert "History" in page
    assert "<strong>Carol Customer</strong> created the ticket: Web" in page
    assert (
        "<strong>Acme Analytics Agent</strong> changed the priority: <del>Medium</del> → High"
    ) in page
    assert "changed the assignee: Acme Analytics Admin" in page


def test_ticket_page_shows_the_customer_context_and_nothing_of_globex(acme, globex):
    with acme.scope():
        acme.org.arr = Decimal("120000")
        acme.org.save()
    # An address that is a customer's at both desks (an account at each).
    both = make_member(
        acme.tenant, "pat@acme-co.example", Role.CUSTOMER, organization=acme.org, full_name="Pat"
    )
    at_globex = make_member(
        globex.tenant, "pat@acme-co.example", Role.CUSTOMER, organization=globex.org
    )
    ticket = make_ticket(acme, both, subject="Current problem")
    make_ticket(acme, both, subject="Earlier problem")
    make_ticket(acme, subject="Colleague problem")
    make_ticket(globex, at_globex, subject="Globex secret migration")
    page = _text(acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/"))
    assert "pat@acme-co.example" in page
    assert "Acme Analytics Customer Co" in page
    assert "<dd>Pro · first reply within 24 business hours (Mon-Fri 9:00-18:00, UTC)</dd>" in page
    assert "120,000 USD" in page
    assert "Their other requests" in page and "Earlier problem" in page
    assert "Organization's recent requests" in page and "Colleague problem" in page
    assert "Globex secret migration" not in page
    assert "Globex" not in page  # no globex organization, agent or ticket anywhere


def test_public_reply_emails_the_customer(acme, django_capture_on_commit_callbacks):
    ticket = make_ticket(acme)
    mail.outbox.clear()
    client = acme.client(acme.agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{ticket.number}/respond/",
            {"body": "We are **on it**.", "status": "pending"},
        )
    assert response.status_code == 302
    assert response["Location"] == f"/agent/tickets/{ticket.number}/"
    page = _text(client.get(response["Location"]))
    assert "Reply sent." in page
    assert "We are <strong>on it</strong>." in page
    assert 'class="status status-pending">Pending<' in page
    to_customer = [m for m in mail.outbox if m.to == [acme.customer.email]]
    assert len(to_customer) == 1
    assert "We are" in to_customer[0].body
    # The customer sees the reply on their side.
    customer_page = _text(acme.client(acme.customer).get(f"/tickets/{ticket.number}/"))
    assert "We are <strong>on it</strong>." in customer_page


def test_internal_note_is_not_emailed_nor_shown_to_the_customer(
    acme, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme)
    mail.outbox.clear()
    client = acme.client(acme.agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{ticket.number}/respond/",
            {"body": "Check with billing first.", "is_internal": "on"},
            follow=True,
        )
    page = _text(response)
    assert "Note added." in page
    assert '<span class="badge note">Internal note</span>' in page
    assert "Check with billing first." in page
    assert [m for m in mail.outbox if acme.customer.email in m.to] == []
    assert refresh(acme, ticket).status == Status.NEW
    customer_page = _text(acme.client(acme.customer).get(f"/tickets/{ticket.number}/"))
    assert "Check with billing first." not in customer_page


def test_empty_response_is_an_error_in_place(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.agent).post(f"/agent/tickets/{ticket.number}/respond/", {})
    assert response.status_code == 400
    page = _text(response)
    assert "Write a message or attach a file." in page
    assert "Dashboard is blank" in page  # still the ticket page
    assert message_count(acme, ticket) == 1


def test_response_with_a_blocked_file_keeps_the_text(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.agent).post(
        f"/agent/tickets/{ticket.number}/respond/",
        {
            "body": "Run this fixer, please.",
            "attachments": [SimpleUploadedFile("fixer.bat", b"@echo off", "text/plain")],
        },
    )
    assert response.status_code == 400
    page = _text(response)
    assert "“fixer.bat” is a type of file we do not accept" in page
    assert "Run this fixer, please.</textarea>" in page
    assert message_count(acme, ticket) == 1


def test_reply_to_a_closed_ticket_says_why_and_keeps_the_text(acme):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.CLOSED)
    response = acme.client(acme.agent).post(
        f"/agent/tickets/{ticket.number}/respond/", {"body": "One more thing."}
    )
    assert response.status_code == 400
    page = _text(response)
    assert "This ticket is closed; open a new request instead." in page
    assert "One more thing.</textarea>" in page
    assert message_count(acme, ticket) == 1


# -- macros ---------------------------------------------------------------------------------


def test_macro_preview_returns_the_filled_text(acme):
    ticket = make_ticket(acme)
    macro = _macro(acme)
    response = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/macros/{macro.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert _text(response) == (
        f"Hi Carol, could you send a screenshot for #{ticket.number}? Acme Analytics Agent"
    )


def test_macro_of_another_tenant_or_inactive_is_404(acme, globex):
    ticket = make_ticket(acme)
    globex_macro = _macro(globex, name="Globex macro", body="Globex secret text")
    inactive = _macro(acme, name="Old macro", body="Old text", is_active=False)
    client = acme.client(acme.agent)
    for macro in [globex_macro, inactive]:
        response = client.get(f"/agent/tickets/{ticket.number}/macros/{macro.pk}/")
        assert response.status_code == 404
        assert "secret text" not in _text(response)
    page = _text(client.get(f"/agent/tickets/{ticket.number}/"))
    assert "Globex macro" not in page and "Old macro" not in page


def test_reply_with_a_macro_applies_its_changes(acme):
    ticket = make_ticket(acme)
    macro = _macro(acme, set_status=Status.PENDING, set_priority=Priority.HIGH)
    client = acme.client(acme.agent)
    assert "Ask for a screenshot" in _text(client.get(f"/agent/tickets/{ticket.number}/"))
    response = client.post(
        f"/agent/tickets/{ticket.number}/respond/",
        {"macro": macro.pk, "body": "Hi Carol, a screenshot please."},
        follow=True,
    )
    page = _text(response)
    assert "Reply sent." in page
    assert "Hi Carol, a screenshot please." in page
    assert "applied a macro: Ask for a screenshot" in page
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.PENDING and ticket.priority == Priority.HIGH


# -- properties, merge, presence ------------------------------------------------------------


def _change(client, ticket, **fields):
    data = {"status": "new", "priority": "3", "category": "", "assignee": "", "tags": ""}
    data.update(fields)
    return client.post(f"/agent/tickets/{ticket.number}/change/", data, follow=True)


def test_changing_properties_records_each_in_the_audit_trail(acme, globex):
    ticket = make_ticket(acme)
    billing = category(acme, "Billing")
    page = _text(acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/"))
    assert "Acme Analytics Admin" in page  # a possible assignee
    assert "Globex Agent" not in page and "Carol Customer</option>" not in page
    response = _change(
        acme.client(acme.agent),
        ticket,
        status="on_hold",
        priority=str(Priority.HIGH),
        category=str(billing.pk),
        assignee=str(acme.admin.pk),
        tags="VIP, needs reply",
    )
    assert response.redirect_chain == [(f"/agent/tickets/{ticket.number}/", 302)]
    page = _text(response)
    assert "Ticket updated." in page
    assert 'class="status status-on_hold">On hold<' in page
    assert "changed the status" in page
    assert "changed the priority: <del>Medium</del> → High" in page
    assert "changed the category: <del>Technical issue</del> → Billing" in page
    assert "changed the assignee: Acme Analytics Admin" in page
    assert "changed the tags: vip needs-reply" in page
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.ON_HOLD and ticket.priority == Priority.HIGH
    assert ticket.category == billing and ticket.assignee == acme.admin
    assert ticket.tags == ["vip", "needs-reply"]


def test_status_changes_read_as_labels_in_the_audit_trail(acme):
    ticket = make_ticket(acme)
    page = _text(_change(acme.client(acme.agent), ticket, status="on_hold"))
    # Like priority changes ("Medium → High"), a person reads the labels, not the codes.
    assert "changed the status: <del>New</del> → On hold" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("assignee", "globex_agent"),
        ("assignee", "customer"),
        ("priority", "9"),
        ("status", "bogus"),
        ("category", "globex_category"),
    ],
)
def test_bad_property_values_are_refused_in_place(acme, globex, field, value):
    ticket = make_ticket(acme)
    events = _event_count(acme)
    values = {
        "globex_agent": str(globex.agent.pk),
        "customer": str(acme.customer.pk),
        "globex_category": str(category(globex, "Billing").pk),
    }
    response = _change(acme.client(acme.agent), ticket, **{field: values.get(value, value)})
    assert response.status_code == 400
    assert "Select a valid choice." in _text(response)
    ticket = refresh(acme, ticket)
    assert ticket.assignee is None and ticket.priority == Priority.MEDIUM
    assert ticket.status == Status.NEW
    assert _event_count(acme) == events


def test_a_closed_ticket_cannot_change_status(acme):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.CLOSED)
    response = _change(acme.client(acme.agent), ticket, status="open")
    assert response.status_code == 400
    assert "A closed ticket cannot change status." in _text(response)
    assert refresh(acme, ticket).status == Status.CLOSED


def test_merge_moves_the_thread_into_the_target(acme):
    source = make_ticket(acme, subject="Duplicate report", body="Same problem again.")
    target = make_ticket(acme, subject="Original report")
    client = acme.client(acme.agent)
    response = client.post(
        f"/agent/tickets/{source.number}/merge/", {"target": target.number}, follow=True
    )
    assert response.redirect_chain == [(f"/agent/tickets/{target.number}/", 302)]
    page = _text(response)
    assert f"Merged into #{target.number}." in page
    assert "Original report" in page and "Same problem again." in page
    source_page = _text(client.get(f"/agent/tickets/{source.number}/"))
    assert f"Merged into #{target.number}." in source_page
    assert 'class="status status-closed">Closed<' in source_page
    assert refresh(acme, source).merged_into == target


@pytest.mark.parametrize("target", ["999", "2"])
def test_merge_into_a_number_that_does_not_exist_here_is_a_form_error(acme, globex, target):
    make_ticket(globex)
    make_ticket(globex)  # #2 exists at Globex only
    source = make_ticket(acme)
    response = acme.client(acme.agent).post(
        f"/agent/tickets/{source.number}/merge/", {"target": target}
    )
    assert response.status_code == 400
    page = _text(response)
    assert "There is no ticket with this number." in page
    assert f'name="target" value="{target}"' in page  # the number typed is kept
    assert refresh(acme, source).merged_into is None


def test_merge_into_itself_says_why(acme):
    source = make_ticket(acme)
    response = acme.client(acme.agent).post(
        f"/agent/tickets/{source.number}/merge/", {"target": source.number}
    )
    assert response.status_code == 400
    assert "A ticket cannot be merged into itself." in _text(response)
    assert refresh(acme, source).status == Status.NEW


def test_presence_tells_an_agent_who_else_is_viewing_or_replying(acme):
    ticket = make_ticket(acme)
    url = f"/agent/tickets/{ticket.number}/presence/"
    agent_a = acme.client(acme.admin)
    agent_b = acme.client(acme.agent)
    assert _text(agent_a.post(url)).strip() == ""  # nobody else yet

    seen_by_b = _text(agent_b.get(url))
    assert "Acme Analytics Admin is also viewing this ticket" in seen_by_b
    assert "Acme Analytics Agent" not in seen_by_b  # not yourself

    agent_a.post(url, {"typing": "1"})
    assert "Acme Analytics Admin is replying to this ticket" in _text(agent_b.post(url))
    assert "Acme Analytics Agent is also viewing this ticket" in _text(agent_a.get(url))


def test_presence_is_per_ticket_and_per_tenant(acme, globex):
    one, two = make_ticket(acme), make_ticket(acme)
    globex_ticket = make_ticket(globex)
    globex.client(globex.agent).post(f"/agent/tickets/{globex_ticket.number}/presence/")
    acme.client(acme.admin).post(f"/agent/tickets/{one.number}/presence/")
    client = acme.client(acme.agent)
    assert "Acme Analytics Admin" in _text(client.get(f"/agent/tickets/{one.number}/presence/"))
    assert "Globex Agent" not in _text(client.get(f"/agent/tickets/{one.number}/presence/"))
    assert _text(client.get(f"/agent/tickets/{two.number}/presence/")).strip() == ""


def test_customers_overview_lists_organizations_by_plan(acme, globex):
    page = _text(acme.client(acme.agent).get("/agent/customers/"))
    assert "Acme Analytics Customer Co" in page and "Acme Analytics Other Co" in page
    assert "Globex" not in page


# -- query counts ---------------------------------------------------------------------------


def _spread_tickets(desk, start, stop):
    """Tickets from several requesters and organizations, some assigned and tagged."""
    people = [desk.customer, desk.other_customer]
    for i in range(start, stop):
        ticket = make_ticket(desk, people[i % 2], subject=f"Row {i}")
        if i % 3 == 0:
            set_fields(desk, ticket, assignee=desk.admin if i % 2 else desk.agent, tags=["vip"])


def test_queue_query_count_does_not_grow_with_rows(acme, django_assert_num_queries):
    _spread_tickets(acme, 0, 5)
    client = acme.client(acme.agent)
    client.get("/agent/")
    with CaptureQueriesContext(connection) as five:
        response = client.get("/agent/")
    assert len(_numbers(_text(response))) == 5
    _spread_tickets(acme, 5, 50)
    with django_assert_num_queries(len(five.captured_queries)):
        response = client.get("/agent/")
    assert len(_numbers(_text(response))) == 50


def _grow_thread(desk, ticket, start, stop):
    with desk.scope():
        for i in range(start, stop):
            author = [desk.agent, desk.customer, desk.admin][i % 3]
            attached = [upload(f"file-{i}.txt", b"data")]
            if author == desk.admin:
                ticket_add_note(ticket=ticket, author=author, body=f"Note {i}", uploads=attached)
            else:
                ticket_reply(ticket=ticket, author=author, body=f"Reply {i}", uploads=attached)
            if i % 4 == 0:
                ticket_update(ticket=ticket, actor=desk.agent, tags=[f"t{i}"])


def test_ticket_page_query_count_does_not_grow_with_the_thread(acme, django_assert_num_queries):
    make_ticket(acme, subject="Earlier one")
    ticket = make_ticket(acme, uploads=[upload()])
    _grow_thread(acme, ticket, 0, 4)
    client = acme.client(acme.agent)
    url = f"/agent/tickets/{ticket.number}/"
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert _text(response).count('class="message-item') == 5
    _grow_thread(acme, ticket, 4, 49)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    page = _text(response)
    assert page.count('class="message-item') == 50
    assert "file-48.txt" in page


def test_tag_filter_matches_the_way_tags_are_stored(acme):
    ticket = make_ticket(acme, subject="Tagged one")
    make_ticket(acme, subject="Untagged one")
    with acme.scope():
        ticket_update(ticket=ticket, actor=acme.agent, tags=["Needs Reply"])
    body = acme.client(acme.agent).get("/agent/", {"tag": "needs reply"}).content.decode()
    assert "Tagged one" in body and "Untagged one" not in body


def test_queue_sorts_are_kept_in_the_url(acme):
    from datetime import timedelta

    import time_machine

    # A Wednesday in office hours, so the two 24-business-hour clocks end apart.
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    with time_machine.travel(wednesday - timedelta(days=2), tick=False):
        old = make_ticket(acme, subject="Old and low", priority=Priority.LOW)
    with time_machine.travel(wednesday, tick=False):
        new = make_ticket(acme, subject="New and high", priority=Priority.HIGH)
    client = acme.client(acme.agent)

    def order(**params):
        rows = client.get("/agent/", params).context["tickets"]
        return [t.number for t in rows]

    # Default: soonest SLA due time first; the old ticket's 24 h ran out first.
    assert order() == [old.number, new.number]
    assert order(sort="priority") == [new.number, old.number]
    assert order(sort="oldest") == [old.number, new.number]
    assert order(sort="newest") == [new.number, old.number]
    body = client.get("/agent/", {"sort": "oldest", "priority": [4, 2]}).content.decode()
    assert 'value="oldest" selected' in body
    assert order(sort="bogus") == [old.number, new.number]


def test_tags_typed_with_chinese_commas_are_split(acme):
    ticket = make_ticket(acme)
    client = acme.client(acme.agent)
    client.post(
        f"/agent/tickets/{ticket.number}/change/",
        {"status": "open", "priority": 3, "tags": "账单，重要、vip, later"},
    )
    with acme.scope():
        ticket.refresh_from_db()
    assert ticket.tags == ["账单", "重要", "vip", "later"]


def test_ticket_page_query_count_does_not_depend_on_the_organizations_data(
    acme, django_assert_num_queries
):
    """A success manager (or none) must not change how many queries the page makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with acme.scope():
        acme.org.success_manager = acme.agent
        acme.org.save()
    with_manager = make_ticket(acme)
    without_manager = make_ticket(acme, acme.other_customer)
    client = acme.client(acme.agent)
    counts = []
    for ticket in (with_manager, without_manager):
        client.get(f"/agent/tickets/{ticket.number}/")
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/agent/tickets/{ticket.number}/")
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_ticket_page_of_a_customer_without_organization(acme):
    """No organization list, not even of the other customers without one; same query count."""
    loner = make_member(acme.tenant, "lone@solo.example", Role.CUSTOMER, full_name="Lone Wolf")
    other_loner = make_member(acme.tenant, "other@solo2.example", Role.CUSTOMER)
    ticket = make_ticket(acme, loner, subject="Current problem")
    make_ticket(acme, loner, subject="Earlier problem")
    make_ticket(acme, other_loner, subject="Stranger problem")
    with_org = make_ticket(acme, subject="Carol problem")
    client = acme.client(acme.agent)
    counts = []
    for shown in (ticket, with_org):
        client.get(f"/agent/tickets/{shown.number}/")
        with CaptureQueriesContext(connection) as queries:
            page = _text(client.get(f"/agent/tickets/{shown.number}/"))
        counts.append(len(queries))
        if shown == ticket:
            assert "Not in an organization" in page
            assert "Their other requests" in page and "Earlier problem" in page
            assert "Organization's recent requests" not in page
            assert "Stranger problem" not in page
    assert counts[0] == counts[1]


def test_a_reply_that_fails_keeps_the_chosen_macro_and_status(acme):
    ticket = make_ticket(acme)
    macro = _macro(acme)
    _macro(acme, name="Another one")
    response = acme.client(acme.agent).post(
        f"/agent/tickets/{ticket.number}/respond/",
        {"macro": macro.pk, "status": "pending", "body": ""},
    )
    assert response.status_code == 400
    page = _text(response)
    assert "Write a message or attach a file." in page
    selected = re.findall(r'<option value="(\w+)" selected>', page)
    assert selected[:2] == [str(macro.pk), "pending"]  # the macro, "submit as"
    assert selected[2:4] == ["new", str(Priority.MEDIUM)]  # the ticket's own properties
