"""Live chat and groups (docs/routing.md): a chat a routing rule sends to a group is
offered to that group's agents, and a desk that keeps agents to their groups keeps its
waiting chats to them too."""

import uuid

import pytest
from django.core.exceptions import ValidationError

from chat import services
from chat import urls as chat_urls
from chat.consumers import AgentConsoleConsumer
from chat.models import Chat
from helpdesk.models import Role
from tests.chat.sockets import Socket, pro_plus_customer
from tests.chat.test_chat import membership_of, online, pending_offer, start
from tests.helpdesk.factories import make_member
from tests.routing.test_routing import make_group, make_rule
from tickets.models import Channel, Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chat_team(acme):
    """Tina is the Chat team's agent; the desk's agent is online too, and idle longer."""
    tina = make_member(acme.tenant, "tina@acme.example", Role.AGENT, full_name="Tina")
    make_rule(acme, make_group(acme, "Chat team", tina), channels=[Channel.CHAT])
    online(acme, acme.agent)
    online(acme, tina)
    return tina


def test_a_chat_routed_to_a_group_is_offered_to_its_agents(acme, chat_team):
    chat = start(acme, pro_plus_customer(acme))
    assert pending_offer(acme, chat).agent == chat_team


def test_a_group_nobody_is_in_does_not_strand_its_chats(acme):
    make_rule(acme, make_group(acme, "Empty"), channels=[Channel.CHAT])
    online(acme, acme.agent)
    chat = start(acme, pro_plus_customer(acme))
    assert pending_offer(acme, chat).agent == acme.agent


def test_a_desk_keeping_agents_to_groups_keeps_its_waiting_chats_to_them(acme, chat_team):
    acme.tenant.agents_see_own_groups_only = True
    acme.tenant.save(update_fields=["agents_see_own_groups_only"])
    chat = start(acme, pro_plus_customer(acme))
    with acme.scope():
        outsider = membership_of(acme, acme.agent)
        outsider.tenant = acme.tenant
        assert services.queue_json(acme.tenant, outsider)["waiting"] == []
        tina = membership_of(acme, chat_team)
        tina.tenant = acme.tenant
        assert [w["chat"] for w in services.queue_json(acme.tenant, tina)["waiting"]] == [
            chat.key.hex
        ]
        with pytest.raises(ValidationError):
            services.chat_pick(chat=chat, membership=outsider)
        assert services.chat_pick(chat=chat, membership=tina).agent == chat_team


# -- a desk keeping agents to their groups: every way to a chat is kept too -------------------

# The console's messages that name no chat; every other one does, and finds it through
# services.chat_for_staff (a new message type is walked without anyone listing it).
NAMING_NO_CHAT = {"hello", "heartbeat", "availability", "queue", "team"}
CHAT_ACTIONS = sorted(
    {n.removeprefix("on_") for n in dir(AgentConsoleConsumer) if n.startswith("on_")}
    - NAMING_NO_CHAT
)
# The agent's pages about one chat, from the URL conf.
AGENT_CHAT_PAGES = [
    str(p.pattern) for p in chat_urls.urlpatterns if str(p.pattern).startswith("agent/chat/<")
]


@pytest.fixture
def kept_chat(acme, chat_team):
    """The desk keeps agents to their groups; Tina took a Chat team chat and noted on it.
    The desk's agent is in no group."""
    acme.tenant.agents_see_own_groups_only = True
    acme.tenant.save(update_fields=["agents_see_own_groups_only"])
    chat = start(acme, pro_plus_customer(acme), "My card ends in 4242")
    with acme.scope():
        services.chat_pick(chat=chat, membership=membership_of(acme, chat_team))
        services.chat_note(chat=chat, author=chat_team, body="Watch this account")
    return chat


def _state(acme, chat):
    with acme.scope():
        fresh = Chat.objects.select_related("ticket").get(pk=chat.pk)
        lines = list(Message.objects.filter(ticket=fresh.ticket).values_list("body", flat=True))
        return (fresh.state, fresh.agent_id, fresh.agent_read_id, fresh.ticket.assignee_id, lines)


def test_every_console_action_is_a_list_of_the_chat_actions():
    assert {"send", "note", "read", "history", "transfer", "end", "typing", "pick"} <= set(
        CHAT_ACTIONS
    )


@pytest.mark.parametrize("action", CHAT_ACTIONS)
def test_an_agent_of_other_groups_finds_no_chat_of_this_one_whatever_the_console_asks(
    acme, chat_team, kept_chat, action
):
    before = _state(acme, kept_chat)
    console = Socket("/ws/agent/", host=acme.host, user=acme.agent)
    console.send(
        type=action,
        chat=kept_chat.key.hex,
        body="The outsider was here",
        after=0,
        up_to=10**6,
        to=chat_team.pk,
        client_key=uuid.uuid4().hex,
    )
    error = console.receive_until("error")
    console.close()
    assert error["message"] == "This chat was not found."
    assert _state(acme, kept_chat) == before


@pytest.mark.parametrize("page", AGENT_CHAT_PAGES)
def test_an_agent_of_other_groups_gets_no_page_about_this_groups_chat(
    acme, chat_team, kept_chat, page
):
    path = "/" + page.replace("<uuid:key>", str(kept_chat.key))
    assert acme.client(acme.agent).get(path).status_code == 404
    assert acme.client(chat_team).get(path).status_code == 200


def test_an_agent_kept_to_groups_may_take_a_chat_of_no_group_offered_to_them(acme):
    acme.tenant.agents_see_own_groups_only = True
    acme.tenant.save(update_fields=["agents_see_own_groups_only"])
    make_rule(acme, make_group(acme, "Empty"), channels=[Channel.CHAT])
    online(acme, acme.agent)
    chat = start(acme, pro_plus_customer(acme))
    assert pending_offer(acme, chat).agent == acme.agent
    console = Socket("/ws/agent/", host=acme.host, user=acme.agent)
    console.send(type="accept", chat=chat.key.hex)
    state = console.receive_until("state", chat=chat.key.hex)
    console.close()
    assert state["state"] == "active"


def test_the_customer_card_beside_a_chat_reads_the_chat_with_its_people_in_one_query(
    acme, chat_team, kept_chat
):
    # The card shows the requester, the organization and its plan: read with the chat,
    # not once each afterwards.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = acme.client(chat_team)
    path = f"/agent/chat/{kept_chat.key}/customer/"
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    queries = [q["sql"] for q in captured.captured_queries]
    customer = kept_chat.customer_id
    assert not [sql for sql in queries if f'"helpdesk_user"."id" = {customer}' in sql]
    assert not [sql for sql in queries if 'FROM "plans_organization"' in sql]
    assert not [sql for sql in queries if 'FROM "plans_plan"' in sql]
