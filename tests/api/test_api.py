"""The REST API (/api/v1/): one permission table over every endpoint and persona, then
what each endpoint does with good and bad input.

Personas: anonymous, the customer who filed the ticket, a customer of another
organization, an agent, an admin, and an agent of another tenant (Globex) signed in
at Acme's host. Token authentication has its own tests in tests/helpdesk/test_api_tokens.py.
"""

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import SimpleRateThrottle

from helpdesk.models import Membership, Role
from plans.models import Organization
from tests.api.helpers import json_body as _body
from tests.api.helpers import send as _send
from tests.api.helpers import token_client
from tests.helpdesk.factories import make_member
from tests.tickets.factories import category, make_ticket, refresh, set_fields, upload
from tickets.models import Category, Channel, Message, Priority, Status, Ticket, TicketEvent
from tickets.services import ticket_add_note, ticket_reply


def _numbers(response) -> list[int]:
    return [ticket["number"] for ticket in _body(response)["results"]]


def _counts(desk) -> tuple[int, int, int]:
    with desk.scope():
        return Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()


# -- the permission table -------------------------------------------------------------------

# outsider: a person of another desk, their session carried here (nobody here: 401);
# former: a person of this desk whose membership ended (403).
PERSONAS = ("anonymous", "customer", "other_customer", "agent", "admin", "outsider", "former")

# endpoint: (method, path, body, expected status for each persona in PERSONAS order)
PERMISSIONS = {
    "tickets list": ("get", "/api/v1/tickets/", None, (401, 200, 200, 200, 200, 401, 403)),
    "ticket create": (
        "post",
        "/api/v1/tickets/",
        {"subject": "Filed through the API", "body": "Hello"},
        (401, 201, 201, 201, 201, 401, 403),
    ),
    "ticket retrieve": ("get", "/api/v1/tickets/{n}/", None, (401, 200, 404, 200, 200, 401, 403)),
    "ticket update": (
        "patch",
        "/api/v1/tickets/{n}/",
        {"status": "solved"},
        (401, 200, 404, 200, 200, 401, 403),
    ),
    "messages list": (
        "get",
        "/api/v1/tickets/{n}/messages/",
        None,
        (401, 200, 404, 200, 200, 401, 403),
    ),
    "message create": (
        "post",
        "/api/v1/tickets/{n}/messages/",
        {"body": "More details"},
        (401, 201, 404, 201, 201, 401, 403),
    ),
    "categories list": ("get", "/api/v1/categories/", None, (401, 200, 200, 200, 200, 401, 403)),
    "usage events": (
        "post",
        "/api/v1/success/events/",
        {
            "event_id": "evt-1",
            "organization": "Acme Analytics Customer Co",
            "metric": "login",
            "timestamp": "2025-06-01T09:00:00Z",
        },
        (401, 403, 403, 403, 201, 401, 403),
    ),
    "schema": ("get", "/api/schema/", None, (200, 200, 200, 200, 200, 200, 200)),
    "docs": ("get", "/api/docs/", None, (200, 200, 200, 200, 200, 200, 200)),
}
PERMISSION_TABLE = [
    pytest.param(method, path, body, persona, expected[i], id=f"{endpoint}-{persona}")
    for endpoint, (method, path, body, expected) in PERMISSIONS.items()
    for i, persona in enumerate(PERSONAS)
]


def _persona_client(acme, globex, persona) -> Client:
    if persona == "anonymous":
        return acme.client()
    if persona == "outsider":
        client = globex.client(globex.agent)
        client.defaults["HTTP_HOST"] = acme.host
        return client
    if persona == "former":
        former = make_member(acme.tenant, "former@acme.example", Role.AGENT)
        with acme.scope():
            Membership.objects.filter(user=former).update(is_active=False)
        return acme.client(former)
    return acme.client(getattr(acme, persona))


@pytest.mark.parametrize(("method", "path", "body", "persona", "expected"), PERMISSION_TABLE)
def test_permission_table(acme, globex, method, path, body, persona, expected):
    ticket = make_ticket(acme, subject="Carol's private dashboard question")
    before = _counts(acme)
    client = _persona_client(acme, globex, persona)

    response = _send(client, method, path.format(n=ticket.number), body)

    assert response.status_code == expected
    if path == "/api/docs/":
        assert "swagger" in response.content.decode().lower()
        return
    data = _body(response)
    if expected >= 400:
        assert set(data) == {"detail"}
        assert "Carol's private dashboard question" not in response.content.decode()
        assert _counts(acme) == before
        assert refresh(acme, ticket).status == Status.NEW
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"
    if persona == "other_customer" and method == "get" and path == "/api/v1/tickets/":
        assert data["results"] == []  # someone else's ticket is not listed


# -- wrong methods and unknown URLs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/api/v1/tickets/{n}/"),
        ("delete", "/api/v1/tickets/{n}/"),
        ("patch", "/api/v1/tickets/"),
        ("delete", "/api/v1/tickets/"),
        ("put", "/api/v1/tickets/{n}/messages/"),
        ("delete", "/api/v1/tickets/{n}/messages/"),
        ("post", "/api/v1/categories/"),
        ("post", "/api/schema/"),
    ],
)
def test_wrong_http_method_is_a_json_405(acme, method, path):
    ticket = make_ticket(acme)
    before = _counts(acme)
    response = _send(acme.client(acme.agent), method, path.format(n=ticket.number), {})
    assert response.status_code == 405
    assert "not allowed" in _body(response)["detail"]
    assert _counts(acme) == before


@pytest.mark.parametrize("persona", ["customer", "agent"])
def test_head_and_options_answer_and_change_nothing(acme, persona):
    ticket = make_ticket(acme)
    before = _counts(acme)
    client = acme.client(getattr(acme, persona))
    for path in (
        "/api/v1/tickets/",
        f"/api/v1/tickets/{ticket.number}/",
        f"/api/v1/tickets/{ticket.number}/messages/",
        "/api/v1/categories/",
    ):
        assert client.head(path).status_code == 200, path
        assert client.options(path).status_code == 200, path
    # OPTIONS describes what POST takes on each route.
    described = _body(client.options(f"/api/v1/tickets/{ticket.number}/messages/"))
    assert set(described["actions"]["POST"]) == {"body", "internal"}
    described = _body(client.options("/api/v1/tickets/"))
    assert {"subject", "body", "category", "priority"} <= set(described["actions"]["POST"])
    assert _counts(acme) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v2/tickets/",
        "/api/v1/",
        "/api/v1/nothing-here/",
        "/api/v1/tickets/abc/",
        "/api/v1/tickets/12345678901234567890/",
        "/api/v1/tickets",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_urls_under_api_are_a_json_404(acme, path, method):
    response = _send(acme.client(acme.agent), method, path, {})
    assert response.status_code == 404
    assert _body(response) == {"detail": "Not found."}


def test_a_ticket_number_of_another_tenant_is_a_json_404(acme, globex):
    make_ticket(globex, subject="Globex one")
    secret = make_ticket(globex, subject="Globex secret migration")
    make_ticket(acme)
    for path in (f"/api/v1/tickets/{secret.number}/", f"/api/v1/tickets/{secret.number}/messages/"):
        response = acme.client(acme.agent).get(path)
        assert response.status_code == 404
        assert _body(response) == {"detail": "Not found."}
    response = _send(
        acme.client(acme.agent), "patch", f"/api/v1/tickets/{secret.number}/", {"status": "solved"}
    )
    assert response.status_code == 404
    assert refresh(globex, secret).status == Status.NEW


# -- listing tickets ------------------------------------------------------------------------


def test_agents_list_unsolved_tickets_most_urgent_first_then_oldest(acme):
    import time_machine

    # Filed at one instant on one plan: their SLA clocks end together, so urgency decides.
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), tick=False):
        low = make_ticket(acme, subject="Typo in footer", priority=Priority.LOW)
        medium = make_ticket(acme, subject="Chart colors off")
        urgent = make_ticket(
            acme, subject="Site is down", priority=Priority.URGENT, actor=acme.agent
        )
        solved = make_ticket(acme, subject="Already fixed")
        set_fields(acme, solved, status=Status.SOLVED)

    response = acme.client(acme.agent).get("/api/v1/tickets/")

    assert response.status_code == 200
    assert _numbers(response) == [urgent.number, medium.number, low.number]
    recently_solved = acme.client(acme.agent).get("/api/v1/tickets/?view=solved")
    assert _numbers(recently_solved) == [solved.number]


def test_agent_filters_take_names_and_emails_and_each_narrow_the_list(acme):
    billing = category(acme, "Billing")
    high = make_ticket(acme, subject="High one", priority=Priority.HIGH)
    billed = make_ticket(acme, subject="Billing one", category=billing)
    free_org = make_ticket(acme, acme.other_customer, subject="Free plan one")
    tagged = make_ticket(acme, subject="Tagged one")
    assigned = make_ticket(acme, subject="Assigned one")
    pending = make_ticket(acme, subject="Pending one")
    set_fields(acme, tagged, tags=["vip"])
    set_fields(acme, assigned, assignee=acme.admin)
    set_fields(acme, pending, status=Status.PENDING, assignee=acme.agent)
    client = acme.client(acme.agent)

    def listed(query):
        response = client.get(f"/api/v1/tickets/?{query}")
        assert response.status_code == 200, response.content
        return _numbers(response)

    assert listed("status=pending") == [pending.number]
    assert listed("priority=high") == [high.number]
    assert listed("priority=high&priority=low") == [high.number]
    assert listed("category=billing") == [billed.number]
    assert listed(f"category={billing.pk}") == [billed.number]  # the queue's ids work too
    assert listed("plan=Free") == [free_org.number]
    assert listed("organization=Acme%20Analytics%20Other%20Co") == [free_org.number]
    assert listed("assignee=ADMIN@acme.example") == [assigned.number]
    assert listed("tag=VIP") == [tagged.number]
    assert listed("q=billing") == [billed.number]
    assert listed(f"q=%23{assigned.number}") == [assigned.number]
    assert listed("view=mine") == [pending.number]
    assert listed("view=pending&assignee=agent@acme.example") == [pending.number]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category=Nope", "category"),
        ("category=999999", "category"),
        ("plan=Platinum", "plan"),
        ("organization=Globex", "organization"),
        ("assignee=carol@acme-co.example", "assignee"),  # a customer is not an assignee
        ("assignee=agent@globex.example", "assignee"),
        ("priority=extreme", "priority"),
        ("priority=9", "priority"),
        ("status=bogus", "status"),
        ("view=bogus", "view"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999", "page"),
        ("page_size=101", "page_size"),
        ("page_size=-1", "page_size"),
    ],
)
def test_bad_filters_are_a_400_naming_the_filter(acme, globex, query, field):
    make_ticket(acme, subject="Still here")
    response = acme.client(acme.agent).get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 400
    errors = _body(response)
    assert list(errors) == [field]
    assert isinstance(errors[field], list) and errors[field]


def test_customers_list_their_own_requests_newest_activity_first(acme):
    first = make_ticket(acme, subject="My first")
    second = make_ticket(acme, subject="My second")
    make_ticket(acme, acme.other_customer, subject="Oscar's")
    colleague = make_member(acme.tenant, "dave@acme-co.example", organization=acme.org)
    make_ticket(acme, colleague, subject="Dave's")
    set_fields(acme, second, status=Status.SOLVED)  # now the most recently updated

    response = acme.client(acme.customer).get("/api/v1/tickets/")

    assert _numbers(response) == [second.number, first.number]
    solved_only = acme.client(acme.customer).get("/api/v1/tickets/?status=solved")
    assert _numbers(solved_only) == [second.number]
    bad = acme.client(acme.customer).get("/api/v1/tickets/?status=bogus")
    assert bad.status_code == 400 and "status" in _body(bad)


def test_organization_managers_also_list_their_colleagues_requests(acme):
    colleague = make_member(acme.tenant, "dave@acme-co.example", organization=acme.org)
    dave = make_ticket(acme, colleague, subject="Dave's")
    mine = make_ticket(acme, subject="Mine")
    make_ticket(acme, acme.other_customer, subject="Oscar's")
    with acme.scope():
        Membership.objects.filter(user=acme.customer).update(is_org_manager=True)

    response = acme.client(acme.customer).get("/api/v1/tickets/")

    assert sorted(_numbers(response)) == [dave.number, mine.number]
    assert acme.client(acme.customer).get(f"/api/v1/tickets/{dave.number}/").status_code == 200


def test_merged_tickets_are_not_listed_for_customers(acme):
    kept = make_ticket(acme, subject="Kept")
    merged = make_ticket(acme, subject="Duplicate")
    with acme.scope():
        from tickets.services import ticket_merge

        ticket_merge(source=merged, target=kept, actor=acme.agent)
    assert _numbers(acme.client(acme.customer).get("/api/v1/tickets/")) == [kept.number]
    response = acme.client(acme.customer).get(f"/api/v1/tickets/{merged.number}/")
    assert response.status_code == 404
    agent_view = acme.client(acme.agent).get(f"/api/v1/tickets/{merged.number}/")
    assert _body(agent_view)["merged_into"] == kept.number


def _link(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    assert parts.netloc == "acme.localhost"
    return parts.path, dict(parse_qsl(parts.query))


def test_pages_link_to_each_other_and_keep_the_filters(acme):
    tickets = [make_ticket(acme, subject=f"Paged {i}", priority=Priority.HIGH) for i in range(5)]
    make_ticket(acme, subject="Filtered out", priority=Priority.LOW)
    client = acme.client(acme.agent)

    first = _body(client.get("/api/v1/tickets/?priority=high&page_size=2"))
    assert [t["number"] for t in first["results"]] == [tickets[0].number, tickets[1].number]
    assert first["previous"] is None
    assert _link(first["next"]) == (
        "/api/v1/tickets/",
        {"priority": "high", "page_size": "2", "page": "2"},
    )
    second = _body(client.get(first["next"]))
    assert [t["number"] for t in second["results"]] == [tickets[2].number, tickets[3].number]
    assert _link(second["previous"]) == ("/api/v1/tickets/", {"priority": "high", "page_size": "2"})
    last = _body(client.get(second["next"]))
    assert [t["number"] for t in last["results"]] == [tickets[4].number]
    assert last["next"] is None
    beyond = _body(client.get("/api/v1/tickets/?priority=high&page_size=2&page=9"))
    assert beyond["results"] == [] and beyond["next"] is None


def _spread_tickets(desk, start, stop):
    """Tickets from several requesters and organizations, some assigned and tagged."""
    people = [desk.customer, desk.other_customer]
    for i in range(start, stop):
        ticket = make_ticket(desk, people[i % 2], subject=f"Row {i}")
        if i % 3 == 0:
            set_fields(desk, ticket, assignee=desk.admin if i % 2 else desk.agent, tags=["vip"])


@pytest.mark.parametrize("persona", ["agent", "customer"])
def test_tickets_list_query_count_does_not_grow_with_rows(acme, persona, django_assert_num_queries):
    with acme.scope():
        Membership.objects.filter(user=acme.customer).update(is_org_manager=True)
    _spread_tickets(acme, 0, 5)
    client = acme.client(getattr(acme, persona))
    client.get("/api/v1/tickets/")
    with CaptureQueriesContext(connection) as five:
        response = client.get("/api/v1/tickets/")
    assert len(_numbers(response)) == (5 if persona == "agent" else 3)
    _spread_tickets(acme, 5, 50)
    with django_assert_num_queries(len(five.captured_queries)):
        response = client.get("/api/v1/tickets/")
    assert len(_numbers(response)) == (50 if persona == "agent" else 25)


# -- what a ticket looks like ---------------------------------------------------------------


def test_agents_see_a_ticket_with_names_and_emails_never_ids(acme):
    ticket = make_ticket(
        acme, subject="Export fails", priority=Priority.HIGH, category=category(acme, "Billing")
    )
    set_fields(acme, ticket, assignee=acme.agent, tags=["vip", "export"])

    data = _body(acme.client(acme.admin).get(f"/api/v1/tickets/{ticket.number}/"))

    assert data["number"] == ticket.number
    assert data["subject"] == "Export fails"
    assert data["status"] == "new"
    assert data["priority"] == "high"
    assert data["category"] == "Billing"
    assert data["channel"] == "web"
    assert data["requester"] == {"email": "carol@acme-co.example", "name": "Carol Customer"}
    assert data["assignee"] == {"email": "agent@acme.example", "name": "Acme Analytics Agent"}
    assert data["organization"] == "Acme Analytics Customer Co"
    assert data["plan"] == "Pro"
    assert data["tags"] == ["vip", "export"]
    assert data["merged_into"] is None
    assert "id" not in data and "pk" not in data


def test_customers_see_what_the_help_center_shows_them(acme):
    ticket = make_ticket(acme, subject="Export fails")
    set_fields(acme, ticket, assignee=acme.agent, tags=["angry-customer"])

    response = acme.client(acme.customer).get(f"/api/v1/tickets/{ticket.number}/")

    data = _body(response)
    assert data["subject"] == "Export fails" and data["priority"] == "medium"
    assert data["requester"]["email"] == "carol@acme-co.example"
    for hidden in ("assignee", "tags", "plan", "organization", "merged_into", "channel"):
        assert hidden not in data
    assert "angry-customer" not in response.content.decode()
    assert "agent@acme.example" not in response.content.decode()


# -- filing tickets -------------------------------------------------------------------------


def test_customers_file_tickets_for_themselves_through_the_api(
    acme, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(
            acme.client(acme.customer),
            "post",
            "/api/v1/tickets/",
            {"subject": "  Cannot log in  ", "body": "Since **today**.", "category": "account"},
        )

    assert response.status_code == 201
    data = _body(response)
    assert data["subject"] == "Cannot log in"
    assert data["category"] == "Account"
    assert data["priority"] == "medium"
    assert data["status"] == "new"
    assert data["requester"]["email"] == "carol@acme-co.example"
    with acme.scope():
        ticket = Ticket.objects.get(number=data["number"])
        assert ticket.channel == Channel.API
        assert ticket.organization == acme.org
        message = ticket.messages.get()
        assert message.body_html.strip() == "<p>Since <strong>today</strong>.</p>"
        assert message.author == acme.customer
    # It is in the help center like any other request, and the customer got the acknowledgement.
    assert "Cannot log in" in acme.client(acme.customer).get("/tickets/").content.decode()
    assert [m for m in mail.outbox if m.to == [acme.customer.email]]


def test_urgent_is_refused_to_customers_whose_plan_does_not_include_it(acme):
    before = _counts(acme)
    response = _send(
        acme.client(acme.customer),
        "post",
        "/api/v1/tickets/",
        {"subject": "Everything is on fire", "body": "Help", "priority": "urgent"},
    )
    assert response.status_code == 400
    assert _body(response) == {
        "priority": ["Urgent priority is part of higher plans; choose High instead."]
    }
    assert _counts(acme) == before


def test_urgent_through_a_token_follows_the_customers_plan(acme):
    client = token_client(acme, acme.customer)
    body = {"subject": "Everything is on fire", "body": "Help", "priority": "urgent"}
    assert _send(client, "post", "/api/v1/tickets/", body).status_code == 400  # Pro
    with acme.scope():
        Organization.objects.filter(pk=acme.org.pk).update(plan=acme.pro_plus)
    response = _send(client, "post", "/api/v1/tickets/", body)
    assert response.status_code == 201
    assert _body(response)["priority"] == "urgent"


def test_filing_through_a_token_takes_a_fixed_number_of_queries(
    acme, django_assert_num_queries, django_capture_on_commit_callbacks
):
    client = token_client(acme, acme.customer)
    body = {"subject": "Export fails", "body": "Since **9:00**.", "category": "Billing"}
    _send(client, "post", "/api/v1/tickets/", body)  # the token's first use records it

    # The host's tenant, the token, the membership, the category; then a savepoint (a
    # transaction outside tests), the ticket number, the ticket, its message, its
    # search document, its audit event and the outbox job of its emails. The ticket is
    # answered as created, not read back.
    with django_assert_num_queries(12), django_capture_on_commit_callbacks() as queued:
        response = _send(client, "post", "/api/v1/tickets/", body)

    assert response.status_code == 201
    assert len(queued) == 1  # the wake-up of the job: a worker renders and sends the emails
    data = _body(response)
    with acme.scope():
        ticket = Ticket.objects.select_related("requester", "category").get(number=data["number"])
    assert data == _body(acme.client(acme.customer).get(f"/api/v1/tickets/{ticket.number}/"))
    assert (ticket.category.name, ticket.organization_id) == ("Billing", acme.org.pk)


def test_agents_file_on_behalf_of_a_member_with_any_priority_and_tags(acme):
    response = _send(
        acme.client(acme.agent),
        "post",
        "/api/v1/tickets/",
        {
            "subject": "Phoned in: site down",
            "body": "Carol called.",
            "priority": "urgent",
            "requester": "CAROL@acme-co.example",
            "tags": ["Phone Call", "vip"],
        },
    )
    assert response.status_code == 201, response.content
    data = _body(response)
    assert data["requester"]["email"] == "carol@acme-co.example"
    assert data["priority"] == "urgent"
    assert data["tags"] == ["phone-call", "vip"]
    assert data["organization"] == "Acme Analytics Customer Co"
    number = data["number"]
    assert acme.client(acme.customer).get(f"/api/v1/tickets/{number}/").status_code == 200
    with acme.scope():
        created = TicketEvent.objects.get(ticket__number=number, kind=TicketEvent.Kind.CREATED)
        assert created.actor == acme.agent


@pytest.mark.parametrize(
    ("persona", "body", "field"),
    [
        ("customer", {"subject": "Hi", "body": "x", "category": "Nope"}, "category"),
        ("customer", {"subject": "Hi", "body": "x", "category": 3}, "category"),
        ("customer", {"subject": "Hi", "body": "x", "priority": "extreme"}, "priority"),
        ("customer", {"subject": "Hi", "body": "x", "priority": 2}, "priority"),
        ("customer", {"subject": "Hi", "body": ""}, "body"),
        ("customer", {"subject": "Hi", "body": "   "}, "body"),
        ("customer", {"subject": "Hi"}, "body"),
        ("customer", {"subject": "x" * 201, "body": "x"}, "subject"),
        ("customer", {"subject": "", "body": "x"}, "subject"),
        ("customer", {"subject": ["list"], "body": "x"}, "subject"),
        (
            "customer",
            {"subject": "Hi", "body": "x", "requester": "oscar@acme-other.example"},
            "requester",
        ),
        ("customer", {"subject": "Hi", "body": "x", "tags": ["a"]}, "tags"),
        ("customer", {"subject": "Hi", "body": "x", "sujet": "typo"}, "sujet"),
        ("agent", {"subject": "Hi", "body": "x", "requester": "nobody@example.com"}, "requester"),
        ("agent", {"subject": "Hi", "body": "x", "requester": "agent@globex.example"}, "requester"),
        ("agent", {"subject": "Hi", "body": "x", "tags": "not-a-list"}, "tags"),
        ("agent", {"subject": "Hi", "body": "x", "tags": ["x" * 51]}, "tags"),
        ("agent", {"subject": "Hi", "body": "x", "tags": [f"t{i}" for i in range(21)]}, "tags"),
    ],
)
def test_bad_ticket_input_is_a_400_naming_the_field(acme, globex, persona, body, field):
    if body.get("category") == 3:
        body = {**body, "category": category(acme, "Billing").pk}  # ids are not names
    before = _counts(acme)
    response = _send(acme.client(getattr(acme, persona)), "post", "/api/v1/tickets/", body)
    assert response.status_code == 400
    errors = _body(response)
    assert errors.get(field)
    assert _counts(acme) == before


@pytest.mark.parametrize(
    ("payload", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("", "application/json", 400),
        ('["a", "list"]', "application/json", 400),
        ('"a string"', "application/json", 400),
        ("null", "application/json", 400),
        ("subject=Hi&body=x", "application/x-www-form-urlencoded", 415),
    ],
)
def test_unparseable_bodies_are_json_errors(acme, payload, content_type, status):
    before = _counts(acme)
    response = acme.client(acme.customer).post(
        "/api/v1/tickets/", payload, content_type=content_type
    )
    assert response.status_code == status
    assert _body(response)
    assert _counts(acme) == before


# -- changing tickets -----------------------------------------------------------------------


def test_agents_change_status_priority_category_assignee_and_tags(acme):
    ticket = make_ticket(acme)
    response = _send(
        acme.client(acme.agent),
        "patch",
        f"/api/v1/tickets/{ticket.number}/",
        {
            "status": "pending",
            "priority": "low",
            "category": "Billing",
            "assignee": "admin@acme.example",
            "tags": ["Refund", "vip"],
        },
    )
    assert response.status_code == 200, response.content
    data = _body(response)
    assert data["status"] == "pending" and data["priority"] == "low"
    assert data["category"] == "Billing"
    assert data["assignee"]["email"] == "admin@acme.example"
    assert data["tags"] == ["refund", "vip"]
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.PENDING and ticket.priority == Priority.LOW
    with acme.scope():
        kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"status", "priority", "category", "assignee", "tags"} <= kinds

    cleared = _send(
        acme.client(acme.agent),
        "patch",
        f"/api/v1/tickets/{ticket.number}/",
        {"assignee": None, "category": None},
    )
    assert _body(cleared)["assignee"] is None and _body(cleared)["category"] is None
    assert refresh(acme, ticket).assignee is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"priority": "extreme"}, "priority"),
        ({"priority": None}, "priority"),
        ({"category": "Nope"}, "category"),
        ({"assignee": "carol@acme-co.example"}, "assignee"),
        ({"assignee": "agent@globex.example"}, "assignee"),
        ({"assignee": 7}, "assignee"),
        ({"tags": "vip"}, "tags"),
        ({"subject": "Renamed"}, "subject"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_changes_are_a_400_and_change_nothing(acme, globex, body, field):
    ticket = make_ticket(acme)
    before = _counts(acme)
    response = _send(acme.client(acme.agent), "patch", f"/api/v1/tickets/{ticket.number}/", body)
    assert response.status_code == 400
    assert field in _body(response)
    assert _counts(acme) == before
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.NEW and ticket.assignee is None and ticket.subject != "Renamed"


def test_rules_of_the_services_come_back_as_400s(acme):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.CLOSED)
    response = _send(
        acme.client(acme.agent), "patch", f"/api/v1/tickets/{ticket.number}/", {"status": "open"}
    )
    assert response.status_code == 400
    assert _body(response) == {"non_field_errors": ["A closed ticket cannot change status."]}
    assert refresh(acme, ticket).status == Status.CLOSED


def test_customers_can_mark_their_request_solved_and_nothing_else(acme):
    ticket = make_ticket(acme)
    client = acme.client(acme.customer)
    path = f"/api/v1/tickets/{ticket.number}/"

    for body, field, message in [
        ({"status": "open"}, "status", "You can only mark a request “solved”."),
        ({"priority": "high"}, "priority", "Only agents can set this."),
        ({"assignee": "agent@acme.example"}, "assignee", "Only agents can set this."),
        ({"status": "solved", "tags": ["x"]}, "tags", "Only agents can set this."),
    ]:
        response = _send(client, "patch", path, body)
        assert response.status_code == 400
        assert _body(response)[field] == [message]
    assert refresh(acme, ticket).status == Status.NEW

    response = _send(client, "patch", path, {"status": "solved"})
    assert response.status_code == 200
    assert _body(response)["status"] == "solved"
    assert refresh(acme, ticket).solved_at is not None


# -- messages -------------------------------------------------------------------------------


def test_customers_see_the_public_thread_and_agents_the_internal_notes_too(acme):
    ticket = make_ticket(acme, body="First message")
    with acme.scope():
        ticket_add_note(ticket=ticket, author=acme.agent, body="Customer seems upset")
        ticket_reply(
            ticket=ticket, author=acme.agent, body="We are on it", uploads=[upload("log.txt")]
        )
    path = f"/api/v1/tickets/{ticket.number}/messages/"

    customer = acme.client(acme.customer).get(path)
    agent = acme.client(acme.agent).get(path)

    public = _body(customer)["results"]
    assert [m["body"] for m in public] == ["First message", "We are on it"]
    assert "Customer seems upset" not in customer.content.decode()
    assert "internal" not in public[0]
    assert public[1]["author"] == {"email": "agent@acme.example", "name": "Acme Analytics Agent"}
    assert public[1]["body_html"].strip() == "<p>We are on it</p>"
    [attachment] = public[1]["attachments"]
    assert attachment["name"] == "log.txt" and attachment["size"] == 5
    assert attachment["url"].startswith("http://acme.localhost/attachments/")
    everything = _body(agent)["results"]
    assert [(m["body"], m["internal"]) for m in everything] == [
        ("First message", False),
        ("Customer seems upset", True),
        ("We are on it", False),
    ]


def test_a_customers_reply_reopens_a_solved_ticket(acme):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.SOLVED)
    response = _send(
        acme.client(acme.customer),
        "post",
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "Still broken"},
    )
    assert response.status_code == 201
    data = _body(response)
    assert data["body"] == "Still broken" and data["author"]["email"] == "carol@acme-co.example"
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.OPEN
    with acme.scope():
        assert ticket.messages.last().channel == Channel.API


def test_agents_reply_or_add_internal_notes(acme, django_capture_on_commit_callbacks):
    ticket = make_ticket(acme)
    path = f"/api/v1/tickets/{ticket.number}/messages/"
    client = acme.client(acme.agent)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        note = _send(client, "post", path, {"body": "Checking logs", "internal": True})
    assert note.status_code == 201 and _body(note)["internal"] is True
    assert not [m for m in mail.outbox if acme.customer.email in m.to]
    assert "Checking logs" not in acme.client(acme.customer).get(path).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        reply = _send(client, "post", path, {"body": "Fixed it"})
    assert reply.status_code == 201 and _body(reply)["internal"] is False
    assert refresh(acme, ticket).status == Status.OPEN
    assert [m for m in mail.outbox if acme.customer.email in m.to]


@pytest.mark.parametrize(
    ("persona", "body", "field"),
    [
        ("customer", {"body": ""}, "body"),
        ("customer", {"body": "  "}, "body"),
        ("customer", {}, "body"),
        ("customer", {"body": "Psst", "internal": True}, "internal"),
        ("agent", {"body": "Note", "internal": "sometimes"}, "internal"),
        ("agent", {"body": {"nested": "object"}}, "body"),
        ("agent", {"body": "x", "status": "solved"}, "status"),
    ],
)
def test_bad_messages_are_a_400_and_add_nothing(acme, persona, body, field):
    ticket = make_ticket(acme)
    before = _counts(acme)
    response = _send(
        acme.client(getattr(acme, persona)),
        "post",
        f"/api/v1/tickets/{ticket.number}/messages/",
        body,
    )
    assert response.status_code == 400
    assert field in _body(response)
    assert _counts(acme) == before


def test_replying_to_a_closed_ticket_is_a_400(acme):
    ticket = make_ticket(acme)
    set_fields(acme, ticket, status=Status.CLOSED)
    before = _counts(acme)
    response = _send(
        acme.client(acme.customer),
        "post",
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "Hello?"},
    )
    assert response.status_code == 400
    assert _body(response) == {
        "non_field_errors": ["This ticket is closed; open a new request instead."]
    }
    assert _counts(acme) == before


# -- categories -----------------------------------------------------------------------------


def test_categories_customers_see_active_ones_agents_all(acme, globex):
    with acme.scope():
        Category.objects.filter(name="Feature request").update(is_active=False)
    with globex.scope():
        Category.objects.create(tenant=globex.tenant, name="Globex only")

    customer = _body(acme.client(acme.customer).get("/api/v1/categories/"))["results"]
    agent = _body(acme.client(acme.agent).get("/api/v1/categories/"))["results"]

    assert [c["name"] for c in customer] == [
        "Getting started",
        "Technical issue",
        "Billing",
        "Account",
    ]
    assert {"name": "Feature request", "is_active": False} in agent
    assert len(agent) == 5
    assert "Globex only" not in json.dumps(agent)


# -- session authentication, rate limits, docs ----------------------------------------------


def test_browser_sessions_need_the_csrf_token_for_writes(acme):
    client = Client(HTTP_HOST=acme.host, enforce_csrf_checks=True)
    client.force_login(acme.customer)
    body = json.dumps({"subject": "From the browser", "body": "Hi"})

    refused = client.post("/api/v1/tickets/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in _body(refused)["detail"]
    assert _counts(acme)[0] == 0

    client.get("/account/api-tokens/")  # any page with a form sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/tickets/", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201
    # Reading needs no token.
    assert client.get("/api/v1/tickets/").status_code == 200


def test_requests_beyond_the_rate_limit_get_a_429(acme, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "2/min")
    client = acme.client(acme.agent)
    for _ in range(3):
        assert client.get("/api/v1/categories/").status_code == 200
    limited = client.get("/api/v1/tickets/")
    assert limited.status_code == 429
    assert "throttled" in _body(limited)["detail"]
    assert int(limited["Retry-After"]) > 0
    # Another person has their own allowance.
    assert acme.client(acme.customer).get("/api/v1/categories/").status_code == 200
    anonymous = acme.client()
    assert [anonymous.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]


def test_rate_limits_are_configured_from_the_environment(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "anon": settings.API_RATE_ANON,
        "user": settings.API_RATE_USER,
    }


def test_schema_describes_every_endpoint(acme):
    response = acme.client().get("/api/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) == {
        "/api/v1/tickets/",
        "/api/v1/tickets/{number}/",
        "/api/v1/tickets/{number}/messages/",
        "/api/v1/categories/",
        "/api/v1/attachments/{key}/",
        "/api/v1/kb/categories/",
        "/api/v1/kb/sections/",
        "/api/v1/kb/articles/",
        "/api/v1/kb/articles/{id}/",
        "/api/v1/kb/articles/search/",
        "/api/v1/success/events/",
    }
    assert set(schema["paths"]["/api/v1/tickets/{number}/"]) == {"get", "patch"}
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    priority = schema["components"]["schemas"]["PriorityEnum"]["enum"]
    assert priority == ["urgent", "high", "medium", "low"]


def test_docs_page_loads_its_assets_from_this_site(acme):
    page = acme.client().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    # The start-up script is a file of its own (no inline script under the CSP).
    script = acme.client().get("/api/docs/", {"script": ""})
    assert script["Content-Type"].startswith("application/javascript")
    assert '<script src="/api/docs/?script="></script>' in page
    assert "/api/schema/" in script.content.decode()
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_an_agent_of_another_tenant_is_only_a_customer_here(acme, globex):
    # An address that is an agent's at Globex and a customer's at Acme: at Acme, that
    # is Acme's own account, a customer.
    ours = make_member(acme.tenant, globex.agent.email, Role.CUSTOMER, organization=acme.other_org)
    ticket = make_ticket(acme, subject="Carol's")
    client = acme.client(ours)
    assert _body(client.get("/api/v1/tickets/"))["results"] == []
    assert client.get(f"/api/v1/tickets/{ticket.number}/").status_code == 404
