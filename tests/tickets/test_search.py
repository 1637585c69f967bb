"""Agents' ticket search (tickets/search.py): any word of a ticket (subject, every
message and note, the requester, organization and tags) or its number, stemmed in
English and cut into words in Chinese, inside the desk and what the agent may see,
ranked best match first with what matched shown and marked."""

import pytest
from django.core.management import call_command
from django.db import connection

from helpdesk.models import Role
from tests.helpdesk.factories import make_member
from tests.routing.test_routing import make_group
from tests.tickets.factories import make_ticket, set_fields
from tickets.models import TicketSearch
from tickets.services import ticket_add_note, ticket_merge, ticket_reply, ticket_update

pytestmark = pytest.mark.django_db


def found(desk, q, user=None, **params) -> list[int]:
    """The ticket numbers the agent's queue search lists, in order (every view)."""
    response = desk.client(user or desk.agent).get("/agent/", {"q": q, "view": "all", **params})
    assert response.status_code == 200
    return [t.number for t in response.context["tickets"]]


@pytest.fixture
def tickets(acme):
    crash = make_ticket(acme, subject="Export fails", body="The app crashed twice at noon.")
    invoice = make_ticket(
        acme, acme.other_customer, subject="发票问题", body="我需要开发票，金额不对。"
    )
    plain = make_ticket(acme, subject="Login question", body="How do I sign in?", tags=["vip"])
    return crash, invoice, plain


def test_any_word_of_a_ticket_finds_it(acme, tickets):
    crash, invoice, plain = tickets
    with acme.scope():
        ticket_reply(ticket=plain, author=acme.agent, body="Try the blue button.")
        ticket_add_note(ticket=plain, author=acme.agent, body="Customer uses Firefox nightly.")
    assert found(acme, "crashes") == [crash.number]  # a message's word, stemmed
    assert found(acme, "Firefox") == [plain.number]  # an internal note
    assert found(acme, "blue button") == [plain.number]  # every word must match
    assert found(acme, "blue crashed") == []
    assert found(acme, "发票") == [invoice.number]  # Chinese, cut into words
    assert found(acme, "金额") == [invoice.number]
    assert found(acme, "Oscar") == [invoice.number]  # the requester's name
    assert found(acme, "oscar@acme-other.example") == [invoice.number]  # their email
    assert set(found(acme, "Analytics Customer")) == {crash.number, plain.number}  # organization
    assert found(acme, "vip") == [plain.number]  # a tag
    assert found(acme, f"#{crash.number}") == [crash.number]
    assert found(acme, str(invoice.number)) == [invoice.number]


def test_what_was_just_written_is_found(acme, tickets):
    crash, _invoice, plain = tickets
    with acme.scope():
        ticket_reply(ticket=crash, author=acme.customer, body="Now the printer smokes.")
    assert found(acme, "printer") == [crash.number]
    with acme.scope():
        ticket_update(ticket=plain, actor=acme.agent, tags=["renewal"])
    assert found(acme, "renewal") == [plain.number]
    assert found(acme, "vip") == []
    with acme.scope():
        ticket_merge(source=crash, target=plain, actor=acme.agent)
    assert plain.number in found(acme, "printer")


def test_best_match_first_and_what_matched_is_shown(acme):
    in_message = make_ticket(acme, subject="Weekly report", body="The exporter stops at 90%.")
    in_subject = make_ticket(acme, subject="Exporter broken", body="Nothing more to say.")
    assert found(acme, "exporter") == [in_subject.number, in_message.number]
    # Another order, when chosen, wins.
    assert found(acme, "exporter", sort="oldest") == [in_message.number, in_subject.number]
    page = acme.client(acme.agent).get("/agent/", {"q": "exporter"}).content.decode()
    assert "The <mark>exporter</mark> stops at 90%." in page


def test_the_excerpt_is_the_first_message_that_says_it(acme):
    ticket = make_ticket(acme, subject="Weekly report", body="Hello, a question about reports.")
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body="Which screen?")
        ticket_reply(ticket=ticket, author=acme.customer, body="Exporting to PDF hangs, 导出失败。")
        ticket_reply(ticket=ticket, author=acme.agent, body="We export again tonight.")
    for q, excerpt in [
        ("exported", "<mark>Exporting</mark> to PDF hangs, 导出失败。"),
        ("导出", "Exporting to PDF hangs, <mark>导出</mark>失败。"),
    ]:
        page = acme.client(acme.agent).get("/agent/", {"q": q, "view": "all"})
        assert page.context["excerpts"] == {ticket.pk: excerpt}


def test_a_search_pages_query_count_does_not_grow_with_its_rows(acme, monkeypatch):
    """Its excerpts read the page's messages and the stems of their words at once,
    whatever the number of rows (each row's words new to the process)."""
    from django.test.utils import CaptureQueriesContext

    from helpdesk import highlight

    def file(start, stop):
        for i in range(start, stop):
            ticket = make_ticket(acme, subject=f"Case {i}", body=f"Hello, question {i}.")
            with acme.scope():
                ticket_reply(ticket=ticket, author=acme.customer, body=f"Exporting word{i}x fails.")

    def searched() -> tuple[int, int]:
        monkeypatch.setattr(highlight, "_stems", {})  # every word unknown to the process
        with CaptureQueriesContext(connection) as queries:
            page = acme.client(acme.agent).get("/agent/", {"q": "exported", "view": "all"})
        assert len(page.context["excerpts"]) == len(page.context["tickets"])
        return len(page.context["tickets"]), len(queries)

    file(0, 3)
    assert searched()[0] == 3
    few = searched()[1]
    file(3, 20)
    assert searched() == (20, few)


def test_search_stays_inside_the_desk_and_what_the_agent_may_see(acme, globex):
    ours = make_ticket(acme, subject="Refund", body="Refund the ticket please.")
    make_ticket(globex, subject="Refund", body="Refund the ticket please.")
    assert found(acme, "refund") == [ours.number]
    # A desk keeping agents to their groups' tickets: search keeps to them too.
    other_agent = make_member(acme.tenant, "ned@acme.example", Role.AGENT, full_name="Ned")
    group = make_group(acme, "Billing", acme.agent)
    set_fields(acme, ours, group=group)
    acme.tenant.agents_see_own_groups_only = True
    acme.tenant.save()
    assert found(acme, "refund") == [ours.number]
    assert found(acme, "refund", user=other_agent) == []


def test_the_api_list_searches_the_same(acme, tickets):
    from helpdesk.api_tokens import api_token_create

    crash, _invoice, _plain = tickets
    with acme.scope():
        _token, key = api_token_create(tenant=acme.tenant, user=acme.agent, name="search")
    response = acme.client().get(
        "/api/v1/tickets/", {"q": "crashed"}, HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200
    assert [row["number"] for row in response.json()["results"]] == [crash.number]


def test_a_rebuilt_document_equals_the_one_kept_up_to_date(acme, tickets):
    crash, invoice, plain = tickets
    with acme.scope():
        ticket_reply(ticket=crash, author=acme.agent, body="Patched in 2.4.1, 请再试。")
        ticket_update(ticket=plain, actor=acme.agent, tags=["vip", "beta"])

    def documents() -> dict[int, str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ticket_id, document::text FROM tickets_ticketsearch WHERE tenant_id = %s",
                [acme.tenant.pk],
            )
            return dict(cursor.fetchall())

    kept = documents()
    assert len(kept) == 3
    with acme.scope():
        TicketSearch.objects.filter(ticket=invoice).delete()
    call_command("reindex_tickets", "--desk", "acme")  # the one without a document
    call_command("reindex_tickets", "--all")
    assert documents() == kept


@pytest.mark.django_db(transaction=True)
def test_a_live_chats_lines_are_found(acme):
    import uuid

    from chat import services as chat_services
    from tests.chat.sockets import pro_plus_customer
    from tests.chat.test_chat import membership_of, online, start

    pat = pro_plus_customer(acme)
    online(acme, acme.agent)
    chat = start(acme, pat)
    with acme.scope():
        chat_services.chat_post(
            chat=chat,
            author=pat,
            membership=membership_of(acme, pat),
            body="The webhook signature never matches",
            client_key=uuid.uuid4(),
        )
        number = chat.ticket.number
    assert found(acme, "signature") == [number]
