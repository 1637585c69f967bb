"""Groups of agents in the agent workspace: the queue's group views, a ticket's group,
and a desk that keeps its agents to their groups' tickets (Tenant.agents_see_own_groups_only):
pages, search, the API and attachments alike."""

import json

import pytest

from helpdesk.models import Role
from tests.api.helpers import token_client
from tests.helpdesk.factories import make_member
from tests.routing.test_routing import make_group
from tests.tickets.factories import make_ticket, upload
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services import ticket_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(acme):
    """Billing (the desk's agent) and Tier 2 (Tina), a ticket in each, and one in none."""
    tina = make_member(acme.tenant, "tina@acme.example", Role.AGENT, full_name="Tina Tier2")
    billing = make_group(acme, "Billing", acme.agent)
    tier2 = make_group(acme, "Tier 2", tina)
    tickets = {}
    for name, group in (("billing", billing), ("tier2", tier2), ("none", None)):
        ticket = make_ticket(
            acme,
            subject=f"{name} ticket about exports",
            uploads=[upload(f"{name}.txt", b"log", "text/plain")],
        )
        if group is not None:
            with acme.scope():
                ticket_update(ticket=ticket, actor=acme.admin, group=group)
        tickets[name] = ticket
    return tina, billing, tier2, tickets


def keep_agents_to_groups(desk, on=True):
    desk.tenant.agents_see_own_groups_only = on
    desk.tenant.save(update_fields=["agents_see_own_groups_only"])


def queue_subjects(desk, user, query=""):
    page = desk.client(user).get(f"/agent/?{query}").content.decode()
    return {name for name in ("billing", "tier2", "none") if f"{name} ticket" in page}


def test_my_groups_and_a_groups_own_view(acme, teams):
    tina, billing, tier2, _tickets = teams
    assert queue_subjects(acme, acme.agent, "view=groups") == {"billing"}
    assert queue_subjects(acme, tina, "view=groups") == {"tier2"}
    assert queue_subjects(acme, acme.agent, f"group={tier2.pk}") == {"tier2"}
    # Every agent sees every ticket while the desk does not keep them to their groups.
    assert queue_subjects(acme, acme.agent) == {"billing", "tier2", "none"}


def test_an_agent_moves_a_ticket_to_another_group_from_its_page(acme, teams):
    _tina, _billing, tier2, tickets = teams
    number = tickets["billing"].number
    page = acme.client(acme.agent).get(f"/agent/tickets/{number}/").content.decode()
    assert 'name="group"' in page and "Tier 2" in page
    changed = acme.client(acme.agent).post(
        f"/agent/tickets/{number}/change/",
        {"status": "open", "priority": 3, "group": tier2.pk, "tags": ""},
    )
    assert changed.status_code == 302
    with acme.scope():
        ticket = Ticket.objects.get(number=number)
        assert ticket.group == tier2
        event = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.GROUP).last()
        assert (event.actor, event.old_value, event.new_value) == (acme.agent, "Billing", "Tier 2")


def test_a_desk_that_keeps_agents_to_their_groups_hides_the_rest_everywhere(acme, teams):
    _tina, _billing, _tier2, tickets = teams
    keep_agents_to_groups(acme)
    agent = acme.agent
    client = acme.client(agent)
    # The queue and its search.
    assert queue_subjects(acme, agent) == {"billing"}
    assert queue_subjects(acme, agent, "q=exports") == {"billing"}
    assert queue_subjects(acme, agent, f"q=%23{tickets['tier2'].number}") == set()
    # Ticket pages, actions and attachments of other groups' tickets are not found.
    for name in ("tier2", "none"):
        number = tickets[name].number
        assert client.get(f"/agent/tickets/{number}/").status_code == 404
        assert client.post(f"/agent/tickets/{number}/respond/", {"body": "x"}).status_code == 404
        with acme.scope():
            key = Attachment.objects.get(ticket=tickets[name]).key
        assert client.get(f"/attachments/{key}/").status_code == 404
    assert client.get(f"/agent/tickets/{tickets['billing'].number}/").status_code == 200
    # The API: list and search, a ticket, its change.
    api = token_client(acme, agent)
    listed = api.get("/api/v1/tickets/?q=exports").json()["results"]
    assert [t["subject"] for t in listed] == ["billing ticket about exports"]
    tier2 = tickets["tier2"].number
    assert api.get(f"/api/v1/tickets/{tier2}/").status_code == 404
    patched = api.patch(
        f"/api/v1/tickets/{tier2}/",
        json.dumps({"priority": "low"}),
        content_type="application/json",
    )
    assert patched.status_code == 404
    # A ticket assigned to them is theirs whatever its group.
    with acme.scope():
        ticket_update(ticket=tickets["none"], actor=acme.admin, assignee=agent)
    assert client.get(f"/agent/tickets/{tickets['none'].number}/").status_code == 200


def test_admins_see_every_ticket_and_agents_again_when_the_desk_allows(acme, teams):
    keep_agents_to_groups(acme)
    assert queue_subjects(acme, acme.admin) == {"billing", "tier2", "none"}
    keep_agents_to_groups(acme, on=False)
    assert queue_subjects(acme, acme.agent) == {"billing", "tier2", "none"}


def test_bulk_changes_and_merges_reach_only_visible_tickets(acme, teams):
    _tina, _billing, _tier2, tickets = teams
    keep_agents_to_groups(acme)
    client = acme.client(acme.agent)
    client.post(
        "/agent/tickets/bulk/",
        {"selected": [tickets["tier2"].number, tickets["billing"].number], "status": "pending"},
    )
    with acme.scope():
        statuses = {n: Ticket.objects.get(pk=t.pk).status for n, t in tickets.items()}
    assert statuses["billing"] == "pending" and statuses["tier2"] != "pending"
    merged = client.post(
        f"/agent/tickets/{tickets['billing'].number}/merge/",
        {"target": tickets["tier2"].number},
    )
    assert merged.status_code == 400  # "no such ticket", as for a number that does not exist
    with acme.scope():
        assert Ticket.objects.get(pk=tickets["billing"].pk).merged_into is None


def test_another_desks_groups_are_not_offered_nor_accepted(acme, globex, teams):
    theirs = make_group(globex, "Globex secret group")
    _tina, _billing, _tier2, tickets = teams
    number = tickets["billing"].number
    page = acme.client(acme.agent).get(f"/agent/tickets/{number}/").content.decode()
    assert "Globex secret group" not in page
    assert "Globex secret group" not in acme.client(acme.agent).get("/agent/").content.decode()
    refused = acme.client(acme.agent).post(
        f"/agent/tickets/{number}/change/",
        {"status": "open", "priority": 3, "group": theirs.pk, "tags": ""},
    )
    assert refused.status_code == 400
    api = token_client(acme, acme.agent)
    patched = api.patch(
        f"/api/v1/tickets/{number}/",
        json.dumps({"group": "Globex secret group"}),
        content_type="application/json",
    )
    assert patched.status_code == 400
    with acme.scope():
        assert Ticket.objects.get(number=number).group.name == "Billing"
