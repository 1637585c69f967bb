"""What a chat line costs the database: the same few queries for every line, whatever the
length of the chat, on the one thread each web process gives its sockets
(helpdesk/sockets.py). The chat benchmark (bench/sections/chat.py) sends 100 lines a
second through this path."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import services
from chat.models import Chat
from helpdesk.tenancy import tenant_scope
from tests.chat.sockets import pro_plus_customer
from tests.chat.test_chat import membership_of, online, pending_offer, start

pytestmark = pytest.mark.django_db(transaction=True)

# BEGIN, the chat's row lock, the resent-line check, SAVEPOINT, the ticket's row lock,
# whether the author is staff, the INSERT, its words into the ticket's search document,
# the ticket's UPDATE, RELEASE, COMMIT.
QUERIES_PER_LINE = 11
# A customer's line also reads their membership and plan again: a plan without chat, or a
# membership ended, since the chat opened stops it.
CUSTOMER_LINE = QUERIES_PER_LINE + 1


def _line(desk, chat, author, membership, body: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured, tenant_scope(desk.tenant):
        services.chat_post(
            chat=chat, author=author, membership=membership, body=body, client_key=uuid.uuid4()
        )
    return [query["sql"] for query in captured.captured_queries]


def test_every_line_of_a_chat_costs_the_same_few_queries_on_either_side(acme):
    pat = pro_plus_customer(acme)
    online(acme, acme.agent)
    chat = start(acme, pat)
    with tenant_scope(acme.tenant):
        services.offer_accept(chat=chat, membership=membership_of(acme, acme.agent))
        chat = Chat.objects.get(pk=chat.pk)
    customer, agent = membership_of(acme, pat), membership_of(acme, acme.agent)
    assert pending_offer(acme, chat) is None

    # Every line costs the same, however long the chat. A line after the other side's
    # also moves the ticket's next-response clock: the customer's starts it (an event),
    # the agent's meets it (an SLA outcome and an event).
    _line(acme, chat, pat, customer, "Hello?")  # the first reply's clock, the ticket opening
    _line(acme, chat, acme.agent, agent, "Hi, looking now")
    rounds = []
    for n in range(5):
        rounds.append(
            [
                len(_line(acme, chat, pat, customer, f"line {n}")),
                len(_line(acme, chat, pat, customer, f"line {n} again")),
                len(_line(acme, chat, acme.agent, agent, f"reply {n}")),
                len(_line(acme, chat, acme.agent, agent, f"reply {n} again")),
            ]
        )
    theirs, each = CUSTOMER_LINE, QUERIES_PER_LINE
    assert rounds == [[theirs + 1, theirs, each + 2, each]] * 5

    # No file: its (empty) list of attachments is not asked for; the desk's SLA rules
    # come from the cache by the ticket's tenant id, without reading the tenant.
    queries = _line(acme, chat, pat, customer, "one more")
    assert not any("tickets_attachment" in sql for sql in queries)
    assert not any('FROM "helpdesk_tenant"' in sql for sql in queries)
