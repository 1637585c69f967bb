"""The help center as customers use it: their requests, filing one, following and answering it.

Every page is checked for the same things: it works for its customer, anonymous
visitors go to the login page, people of another tenant get the no-access page,
customers of another organization get a 404, and a wrong HTTP method is a 405.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Membership, Role
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket, message_count, upload
from tickets.models import Category, Priority, Status, Ticket
from tickets.services import ticket_add_note, ticket_merge, ticket_solve, ticket_update


def _text(response) -> str:
    return response.content.decode()


def _numbers(html: str) -> list[int]:
    """The ticket numbers listed in a table, in page order."""
    return [int(n) for n in re.findall(r"<td>#(\d+)</td>", html)]


def _status(desk, ticket) -> str:
    with desk.scope():
        ticket.refresh_from_db()
        return ticket.status


def _colleague(desk):
    """A second customer of `desk.org`."""
    return make_member(
        desk.tenant,
        f"dan@{desk.tenant.slug}-co.example",
        Role.CUSTOMER,
        organization=desk.org,
        full_name="Dan Colleague",
    )


def _make_org_manager(desk, user) -> None:
    with desk.scope():
        Membership.objects.filter(user=user).update(is_org_manager=True)


# -- the access matrix ----------------------------------------------------------------------

# (method, path, data) for every help center page that shows or changes one ticket or the list.
HC_PAGES = [
    ("get", "/tickets/", {}),
    ("get", "/tickets/new/", {}),
    ("post", "/tickets/new/", {"subject": "Sneaky", "body": "Sneaky body"}),
    ("get", "/tickets/{n}/", {}),
    ("post", "/tickets/{n}/", {"body": "Sneaky reply"}),
    ("post", "/tickets/{n}/solve/", {}),
    ("post", "/tickets/{n}/reopen/", {}),
]
TICKET_PAGES = [(m, p, d) for m, p, d in HC_PAGES if "{n}" in p]


def _call(client, method, path, data, number):
    return getattr(client, method)(path.format(n=number), data)


@pytest.mark.parametrize(("method", "path", "data"), HC_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(acme, method, path, data):
    ticket = make_ticket(acme)
    response = _call(acme.client(), method, path, data, ticket.number)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert _status(acme, ticket) == Status.NEW
    assert message_count(acme, ticket) == 1


@pytest.mark.parametrize("persona", ["customer", "agent"])
@pytest.mark.parametrize(("method", "path", "data"), HC_PAGES)
def test_people_of_another_desk_are_asked_to_sign_in(acme, globex, persona, method, path, data):
    ticket = make_ticket(acme, subject="Acme-only dashboard question")
    response = _call(acme.client(getattr(globex, persona)), method, path, data, ticket.number)
    assert_asked_to_sign_in(response)
    assert "Acme-only dashboard question" not in _text(response)
    assert _status(acme, ticket) == Status.NEW
    assert message_count(acme, ticket) == 1
    with acme.scope():
        assert Ticket.objects.count() == 1


@pytest.mark.parametrize(("method", "path", "data"), TICKET_PAGES)
def test_customer_of_another_organization_gets_404_for_someone_elses_ticket(
    acme, method, path, data
):
    ticket = make_ticket(acme, subject="Carol private request")
    response = _call(acme.client(acme.other_customer), method, path, data, ticket.number)
    assert response.status_code == 404
    assert "Carol private request" not in _text(response)
    assert _status(acme, ticket) == Status.NEW
    assert message_count(acme, ticket) == 1


@pytest.mark.parametrize(("method", "path", "data"), TICKET_PAGES)
def test_a_number_that_exists_only_at_another_tenant_is_404(acme, globex, method, path, data):
    make_ticket(globex, subject="Globex one")
    globex_only = make_ticket(globex, subject="Globex secret migration")
    make_ticket(acme)  # acme has #1 only
    assert globex_only.number == 2
    response = _call(acme.client(acme.customer), method, path, data, 2)
    assert response.status_code == 404
    assert "Globex secret migration" not in _text(response)
    assert _status(globex, globex_only) == Status.NEW
    assert message_count(globex, globex_only) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/tickets/"),
        ("put", "/tickets/new/"),
        ("delete", "/tickets/{n}/"),
        ("get", "/tickets/{n}/solve/"),
        ("get", "/tickets/{n}/reopen/"),
    ],
)
def test_wrong_http_method_is_405(acme, method, path):
    ticket = make_ticket(acme)
    response = _call(acme.client(acme.customer), method, path, {}, ticket.number)
    assert response.status_code == 405
    assert _status(acme, ticket) == Status.NEW


# -- the list -------------------------------------------------------------------------------


def test_list_shows_open_requests_and_keeps_solved_ones_on_their_own_tab(acme):
    make_ticket(acme, subject="Export button does nothing")
    solved = make_ticket(acme, subject="Invoice address is wrong")
    with acme.scope():
        ticket_solve(ticket=solved, actor=acme.agent)
    client = acme.client(acme.customer)

    page = _text(client.get("/tickets/"))
    assert "Export button does nothing" in page
    assert 'class="status status-new">New<' in page
    assert "Invoice address is wrong" not in page

    solved_page = _text(client.get("/tickets/?show=solved"))
    assert "Invoice address is wrong" in solved_page
    assert 'class="status status-solved">Solved<' in solved_page
    assert "Export button does nothing" not in solved_page


def test_list_tabs_say_when_they_are_empty(acme):
    client = acme.client(acme.customer)
    assert "You have no open requests." in _text(client.get("/tickets/"))
    assert "Nothing solved yet." in _text(client.get("/tickets/?show=solved"))


def test_list_search_matches_the_subject(acme):
    make_ticket(acme, subject="Export to CSV fails")
    make_ticket(acme, subject="Password reset email missing")
    client = acme.client(acme.customer)
    page = _text(client.get("/tickets/", {"q": "csv"}))
    assert "Export to CSV fails" in page
    assert "Password reset email missing" not in page
    assert 'value="csv"' in page  # the search box keeps what was typed
    assert "No requests match your search." in _text(client.get("/tickets/", {"q": "zebra"}))


def test_list_shows_only_the_customers_own_requests(acme, globex):
    make_ticket(acme, subject="Carol request")
    make_ticket(acme, acme.other_customer, subject="Oscar request")
    make_ticket(acme, _colleague(acme), subject="Dan request")
    make_ticket(globex, subject="Globex request")
    page = _text(acme.client(acme.customer).get("/tickets/"))
    assert "Carol request" in page
    for foreign in ["Oscar request", "Dan request", "Globex request"]:
        assert foreign not in page


@pytest.mark.parametrize(
    "query", ["show=bogus", "page=abc", "page=0", "page=-3", "page=99999999999999999999"]
)
def test_list_survives_odd_query_strings(acme, query):
    make_ticket(acme, subject="Still listed")
    response = acme.client(acme.customer).get(f"/tickets/?{query}")
    assert response.status_code == 200
    page = _text(response)
    assert "My requests" in page
    if "page=9999" not in query:
        assert "Still listed" in page


def test_list_pages_through_many_requests(acme, monkeypatch):
    monkeypatch.setattr("tickets.views.helpcenter.PAGE_SIZE", 2)
    for i in range(3):
        make_ticket(acme, subject=f"Request {i}")
    client = acme.client(acme.customer)
    first = _text(client.get("/tickets/"))
    assert len(_numbers(first)) == 2
    assert "page=2" in first and ">Next<" in first
    second = _text(client.get("/tickets/?page=2"))
    assert len(_numbers(second)) == 1
    assert ">Previous<" in second and ">Next<" not in second


# -- filing a request -----------------------------------------------------------------------


def test_new_request_form_states_the_plans_promise_and_hides_urgent(acme):
    page = _text(acme.client(acme.customer).get("/tickets/new/"))
    assert (
        "Your plan: <strong>Pro</strong> — first reply within "
        "24 business hours (Mon-Fri 9:00-18:00, UTC)." in page
    )
    assert 'href="/service-levels/"' in page
    assert "Urgent priority comes with higher plans." in page
    assert ">Urgent<" not in page
    assert ">High<" in page and "Technical issue" in page


def test_customer_files_a_request_with_category_priority_and_attachment(acme):
    with acme.scope():
        billing = Category.objects.get(name="Billing")
    client = acme.client(acme.customer)
    response = client.post(
        "/tickets/new/",
        {
            "subject": "Charged twice in May",
            "category": billing.pk,
            "priority": Priority.HIGH,
            "body": "Two charges on **May 3**.",
            "attachments": [SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 fake", "application/pdf")],
        },
        follow=True,
    )
    assert response.redirect_chain == [("/tickets/1/", 302)]
    page = _text(response)
    assert "Request #1 was sent." in page
    assert "Charged twice in May" in page
    assert "Billing" in page and "High" in page
    assert "<strong>May 3</strong>" in page
    assert "receipt.pdf" in page
    with acme.scope():
        ticket = Ticket.objects.get()
        assert (ticket.requester, ticket.organization) == (acme.customer, acme.org)
        assert ticket.category == billing and ticket.priority == Priority.HIGH
        assert [a.name for a in ticket.attachments.all()] == ["receipt.pdf"]
    assert "Charged twice in May" in _text(client.get("/tickets/"))


def test_urgent_is_refused_on_pro_with_a_form_error_and_the_text_kept(acme):
    response = acme.client(acme.customer).post(
        "/tickets/new/",
        {"subject": "Site is down", "priority": Priority.URGENT, "body": "Nothing loads at all."},
    )
    assert response.status_code == 200
    page = _text(response)
    assert "Select a valid choice" in page
    assert 'value="Site is down"' in page
    assert "Nothing loads at all." in page
    with acme.scope():
        assert not Ticket.objects.exists()


def test_urgent_is_allowed_once_the_organization_is_on_pro_plus(acme):
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
        technical = Category.objects.get(name="Technical issue")
    client = acme.client(acme.customer)
    assert ">Urgent<" in _text(client.get("/tickets/new/"))
    response = client.post(
        "/tickets/new/",
        {
            "subject": "Site is down",
            "category": technical.pk,
            "priority": Priority.URGENT,
            "body": "Nothing loads at all.",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Request #1 was sent." in _text(response)
    assert "Urgent" in _text(response)
    with acme.scope():
        assert Ticket.objects.get().priority == Priority.URGENT


def _new_request(client, **extra):
    data = {"subject": "Crash report", "body": "Crashes on start, log attached.", **extra}
    return client.post("/tickets/new/", data)


def test_blocked_file_type_is_refused_inline_and_the_text_kept(acme):
    with acme.scope():
        category = Category.objects.get(name="Technical issue")
    response = _new_request(
        acme.client(acme.customer),
        category=category.pk,
        priority=Priority.MEDIUM,
        attachments=[SimpleUploadedFile("run.exe", b"MZ\x90\x00", "application/octet-stream")],
    )
    assert response.status_code == 200
    page = _text(response)
    assert "“run.exe” is a type of file we do not accept" in page
    assert 'value="Crash report"' in page
    assert "Crashes on start, log attached." in page
    with acme.scope():
        assert not Ticket.objects.exists()


def test_oversize_file_is_refused_inline_and_the_text_kept(acme, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    with acme.scope():
        category = Category.objects.get(name="Technical issue")
    response = _new_request(
        acme.client(acme.customer),
        category=category.pk,
        priority=Priority.MEDIUM,
        attachments=[SimpleUploadedFile("crash.log", b"x" * 1000, "text/plain")],
    )
    assert response.status_code == 200
    page = _text(response)
    assert "“crash.log” is 1000\xa0bytes; files can be at most 100\xa0bytes." in page
    assert 'value="Crash report"' in page
    assert "Crashes on start, log attached." in page
    with acme.scope():
        assert not Ticket.objects.exists()


def test_a_refused_form_with_files_asks_to_select_them_again(acme):
    # Browsers never re-fill a file input, so after any error the files are gone.
    with acme.scope():
        category = Category.objects.get(name="Technical issue")
    response = _new_request(
        acme.client(acme.customer),
        subject="",
        category=category.pk,
        priority=Priority.MEDIUM,
        attachments=[SimpleUploadedFile("crash.log", b"trace", "text/plain")],
    )
    assert response.status_code == 200
    page = _text(response)
    assert "This field is required." in page
    assert "Select your files again before sending." in page


def test_missing_subject_is_an_inline_error_and_the_description_kept(acme):
    with acme.scope():
        category = Category.objects.get(name="Technical issue")
    response = acme.client(acme.customer).post(
        "/tickets/new/",
        {"subject": "", "category": category.pk, "priority": 3, "body": "My words stay here."},
    )
    assert response.status_code == 200
    page = _text(response)
    assert "This field is required." in page
    assert "My words stay here." in page
    with acme.scope():
        assert not Ticket.objects.exists()


# -- one request ----------------------------------------------------------------------------


def test_detail_shows_the_public_thread_but_not_internal_notes(acme):
    ticket = make_ticket(
        acme,
        subject="Dashboard is blank",
        body="It shows **nothing**.",
        uploads=[upload("screenshot.png", b"\x89PNG\r\n\x1a\n fake", "image/png")],
    )
    with acme.scope():
        note = ticket_add_note(
            ticket=ticket,
            author=acme.agent,
            body="Customer runs the old build, do not mention it.",
            uploads=[upload("internal-log.txt", b"secret log")],
        )
        note_key = note.attachments.get().key
    response = acme.client(acme.customer).get(f"/tickets/{ticket.number}/")
    assert response.status_code == 200
    page = _text(response)
    assert "Dashboard is blank" in page
    assert 'class="status status-new">New<' in page
    assert "It shows <strong>nothing</strong>." in page
    assert "screenshot.png" in page
    assert "Customer runs the old build" not in page
    assert "internal-log.txt" not in page
    assert str(note_key) not in page
    assert "Internal note" not in page


def test_customer_reply_is_added_to_the_thread(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.customer).post(
        f"/tickets/{ticket.number}/", {"body": "Here is more detail."}, follow=True
    )
    assert response.redirect_chain == [(f"/tickets/{ticket.number}/", 302)]
    page = _text(response)
    assert "Your reply was added." in page
    assert "Here is more detail." in page
    assert message_count(acme, ticket) == 2


def test_customer_reply_to_a_solved_request_reopens_it(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_solve(ticket=ticket, actor=acme.agent)
    response = acme.client(acme.customer).post(
        f"/tickets/{ticket.number}/", {"body": "Still broken."}, follow=True
    )
    page = _text(response)
    assert 'class="status status-open">Open<' in page
    assert "Still broken." in page
    assert _status(acme, ticket) == Status.OPEN


def test_empty_reply_is_an_inline_error(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.customer).post(f"/tickets/{ticket.number}/", {"body": "   "})
    assert response.status_code == 200
    assert "Write a message or attach a file." in _text(response)
    assert message_count(acme, ticket) == 1


def test_reply_with_a_blocked_file_is_refused_and_the_text_kept(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.customer).post(
        f"/tickets/{ticket.number}/",
        {
            "body": "Script attached for you.",
            "attachments": [SimpleUploadedFile("fix.ps1", b"Remove-Item", "text/plain")],
        },
    )
    assert response.status_code == 200
    page = _text(response)
    assert "“fix.ps1” is a type of file we do not accept" in page
    assert "Script attached for you." in page
    assert message_count(acme, ticket) == 1


def test_closed_request_offers_a_new_request_instead_of_a_reply(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_update(ticket=ticket, actor=acme.agent, status=Status.CLOSED)
    client = acme.client(acme.customer)
    page = _text(client.get(f"/tickets/{ticket.number}/"))
    assert "This request is closed." in page
    assert "Send reply" not in page
    client.post(f"/tickets/{ticket.number}/", {"body": "Hello?"})
    assert message_count(acme, ticket) == 1


def test_solve_button_marks_the_request_solved(acme):
    ticket = make_ticket(acme)
    client = acme.client(acme.customer)
    assert "My problem is solved" in _text(client.get(f"/tickets/{ticket.number}/"))
    response = client.post(f"/tickets/{ticket.number}/solve/", follow=True)
    assert response.redirect_chain == [(f"/tickets/{ticket.number}/", 302)]
    page = _text(response)
    assert "Marked as solved. Reply any time to reopen it." in page
    assert 'class="status status-solved">Solved<' in page
    assert ">Reopen<" in page
    assert _status(acme, ticket) == Status.SOLVED


def test_reopen_button_opens_a_solved_request_again(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_solve(ticket=ticket, actor=acme.agent)
    response = acme.client(acme.customer).post(f"/tickets/{ticket.number}/reopen/", follow=True)
    page = _text(response)
    assert "The request is open again." in page
    assert 'class="status status-open">Open<' in page
    assert _status(acme, ticket) == Status.OPEN


def test_reopening_a_request_that_is_not_solved_says_why(acme):
    ticket = make_ticket(acme)
    response = acme.client(acme.customer).post(f"/tickets/{ticket.number}/reopen/", follow=True)
    assert "Only a solved ticket can be reopened." in _text(response)
    assert _status(acme, ticket) == Status.NEW


# -- organization managers ------------------------------------------------------------------


def test_a_normal_customer_does_not_see_a_colleagues_request(acme):
    ticket = make_ticket(acme, _colleague(acme), subject="Dan SSO question")
    client = acme.client(acme.customer)
    assert "Dan SSO question" not in _text(client.get("/tickets/"))
    assert client.get(f"/tickets/{ticket.number}/").status_code == 404


def test_an_organization_manager_sees_colleagues_requests_in_list_and_detail(acme):
    ticket = make_ticket(acme, _colleague(acme), subject="Dan SSO question")
    other_org_ticket = make_ticket(acme, acme.other_customer, subject="Oscar question")
    _make_org_manager(acme, acme.customer)
    client = acme.client(acme.customer)
    page = _text(client.get("/tickets/"))
    assert "As an organization manager you also see your colleagues' requests." in page
    assert "Dan SSO question" in page
    assert "Dan Colleague" in page
    assert "Oscar question" not in page
    detail = client.get(f"/tickets/{ticket.number}/")
    assert detail.status_code == 200
    assert "Dan SSO question" in _text(detail)
    assert client.get(f"/tickets/{other_org_ticket.number}/").status_code == 404


# -- query counts ---------------------------------------------------------------------------


def test_list_query_count_does_not_grow_with_rows(acme, django_assert_num_queries):
    colleague = _colleague(acme)
    _make_org_manager(acme, acme.customer)
    for i in range(5):
        make_ticket(acme, colleague if i % 2 else acme.customer, subject=f"Row {i}")
    client = acme.client(acme.customer)
    client.get("/tickets/")  # warm the session
    with CaptureQueriesContext(connection) as five:
        response = client.get("/tickets/")
    assert len(_numbers(_text(response))) == 5

    for i in range(5, 50):
        make_ticket(acme, colleague if i % 2 else acme.customer, subject=f"Row {i}")
    with django_assert_num_queries(len(five.captured_queries)):
        response = client.get("/tickets/")
    assert len(_numbers(_text(response))) == 25  # one page


def test_a_merged_request_sends_its_customer_to_the_ticket_it_joined(acme):
    source = make_ticket(acme, subject="Duplicate request")
    target = make_ticket(acme, subject="Main request")
    with acme.scope():
        ticket_merge(source=source, target=target, actor=acme.agent)
    response = acme.client(acme.customer).get(f"/tickets/{source.number}/", follow=True)
    assert response.redirect_chain[-1][0] == f"/tickets/{target.number}/"
    assert "was merged into this one" in response.content.decode()
    # Someone who could not see the merged request learns nothing about it.
    assert acme.client(acme.other_customer).get(f"/tickets/{source.number}/").status_code == 404
