"""Upsell and referral signals (success/signals.py), on hand-built fixtures whose expected
figures are worked out in the comments."""

import itertools
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.models import Membership, Role
from success.models import Band
from success.signals import referral_signals, upsell_signals
from tests.helpdesk.factories import make_member
from tests.plans.factories import make_organization
from tests.success.factories import at, components, health_row, nps_answer, ticket_at
from tickets.models import Priority, Ticket

_people = itertools.count(1)


def _org(desk, name, plan):
    return make_organization(desk.tenant, name=name, plan=plan)


def _members(desk, org, count, *, joined_days_ago=0, active=True):
    users = []
    for _n in range(count):
        user = make_member(
            desk.tenant, f"person{next(_people)}@example.com", Role.CUSTOMER, organization=org
        )
        with desk.scope():
            Membership.objects.filter(user=user).update(
                created_at=timezone.now() - timedelta(days=joined_days_ago), is_active=active
            )
        users.append(user)
    return users


def _tickets(desk, org, days_ago, priority):
    ticket = ticket_at(desk, org, at(timezone.localdate() - timedelta(days=days_ago)))
    with desk.scope():
        Ticket.objects.filter(pk=ticket.pk).update(priority=priority)
    return ticket


def _by_name(signals):
    return {signal.organization.name: signal for signal in signals}


def test_upsell_signals(acme, globex):
    today = timezone.localdate()

    # Three high or urgent tickets within the 30 days (1, 10 and 29 days ago); the one
    # 31 days ago and the medium ones do not count.
    urgent = _org(acme, "Urgent Co", acme.pro)
    for days_ago, priority in ((1, Priority.URGENT), (10, Priority.HIGH), (29, Priority.HIGH)):
        _tickets(acme, urgent, days_ago, priority)
    _tickets(acme, urgent, 31, Priority.URGENT)
    _tickets(acme, urgent, 2, Priority.MEDIUM)
    # Two only: not enough.
    almost = _org(acme, "Almost Co", acme.pro)
    _tickets(acme, almost, 3, Priority.URGENT)
    _tickets(acme, almost, 4, Priority.HIGH)

    # Seats 2 -> 5: +3 and +150%.
    growing = _org(acme, "Growing Co", acme.free)
    _members(acme, growing, 2, joined_days_ago=40)
    _members(acme, growing, 3, joined_days_ago=5)
    # Seats 16 -> 19: +3 but only +18.75%.
    big = _org(acme, "Big Co", acme.pro)
    _members(acme, big, 16, joined_days_ago=90)
    _members(acme, big, 3, joined_days_ago=2)
    # From no seats, 0 -> 3 counts: Carol (joined today) and two more; an inactive
    # member does not count.
    _members(acme, acme.org, 2, joined_days_ago=1)
    _members(acme, acme.org, 1, joined_days_ago=1, active=False)
    # 0 -> 2: too few.
    _members(acme, _org(acme, "Small Co", acme.pro), 2, joined_days_ago=1)
    # Heavy use on the latest score (95 and 90, both >= 90).
    heavy = _org(acme, "Heavy Co", acme.pro)
    health_row(acme, heavy, today - timedelta(days=1), 70, parts=components(usage_frequency=60))
    health_row(acme, heavy, today, 91, parts=components(usage_frequency=95.0, feature_depth=90.0))
    # Heavy yesterday, not on the latest score.
    was_heavy = _org(acme, "Was Heavy Co", acme.pro)
    health_row(
        acme,
        was_heavy,
        today - timedelta(days=1),
        95,
        parts=components(usage_frequency=100, feature_depth=100),
    )
    health_row(
        acme, was_heavy, today, 80, parts=components(usage_frequency=89.9, feature_depth=100)
    )
    # Everything, but already on the highest plan.
    top = _org(acme, "Top Co", acme.pro_plus)
    for days_ago in (1, 2, 3):
        _tickets(acme, top, days_ago, Priority.URGENT)
    _members(acme, top, 5, joined_days_ago=1)
    health_row(acme, top, today, 99, parts=components(usage_frequency=100, feature_depth=100))
    # Another desk's organization with every signal.
    other = _org(globex, "Globex Heavy", globex.pro)
    health_row(globex, other, today, 99, parts=components(usage_frequency=100, feature_depth=100))

    with acme.scope():
        signals = _by_name(upsell_signals(acme.tenant, today))

    assert set(signals) == {"Urgent Co", "Growing Co", "Heavy Co", acme.org.name}
    assert signals["Urgent Co"].urgent_tickets == 3
    assert signals["Urgent Co"].reasons == ["urgent_tickets"]
    growth = signals["Growing Co"].seats
    assert (growth.before, growth.now, growth.added, growth.percent) == (2, 5, 3, 150.0)
    assert signals["Growing Co"].reasons == ["seat_growth"]
    assert (signals[acme.org.name].seats.before, signals[acme.org.name].seats.now) == (0, 3)
    assert signals[acme.org.name].seats.percent is None
    assert (signals["Heavy Co"].usage_score, signals["Heavy Co"].depth_score) == (95.0, 90.0)
    assert signals["Heavy Co"].reasons == ["heavy_use"]


def test_upsell_signals_on_the_workspace(acme):
    today = timezone.localdate()
    urgent = _org(acme, "Urgent Co", acme.pro)
    for days_ago in (1, 2, 3, 4):
        _tickets(acme, urgent, days_ago, Priority.HIGH)
    _members(acme, urgent, 1, joined_days_ago=60)
    _members(acme, urgent, 4, joined_days_ago=1)
    health_row(acme, urgent, today, 95, parts=components(usage_frequency=92, feature_depth=97))
    page = acme.client(acme.agent).get("/agent/success/").content.decode()
    assert "4 high or urgent tickets in 30 days" in page
    assert "Seats 1 → 5 in 30 days (+4, +400%)" in page
    assert "Heavy use: usage frequency 92, feature depth 97 (of 100)" in page


def test_referral_signals(acme, globex):
    today = timezone.localdate()
    ann, bob, cat = (
        _members(acme, acme.org, 1)[0],
        _members(acme, acme.org, 1)[0],
        _members(acme, acme.org, 1)[0],
    )
    health_row(acme, acme.org, today - timedelta(days=1), 60, Band.AT_RISK)
    health_row(acme, acme.org, today, 82, Band.HEALTHY)
    nps_answer(acme, acme.org, 10, at(today - timedelta(days=50)), recipient=ann)
    latest = nps_answer(acme, acme.org, 9, at(today - timedelta(days=10)), recipient=ann)
    with acme.scope():
        latest.comment = "We would <b>recommend</b> you"
        latest.save()
    nps_answer(acme, acme.org, 10, at(today - timedelta(days=100)), recipient=bob)
    nps_answer(acme, acme.org, 8, at(today - timedelta(days=5)), recipient=cat)  # passive

    fading = _org(acme, "Fading Co", acme.pro)  # healthy before, at risk now
    health_row(acme, fading, today - timedelta(days=1), 90, Band.HEALTHY)
    health_row(acme, fading, today, 70, Band.AT_RISK)
    nps_answer(acme, fading, 10, at(today - timedelta(days=3)))
    old_fan = _org(acme, "Old Fan Co", acme.pro)  # a promoter 181 days ago only
    health_row(acme, old_fan, today, 90, Band.HEALTHY)
    nps_answer(acme, old_fan, 10, at(today - timedelta(days=181)))
    nps_answer(acme, _org(acme, "Unscored Co", acme.pro), 10, at(today - timedelta(days=3)))
    health_row(globex, globex.org, today, 90, Band.HEALTHY)
    nps_answer(globex, globex.org, 10, at(today - timedelta(days=3)))

    with acme.scope():
        (signal,) = referral_signals(acme.tenant, today)

    assert signal.organization == acme.org and signal.score == 82
    assert [(a.recipient, a.score) for a in signal.promoters] == [(ann, 9), (bob, 10)]

    page = acme.client(acme.agent).get("/agent/success/").content.decode()
    assert f'<a href="mailto:{ann.email}">{ann.email}</a>' in page
    assert "NPS 9" in page
    assert "We would &lt;b&gt;recommend&lt;/b&gt; you" in page


def _grow(desk, start, count):
    today = timezone.localdate()
    for n in range(start, start + count):
        org = _org(desk, f"Signal Co {n}", desk.pro)
        for days_ago in (1, 2, 3):
            _tickets(desk, org, days_ago, Priority.URGENT)
        _members(desk, org, 3, joined_days_ago=1)
        health_row(desk, org, today, 95, parts=components(usage_frequency=95, feature_depth=95))
        nps_answer(desk, org, 10, at(today - timedelta(days=2)))


def test_signals_query_count_does_not_grow(acme):
    today = timezone.localdate()

    def count():
        with acme.scope(), CaptureQueriesContext(connection) as queries:
            upsell, referral = (
                upsell_signals(acme.tenant, today),
                referral_signals(acme.tenant, today),
            )
        return len(queries), len(upsell), len(referral)

    _grow(acme, 0, 1)
    small, _upsell, _referral = count()
    _grow(acme, 1, 6)
    large, upsell, referral = count()
    assert large == small <= 7
    assert (upsell, referral) == (7, 7)
