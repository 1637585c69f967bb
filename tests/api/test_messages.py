"""GET /api/v1/tickets/{number}/messages/: a thread is paged in the database, and
customers never see internal notes on any page (tests/api/test_api.py has the
permission table and the thread's JSON)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.helpers import json_body
from tests.tickets.factories import make_ticket, upload
from tickets.services import ticket_add_note, ticket_reply


def _grow_thread(desk, ticket, start: int, stop: int) -> None:
    """Replies from the agent and the customer, and every third message a note; each
    with an attachment."""
    with desk.scope():
        for i in range(start, stop):
            attached = [upload(f"file-{i}.txt", b"data")]
            if i % 3 == 2:
                ticket_add_note(
                    ticket=ticket, author=desk.agent, body=f"Note {i}", uploads=attached
                )
            else:
                author = desk.agent if i % 3 == 0 else desk.customer
                ticket_reply(ticket=ticket, author=author, body=f"Reply {i}", uploads=attached)


def _path(ticket, **query) -> str:
    path = f"/api/v1/tickets/{ticket.number}/messages/"
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize("persona", ["agent", "customer"])
def test_query_count_does_not_grow_with_the_thread(acme, persona, django_assert_num_queries):
    ticket = make_ticket(acme, body="Reply -1")
    _grow_thread(acme, ticket, 0, 4)
    client = acme.client(getattr(acme, persona))
    client.get(_path(ticket))
    with CaptureQueriesContext(connection) as five:
        response = client.get(_path(ticket))
    assert len(json_body(response)["results"]) == (5 if persona == "agent" else 4)

    _grow_thread(acme, ticket, 4, 49)  # 50 messages, 34 of them public
    with django_assert_num_queries(len(five.captured_queries)):
        response = client.get(_path(ticket))
    results = json_body(response)["results"]
    assert len(results) == (50 if persona == "agent" else 34)
    assert all(len(message["attachments"]) == 1 for message in results[1:])


def test_a_page_is_fetched_on_its_own(acme):
    ticket = make_ticket(acme)
    _grow_thread(acme, ticket, 0, 30)
    with CaptureQueriesContext(connection) as queries:
        response = acme.client(acme.agent).get(_path(ticket, page=2, page_size=10))
    assert [m["body"] for m in json_body(response)["results"]] == [
        f"Reply {i}" if i % 3 != 2 else f"Note {i}" for i in range(9, 19)
    ]
    messages = [q["sql"] for q in queries.captured_queries if 'FROM "tickets_message"' in q["sql"]]
    assert len(messages) == 1
    assert messages[0].endswith("LIMIT 11 OFFSET 10")


@pytest.mark.parametrize("persona", ["agent", "customer"])
def test_following_next_walks_the_whole_visible_thread(acme, persona):
    ticket = make_ticket(acme, body="First")
    _grow_thread(acme, ticket, 0, 11)
    client = acme.client(getattr(acme, persona))
    url, bodies, pages = _path(ticket, page_size=3), [], 0
    while url:
        data = json_body(client.get(url))
        bodies += [m["body"] for m in data["results"]]
        url, pages = data["next"], pages + 1

    notes = [f"Note {i}" for i in range(11) if i % 3 == 2]
    everything = ["First"] + [f"Note {i}" if i % 3 == 2 else f"Reply {i}" for i in range(11)]
    if persona == "agent":
        assert bodies == everything and pages == 4
    else:
        assert bodies == [b for b in everything if b not in notes] and pages == 3
        assert "Note" not in client.get(_path(ticket, page_size=100)).content.decode()


def test_a_page_past_the_end_is_empty(acme):
    ticket = make_ticket(acme)
    data = json_body(acme.client(acme.customer).get(_path(ticket, page=5)))
    assert data["results"] == [] and data["next"] is None
    assert data["previous"].endswith("page=4")


@pytest.mark.parametrize("query", [{"page": 0}, {"page": "x"}, {"page_size": 101}])
def test_bad_paging_is_a_400(acme, query):
    ticket = make_ticket(acme)
    response = acme.client(acme.customer).get(_path(ticket, **query))
    assert response.status_code == 400
    assert set(json_body(response)) == set(query)


def test_other_tenants_and_organizations_get_a_404(acme, globex):
    ticket = make_ticket(acme, body="Carol's secret thread")
    for client in (acme.client(acme.other_customer), globex.client(globex.agent)):
        response = client.get(_path(ticket))
        assert response.status_code == 404
        assert "secret" not in response.content.decode()
