"""Live chat and groups (docs/routing.md): a chat a routing rule sends to a group is
offered to that group's agents, and a desk that keeps agents to their groups keeps its
waiting chats to them too."""

import pytest
from django.core.exceptions import ValidationError

from chat import services
from helpdesk.models import Role
from tests.chat.sockets import pro_plus_customer
from tests.chat.test_chat import membership_of, online, pending_offer, start
from tests.helpdesk.factories import make_member
from tests.routing.test_routing import make_group, make_rule
from tickets.models import Channel

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
