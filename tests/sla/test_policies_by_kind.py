"""SLA policies by kind of request (`seeds/000`: response and resolution times per
category and priority): a policy may name a category and a channel besides plan and
priority, and the most specific one wins (SLAPolicy, PolicyBook.policy)."""

import pytest

from sla.models import SLAPolicy
from sla.selectors import policy_book
from tests.sla.factories import at, file, policy
from tests.tickets.factories import category
from tickets.models import Channel, Priority, Ticket
from tickets.services import ticket_update

MONDAY_10 = at(2026, 11, 30, 10)


def make_policy(desk, *, minutes, plan=None, priority=None, category=None, channel=""):
    with desk.scope():
        return SLAPolicy.objects.create(
            tenant=desk.tenant,
            plan=plan,
            priority=priority,
            category=category,
            channel=channel,
            first_response_minutes=minutes,
            next_response_minutes=minutes,
            resolution_minutes=minutes * 10,
        )


@pytest.fixture
def kinds(acme):
    billing = category(acme, "Billing")
    return {
        "billing": make_policy(acme, minutes=240, category=billing),
        "pro+ billing": make_policy(acme, minutes=60, plan=acme.pro_plus, category=billing),
        "billing high": make_policy(acme, minutes=120, category=billing, priority=Priority.HIGH),
        "email": make_policy(acme, minutes=480, channel=Channel.EMAIL),
        "billing by email": make_policy(acme, minutes=360, category=billing, channel=Channel.EMAIL),
    }


def test_the_most_specific_policy_wins_with_categories_and_channels(acme, kinds):
    billing = category(acme, "Billing").pk
    technical = category(acme, "Technical issue").pk
    with acme.scope():
        book = policy_book(acme.tenant)
    cases = {
        # Plan and category beat category alone.
        (acme.pro_plus, Priority.MEDIUM, billing, Channel.WEB): kinds["pro+ billing"],
        # Category alone beats the plan's own policy: the kind of request sets its times.
        (acme.pro, Priority.MEDIUM, billing, Channel.WEB): kinds["billing"],
        # Two named (category and priority) beat one.
        (acme.pro, Priority.HIGH, billing, Channel.WEB): kinds["billing high"],
        # Category and channel, two named, beat category alone.
        (acme.pro, Priority.MEDIUM, billing, Channel.EMAIL): kinds["billing by email"],
        # The plan's policy beats a channel's (category, plan, priority, channel in that order).
        (acme.pro, Priority.MEDIUM, technical, Channel.EMAIL): policy(acme, acme.pro),
        # No policy for the kind: the plan's, as before categories.
        (acme.pro, Priority.MEDIUM, technical, Channel.WEB): policy(acme, acme.pro),
    }
    chosen = {case: book.policy(case[0].pk, case[1], case[2], case[3]) for case in cases}
    assert chosen == cases


def test_a_channels_policy_applies_where_nothing_more_specific_does(acme, kinds):
    with acme.scope():
        SLAPolicy.objects.filter(plan=acme.free, category=None, channel="").delete()
        book = policy_book(acme.tenant)
        technical = category(acme, "Technical issue").pk
        assert book.policy(acme.free.pk, Priority.LOW, technical, Channel.EMAIL) == kinds["email"]


def test_a_ticket_runs_on_its_kinds_targets_and_follows_a_change_of_category(acme, kinds):
    ticket = file(acme, MONDAY_10, category=category(acme, "Billing"))
    assert ticket.sla_policy == kinds["billing"]
    assert ticket.first_response_due_at == at(2026, 11, 30, 14)  # 4 business hours
    with acme.scope():
        ticket_update(ticket=ticket, actor=acme.agent, category=category(acme, "Technical issue"))
        ticket = Ticket.objects.get(pk=ticket.pk)
    # Pro's own target (24 business hours) now, the 4 hours since the start kept.
    assert ticket.sla_policy == policy(acme, acme.pro)
    assert ticket.first_response_due_at > at(2026, 12, 1, 10)


def test_the_service_levels_page_shows_the_targets_of_each_kind_of_request(acme, kinds):
    page = acme.client().get("/service-levels/").content.decode()
    assert "Billing: 4 h" in page  # every plan
    assert "Billing · High: 2 h" in page
    assert "Billing · Email: 6 h" in page
    assert "Billing: 1 h" in page  # Pro+'s own


def test_another_desks_category_policies_never_apply_here(acme, globex):
    make_policy(globex, minutes=5, category=category(globex, "Billing"))
    ticket = file(acme, MONDAY_10, category=category(acme, "Billing"))
    assert ticket.sla_policy == policy(acme, acme.pro)
