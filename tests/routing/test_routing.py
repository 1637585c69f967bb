"""Routing (routing/services.py): the first rule a new ticket matches puts it in a group,
and the group hands it to an agent by its assignment, skipping the away and the full."""

import json

import pytest
from django.core import mail

from chat.models import AgentPresence, Availability
from helpdesk.models import Role
from routing.models import RoutingRule
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket
from tickets.models import Category, Channel, Group, GroupMember, Priority, Ticket, TicketEvent
from tickets.services import ticket_update

pytestmark = pytest.mark.django_db(transaction=True)


def make_group(desk, name, *agents, assignment=Group.Assignment.MANUAL, **fields):
    with desk.scope():
        group = Group.objects.create(tenant=desk.tenant, name=name, assignment=assignment, **fields)
        for agent in agents:
            GroupMember.objects.create(tenant=desk.tenant, group=group, agent=agent)
    return group


def make_rule(desk, group, position=0, **conditions):
    relations = {
        k: conditions.pop(k) for k in ("categories", "plans", "organizations") if k in conditions
    }
    with desk.scope():
        rule = RoutingRule.objects.create(
            tenant=desk.tenant,
            name=f"to {group.name}",
            group=group,
            position=position,
            **conditions,
        )
        for name, objects in relations.items():
            getattr(rule, name).set(objects)
    return rule


def group_of(desk, ticket):
    with desk.scope():
        found = Ticket.objects.select_related("group", "assignee").get(pk=ticket.pk)
    return found.group.name if found.group else None, found.assignee


def category(desk, name):
    with desk.scope():
        return Category.objects.get(name=name)


# -- which group ----------------------------------------------------------------------------


def test_the_first_matching_rule_in_order_wins_and_the_trail_says_so(acme):
    billing = make_group(acme, "Billing")
    tier2 = make_group(acme, "Tier 2")
    make_rule(acme, tier2, position=2, priorities=[Priority.HIGH])
    make_rule(acme, billing, position=1, words=["invoice"])
    ticket = make_ticket(acme, subject="Invoice is wrong", priority=Priority.HIGH)
    assert group_of(acme, ticket) == ("Billing", None)
    assert group_of(acme, make_ticket(acme, subject="Crash", priority=Priority.HIGH))[0] == "Tier 2"
    assert group_of(acme, make_ticket(acme, subject="Crash", priority=Priority.LOW))[0] is None
    with acme.scope():
        event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.GROUP)
        assert (event.actor, event.new_value) == (None, "Billing")


@pytest.mark.parametrize(
    "condition, matching, other",
    [
        ("category", {"category": "Billing"}, {"category": "Technical issue"}),
        ("priority", {"priority": Priority.HIGH}, {"priority": Priority.MEDIUM}),
        ("plan", {"requester": "customer"}, {"requester": "other_customer"}),
        ("organization", {"requester": "customer"}, {"requester": "other_customer"}),
        ("channel", {"channel": Channel.EMAIL}, {"channel": Channel.WEB}),
        ("language", {"language": "zh-hans"}, {"language": "en"}),
        ("tags", {"tags": ["VIP", "eu"]}, {"tags": ["eu"]}),
        ("words", {"body": "We need a REFUND please"}, {"body": "How do I export?"}),
    ],
)
def test_each_condition_routes_what_matches_it_and_nothing_else(acme, condition, matching, other):
    group = make_group(acme, "Special")
    rule_conditions = {
        "category": {"categories": [category(acme, "Billing")]},
        "priority": {"priorities": [Priority.HIGH]},
        "plan": {"plans": [acme.pro]},
        "organization": {"organizations": [acme.org]},
        "channel": {"channels": [Channel.EMAIL]},
        "language": {"languages": ["zh-hans"]},
        "tags": {"tags": ["vip"]},
        "words": {"words": ["refund"]},
    }[condition]
    make_rule(acme, group, **rule_conditions)

    def open_ticket(spec):
        spec = dict(spec)
        requester = getattr(acme, spec.pop("requester", "customer"))
        if "language" in spec:
            requester.preferred_language = spec.pop("language")
            requester.save(update_fields=["preferred_language"])
        if "category" in spec:
            spec["category"] = category(acme, spec["category"])
        return make_ticket(acme, requester, **spec)

    assert group_of(acme, open_ticket(matching))[0] == "Special"
    assert group_of(acme, open_ticket(other))[0] is None


def test_inactive_rules_and_groups_route_nothing(acme):
    make_rule(acme, make_group(acme, "Paused", is_active=False), words=["export"])
    rule = make_rule(acme, make_group(acme, "Off"), words=["export"])
    with acme.scope():
        rule.is_active = False
        rule.save()
    assert group_of(acme, make_ticket(acme, subject="Export fails"))[0] is None


def test_another_desks_rules_never_route_this_desks_tickets(acme, globex):
    make_rule(globex, make_group(globex, "Globex catch-all"))
    assert group_of(acme, make_ticket(acme))[0] is None
    assert group_of(globex, make_ticket(globex))[0] == "Globex catch-all"


def test_the_api_answers_with_the_group_the_ticket_was_routed_to(acme):
    from tests.api.helpers import token_client

    make_rule(acme, make_group(acme, "Billing"), words=["invoice"])
    client = token_client(acme, acme.customer)
    created = client.post(
        "/api/v1/tickets/",
        json.dumps({"subject": "Invoice 42", "body": "Wrong amount"}),
        content_type="application/json",
    )
    assert created.status_code == 201
    # Customers are not told which team has it; agents are.
    assert "group" not in created.json()
    agent = token_client(acme, acme.agent)
    assert agent.get(f"/api/v1/tickets/{created.json()['number']}/").json()["group"] == "Billing"


# -- which agent ------------------------------------------------------------------------------


def agents(desk, *names):
    return [
        make_member(desk.tenant, f"{n}@{desk.tenant.slug}.example", Role.AGENT, full_name=n)
        for n in names
    ]


def test_round_robin_hands_tickets_to_each_agent_in_turn(acme):
    ann, bob, cat = agents(acme, "ann", "bob", "cat")
    make_rule(
        acme, make_group(acme, "Support", ann, bob, cat, assignment=Group.Assignment.ROUND_ROBIN)
    )
    got = [group_of(acme, make_ticket(acme))[1] for _ in range(4)]
    assert got == [ann, bob, cat, ann]


def test_least_busy_goes_to_the_agent_with_the_fewest_open_tickets(acme):
    ann, bob = agents(acme, "ann", "bob")
    make_rule(acme, make_group(acme, "Support", ann, bob, assignment=Group.Assignment.LEAST_OPEN))
    busy = make_ticket(acme, subject="old one")
    with acme.scope():
        ticket_update(ticket=busy, actor=acme.admin, assignee=ann)
    assert group_of(acme, make_ticket(acme))[1] == bob  # Ann has one open, Bob none
    # One each now: the one who waited longest for a routed ticket (Ann, never) gets it.
    assert group_of(acme, make_ticket(acme))[1] == ann
    # A solved ticket no longer counts.
    with acme.scope():
        ticket_update(ticket=busy, actor=acme.admin, status="solved")
    assert group_of(acme, make_ticket(acme))[1] == bob


def test_away_agents_and_full_agents_are_skipped_and_nobody_free_leaves_it_in_the_group(acme):
    ann, bob = agents(acme, "ann", "bob")
    group = make_group(
        acme, "Support", ann, bob, assignment=Group.Assignment.ROUND_ROBIN, max_open_per_agent=1
    )
    make_rule(acme, group)
    with acme.scope():
        AgentPresence.objects.create(tenant=acme.tenant, agent=ann, availability=Availability.AWAY)
    assert group_of(acme, make_ticket(acme)) == ("Support", bob)
    # Bob is full now (one open ticket), Ann is away: the next waits in the group.
    assert group_of(acme, make_ticket(acme)) == ("Support", None)


def test_manual_groups_assign_nobody_and_a_given_assignee_is_kept(acme):
    (ann,) = agents(acme, "ann")
    make_rule(acme, make_group(acme, "Support", ann))
    assert group_of(acme, make_ticket(acme)) == ("Support", None)
    make_rule(
        acme, make_group(acme, "Robin", ann, assignment=Group.Assignment.ROUND_ROBIN), position=0
    )
    with acme.scope():
        RoutingRule.objects.filter(group__name="Support").delete()
    kept = make_ticket(acme, assignee=acme.agent, actor=acme.agent)
    assert group_of(acme, kept) == ("Robin", acme.agent)


def test_the_routed_agent_hears_the_ticket_is_theirs(acme):
    (ann,) = agents(acme, "ann")
    make_rule(acme, make_group(acme, "Support", ann, assignment=Group.Assignment.ROUND_ROBIN))
    mail.outbox.clear()
    ticket = make_ticket(acme, subject="Cannot log in")
    assert group_of(acme, ticket)[1] == ann
    assert [m.to for m in mail.outbox if m.to == [ann.email]]


def test_a_chats_ticket_gets_its_group_but_the_chat_chooses_its_agent(acme):
    (ann,) = agents(acme, "ann")
    make_rule(
        acme,
        make_group(acme, "Chat team", ann, assignment=Group.Assignment.ROUND_ROBIN),
        channels=[Channel.CHAT],
    )
    ticket = make_ticket(acme, channel=Channel.CHAT, notify=False)
    assert group_of(acme, ticket) == ("Chat team", None)


def test_a_change_to_the_rules_applies_to_the_next_ticket(acme):
    """The rules are cached for creations: every change of a rule, its conditions or its
    group reaches the next ticket."""
    assert group_of(acme, make_ticket(acme))[0] is None  # no rules yet (cached as such)
    billing = make_group(acme, "Billing")
    rule = make_rule(acme, billing, categories=[category(acme, "Billing")])
    assert group_of(acme, make_ticket(acme, category=category(acme, "Billing")))[0] == "Billing"
    with acme.scope():
        rule.categories.set([category(acme, "Account")])
    assert group_of(acme, make_ticket(acme, category=category(acme, "Billing")))[0] is None
    assert group_of(acme, make_ticket(acme, category=category(acme, "Account")))[0] == "Billing"
    with acme.scope():
        billing.is_active = False
        billing.save()
    assert group_of(acme, make_ticket(acme, category=category(acme, "Account")))[0] is None
