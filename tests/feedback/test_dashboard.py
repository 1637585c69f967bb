"""The insights dashboards: every figure against numbers counted by hand.

The fixture `history` builds one week of Acme's support, 9-15 November 2026
(Monday to Sunday), the week before (the previous period, 2-8 November) and a
little before and after, through the ticket services at frozen times. The SLA
policies are removed and the default calendar is 24x7, so business time equals
wall time here (business hours proper are tested at the end) and the services
record no SLA outcomes of their own: those, the CSAT ratings, NPS answers and
knowledge-base activity are written directly. Globex gets data on the same days
that must never show up at Acme.

Tickets (UTC; first response and resolution in hours):

    #   created      plan category  priority channel assignee replied      solved       FR  Res
    T1  11-03 10:00  Pro  Billing   high     web     agent    11-03 12:00  11-04 10:00  2   24
    T2  11-05 09:00  Free Technical low      email   admin    11-09 09:00  11-10 09:00  96  120
    T3  11-09 10:00  Pro  Billing   high     web     agent    11-09 11:00  11-09 14:00  1   4
    T4  11-09 15:00  Pro+ Technical medium   api     agent    11-09 17:00  11-11 15:00  2   48
    T5  11-10 08:00  Free Account   medium   email   admin    11-10 11:00  11-10 16:00  3   8
    T6  11-11 09:00  Pro  Technical low      web     agent    11-11 13:00  -            4
    T7  11-12 10:00  Pro+ Billing   high     web     admin    11-12 10:30  11-13 10:00  0.5 24
    T8  11-14 12:00  Free Technical medium   web     -        -            -
    T9  11-15 20:00  Pro  Account   medium   email   agent    11-16 10:00  11-17 20:00  14  48
    T10 11-18 09:00  Pro  Billing   low      web     -        -            -
    T11 10-20 10:00  Free Technical low      web     agent    10-20 12:00  -            2
    T12 10-27 10:00  Pro  Billing   medium   web     agent    10-27 11:00  11-06 10:00  1   240

The dashboard is asked for on 20 November, 12:00.
"""

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback import dashboard, rollups
from feedback.dashboard import DAY, WEEK, Filters, Period, Scope
from feedback.models import CsatSurvey, NpsSurvey, SurveyStatus
from knowledge.models import ArticleViewDay, ArticleVote, Deflection, SearchLog
from knowledge.services import article_view_record
from plans.models import Organization
from sla.models import BusinessCalendar, SLAOutcome, SLAPolicy
from tests.access import assert_asked_to_sign_in
from tests.feedback.helpers import refresh_dashboards
from tests.helpdesk.factories import make_member
from tests.knowledge.factories import make_article
from tests.sla.factories import at, change, file, make_customer_on, reply, travel
from tests.tickets.factories import category
from tickets.models import Channel, Priority, Status, Ticket

WEEK_OF_9TH = {"start": "2026-11-09", "end": "2026-11-15"}
NOW = at(2026, 11, 20, 12)
URL = "/agent/reports/"


def approx(value):
    return pytest.approx(value, abs=1e-6)


def estimate(value):
    """A percentile read from the rollups' histograms: within their stated error."""
    return pytest.approx(value, rel=rollups.RELATIVE_ERROR)


def shown(text: str, hours: float) -> bool:
    """A percentile as the page shows it ("2.4 h", "77.6"): the estimate, rounded to
    a tenth."""
    return abs(float(text.split()[0]) - hours) <= hours * rollups.RELATIVE_ERROR + 0.05


# -- the fixture ------------------------------------------------------------------------------


def around_the_clock(desk):
    """No policies (so no outcomes of their own) and a 24x7 default calendar."""
    with desk.scope():
        SLAPolicy.objects.all().delete()
        calendar = BusinessCalendar.objects.get(is_default=True)
        calendar.always_open = True
        calendar.save()


def ticket(desk, created, requester, *, cat, priority, channel=Channel.WEB, assignee=None,
           replied=None, solved=None):  # fmt: skip
    t = file(
        desk,
        created,
        requester,
        category=category(desk, cat),
        priority=priority,
        channel=channel,
    )
    if assignee is not None:
        t = change(desk, t, created, assignee=assignee)
    if replied is not None:
        t = reply(desk, t, desk.agent, replied)
    if solved is not None:
        t = change(desk, t, solved, status=Status.SOLVED)
    return t


def outcome(desk, t, metric, result, due):
    with desk.scope():
        SLAOutcome.objects.create(
            tenant=desk.tenant, ticket=t, metric=metric, result=result, due_at=due
        )


def rating(desk, t, value, agent, rated_at, comment=""):
    """A rated CSAT survey of the ticket's solve (the survey a solve schedules, if any)."""
    with desk.scope():
        CsatSurvey.objects.update_or_create(
            tenant=desk.tenant,
            ticket=t,
            solved_at=t.solved_at,
            defaults={
                "recipient": t.requester,
                "agent": agent,
                "status": SurveyStatus.SENT,
                "send_at": t.solved_at,
                "sent_at": t.solved_at,
                "rating": value,
                "comment": comment,
                "rated_at": rated_at,
            },
        )


def nps_answer(desk, user, organization, plan, score, responded_at):
    with desk.scope():
        NpsSurvey.objects.create(
            tenant=desk.tenant,
            recipient=user,
            organization=organization,
            plan=plan,
            sent_at=responded_at - timedelta(hours=1),
            score=score,
            responded_at=responded_at,
        )


def views(desk, article, day, count):
    with desk.scope():
        ArticleViewDay.objects.create(tenant=desk.tenant, article=article, day=day, views=count)


def vote(desk, article, user, helpful, when):
    with desk.scope():
        ArticleVote.objects.create(
            tenant=desk.tenant, article=article, user=user, helpful=helpful, updated_at=when
        )


def opened(desk, article, user, when, filed=None):
    with desk.scope():
        Deflection.objects.create(
            tenant=desk.tenant, article=article, user=user, opened_at=when, ticket=filed
        )


def searched(desk, query, when):
    with desk.scope():
        SearchLog.objects.create(tenant=desk.tenant, query=query, normalized=query, created_at=when)


@dataclass
class History:
    t: dict[int, Ticket]
    ivy: object  # the Pro+ customer
    pro_plus_org: object
    articles: tuple


@pytest.fixture
def history(acme, globex) -> History:
    around_the_clock(acme)
    around_the_clock(globex)
    ivy = make_customer_on(acme, acme.pro_plus, slug="initech")
    with acme.scope():
        pro_plus_org = Organization.objects.get(plan=acme.pro_plus)
    carol, oscar, agent, admin = acme.customer, acme.other_customer, acme.agent, acme.admin
    H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
    t = {
        1: ticket(acme, at(2026, 11, 3, 10), carol, cat="Billing", priority=H, assignee=agent,
                  replied=at(2026, 11, 3, 12), solved=at(2026, 11, 4, 10)),
        2: ticket(acme, at(2026, 11, 5, 9), oscar, cat="Technical issue", priority=L,
                  channel=Channel.EMAIL, assignee=admin,
                  replied=at(2026, 11, 9, 9), solved=at(2026, 11, 10, 9)),
        3: ticket(acme, at(2026, 11, 9, 10), carol, cat="Billing", priority=H, assignee=agent,
                  replied=at(2026, 11, 9, 11), solved=at(2026, 11, 9, 14)),
        4: ticket(acme, at(2026, 11, 9, 15), ivy, cat="Technical issue", priority=M,
                  channel=Channel.API, assignee=agent,
                  replied=at(2026, 11, 9, 17), solved=at(2026, 11, 11, 15)),
        5: ticket(acme, at(2026, 11, 10, 8), oscar, cat="Account", priority=M,
                  channel=Channel.EMAIL, assignee=admin,
                  replied=at(2026, 11, 10, 11), solved=at(2026, 11, 10, 16)),
        6: ticket(acme, at(2026, 11, 11, 9), carol, cat="Technical issue", priority=L,
                  assignee=agent, replied=at(2026, 11, 11, 13)),
        7: ticket(acme, at(2026, 11, 12, 10), ivy, cat="Billing", priority=H, assignee=admin,
                  replied=at(2026, 11, 12, 10, 30), solved=at(2026, 11, 13, 10)),
        8: ticket(acme, at(2026, 11, 14, 12), oscar, cat="Technical issue", priority=M),
        9: ticket(acme, at(2026, 11, 15, 20), carol, cat="Account", priority=M,
                  channel=Channel.EMAIL, assignee=agent,
                  replied=at(2026, 11, 16, 10), solved=at(2026, 11, 17, 20)),
        10: ticket(acme, at(2026, 11, 18, 9), carol, cat="Billing", priority=L),
        11: ticket(acme, at(2026, 10, 20, 10), oscar, cat="Technical issue", priority=L,
                   assignee=agent, replied=at(2026, 10, 20, 12)),
        12: ticket(acme, at(2026, 10, 27, 10), carol, cat="Billing", priority=M, assignee=agent,
                   replied=at(2026, 10, 27, 11), solved=at(2026, 11, 6, 10)),
    }  # fmt: skip

    # SLA clocks that ended, by due time.
    fr, nr, res = "first_response", "next_response", "resolution"
    outcome(acme, t[3], fr, "met", at(2026, 11, 9, 12))
    outcome(acme, t[3], res, "met", at(2026, 11, 10, 10))
    outcome(acme, t[4], fr, "met", at(2026, 11, 9, 17))
    outcome(acme, t[5], fr, "breached", at(2026, 11, 10, 10))
    outcome(acme, t[6], fr, "met", at(2026, 11, 11, 15))
    outcome(acme, t[7], res, "breached", at(2026, 11, 12, 18))
    outcome(acme, t[2], nr, "met", at(2026, 11, 10, 9))
    outcome(acme, t[1], fr, "met", at(2026, 11, 3, 12))  # previous week
    outcome(acme, t[1], res, "breached", at(2026, 11, 4, 9))
    outcome(acme, t[12], res, "breached", at(2026, 11, 5, 10))
    outcome(acme, t[9], fr, "breached", at(2026, 11, 16, 10))  # after the week

    # CSAT: the agent is who solved the ticket.
    rating(acme, t[3], 5, agent, at(2026, 11, 9, 16), "Quick and clear")
    rating(acme, t[5], 2, admin, at(2026, 11, 10, 18), "Took too long")
    rating(acme, t[4], 4, agent, at(2026, 11, 11, 18))
    rating(acme, t[2], 3, admin, at(2026, 11, 11, 20))
    rating(acme, t[7], 5, admin, at(2026, 11, 13, 12), "Great")
    rating(acme, t[1], 4, agent, at(2026, 11, 4, 12))  # previous week
    rating(acme, t[12], 1, agent, at(2026, 11, 6, 12), "Old comment")
    with acme.scope():  # sent, never answered: counts nowhere
        CsatSurvey.objects.update_or_create(
            tenant=acme.tenant,
            ticket=t[9],
            solved_at=t[9].solved_at,
            defaults={"recipient": carol, "send_at": NOW, "status": SurveyStatus.SENT},
        )

    # NPS, with the plan when asked.
    org, other = acme.org, acme.other_org
    nps_answer(acme, carol, org, acme.pro, 10, at(2026, 11, 9, 10))
    nps_answer(acme, oscar, other, acme.free, 6, at(2026, 11, 10, 10))
    nps_answer(acme, ivy, pro_plus_org, acme.pro_plus, 9, at(2026, 11, 10, 12))
    nps_answer(acme, carol, org, acme.pro, 7, at(2026, 11, 12, 10))
    nps_answer(acme, oscar, other, acme.free, 8, at(2026, 11, 14, 10))
    nps_answer(acme, carol, org, acme.pro, 9, at(2026, 11, 3, 10))  # previous week
    nps_answer(acme, oscar, other, acme.free, 2, at(2026, 11, 5, 10))
    with acme.scope():  # asked, never answered
        NpsSurvey.objects.create(
            tenant=acme.tenant, recipient=ivy, organization=pro_plus_org, plan=acme.pro_plus
        )

    # Knowledge base.
    a1 = make_article(acme, "Reset your password")
    a2 = make_article(acme, "Update billing details")
    views(acme, a1, date(2026, 11, 9), 5)
    views(acme, a1, date(2026, 11, 10), 3)
    views(acme, a2, date(2026, 11, 10), 2)
    views(acme, a2, date(2026, 11, 15), 4)
    views(acme, a1, date(2026, 11, 3), 6)  # previous week
    views(acme, a1, date(2026, 11, 16), 9)  # after
    vote(acme, a1, carol, True, at(2026, 11, 9, 10))
    vote(acme, a1, oscar, False, at(2026, 11, 10, 10))
    vote(acme, a2, ivy, True, at(2026, 11, 12, 10))
    vote(acme, a2, carol, True, at(2026, 11, 3, 10))  # previous week
    opened(acme, a1, carol, at(2026, 11, 9, 10))
    opened(acme, a1, oscar, at(2026, 11, 9, 11), filed=t[5])
    opened(acme, a2, carol, at(2026, 11, 11, 9))
    opened(acme, a2, ivy, at(2026, 11, 14, 9))
    opened(acme, a1, carol, at(2026, 11, 4, 9), filed=t[1])  # previous week
    opened(acme, a1, oscar, at(2026, 11, 5, 9))
    for day in (9, 10, 12):
        searched(acme, "invoice pdf", at(2026, 11, day, 9))
    searched(acme, "sso login", at(2026, 11, 13, 9))
    searched(acme, "old thing", at(2026, 11, 3, 9))
    searched(acme, "old thing", at(2026, 11, 3, 10))
    searched(acme, "later thing", at(2026, 11, 17, 9))

    # Globex, the same days: none of it may count at Acme.
    g = ticket(globex, at(2026, 11, 10, 9), globex.customer, cat="Billing", priority=H,
               assignee=globex.agent, replied=at(2026, 11, 10, 10),
               solved=at(2026, 11, 10, 11))  # fmt: skip
    outcome(globex, g, fr, "breached", at(2026, 11, 10, 10))
    rating(globex, g, 1, globex.agent, at(2026, 11, 10, 12), "Globex secret comment")
    nps_answer(globex, globex.customer, globex.org, globex.pro, 0, at(2026, 11, 10, 12))
    ga = make_article(globex, "Globex article")
    views(globex, ga, date(2026, 11, 10), 100)
    vote(globex, ga, globex.customer, False, at(2026, 11, 10, 10))
    opened(globex, ga, globex.customer, at(2026, 11, 10, 10))
    searched(globex, "globex secret search", at(2026, 11, 10, 9))
    refresh_dashboards()
    return History(t=t, ivy=ivy, pro_plus_org=pro_plus_org, articles=(a1, a2))


def scope(desk, filters=None, bucket=DAY, start=date(2026, 11, 9), end=date(2026, 11, 15)):
    return Scope(Period(start, end), bucket, filters or Filters(), tz=UTC, now=NOW)


def figures(desk, function, **kwargs):
    with desk.scope():
        return function(scope(desk, **kwargs))


def get(desk, user=None, **params):
    with travel(NOW):
        return desk.client(user or desk.admin).get(URL, {**WEEK_OF_9TH, **params})


# -- volume ---------------------------------------------------------------------------------


def test_created_solved_and_backlog_per_day(acme, history):
    v = figures(acme, dashboard.volume)
    assert v.buckets == [date(2026, 11, d) for d in range(9, 16)]
    # Created: 9th T3 T4; 10th T5; 11th T6; 12th T7; 14th T8; 15th T9.
    assert v.created == [2, 1, 1, 1, 0, 1, 1]
    # Solved: 9th T3; 10th T2 T5; 11th T4; 13th T7.
    assert v.solved == [1, 2, 1, 0, 1, 0, 0]
    # At the start (9th 00:00) T2 and T11 were open: 2; then 2 + running created - solved.
    assert v.backlog == [3, 2, 2, 3, 2, 3, 4]
    # Previous week: created T1 T2, solved T1 T12.
    assert (v.created_total.current, v.created_total.previous) == (7, 2)
    assert (v.solved_total.current, v.solved_total.previous) == (5, 2)
    # Open at the end of the week: T6 T8 T9 T11; at the end of the previous week: T2 T11.
    assert (v.backlog_end.current, v.backlog_end.previous) == (4, 2)
    assert v.backlog_end.change == 2
    assert v.created_total.change_percent == 250.0


def test_tickets_created_by_channel_this_week_and_the_previous(acme, history):
    v = figures(acme, dashboard.volume)
    totals = {c: (x.current, x.previous) for c, x in v.channel_totals.items()}
    assert totals == {"api": (1, 0), "email": (2, 1), "web": (4, 1)}
    assert v.by_channel["web"] == [1, 0, 1, 1, 0, 1, 0]  # T3; T6; T7; T8


def test_weekly_buckets_start_on_monday_and_count_only_the_period(acme, history):
    v = figures(
        acme, dashboard.volume, bucket=WEEK, start=date(2026, 11, 4), end=date(2026, 11, 15)
    )
    # Weeks of 2 Nov (only 4-8 Nov counted) and of 9 Nov.
    assert v.buckets == [date(2026, 11, 2), date(2026, 11, 9)]
    assert v.created == [1, 7]  # T2 (T1 was created on the 3rd, before the range)
    assert v.solved == [2, 5]  # T1 (4th), T12 (6th)
    # The previous period is 23 Oct - 3 Nov: T12 and T1 created, nothing solved.
    assert (v.created_total.previous, v.solved_total.previous) == (2, 0)
    # Open at the start (4th 00:00): T1, T11, T12. Then 3 + 1 - 2, and 2 + 7 - 5.
    assert v.backlog == [2, 4]


def test_days_are_the_desks_days(acme, history):
    acme.tenant.time_zone = "Asia/Shanghai"
    acme.tenant.save()
    v = get(acme).context["panels"]["volume"].data
    # Shanghai is UTC+8: its week of the 9th runs from 8 Nov 16:00 to 15 Nov 16:00
    # UTC. T9 (15th 20:00 UTC, the 16th there) falls after it; T5, solved on the
    # 10th at 16:00 UTC, was solved on the 11th there.
    assert v.created == [2, 1, 1, 1, 0, 1, 0]
    assert v.solved == [1, 1, 2, 0, 1, 0, 0]


@pytest.mark.parametrize("bucket", [DAY, WEEK])
def test_rows_fall_in_the_desks_days_across_a_clock_change(acme, bucket):
    """The buckets' edges are the desk's midnights, computed in Python (Scope.slot):
    an instant lands where its local date puts it, also on the night Berlin's clocks
    go back (25 October 2026, 03:00 CEST -> 02:00 CET) and at every edge."""
    from zoneinfo import ZoneInfo

    from django.db.models import DateTimeField, Value

    from helpdesk.models import Tenant

    berlin = ZoneInfo("Europe/Berlin")
    s = Scope(period=Period(date(2026, 10, 21), date(2026, 11, 3)), bucket=bucket, tz=berlin)
    slots = s.slots()
    night = datetime(2026, 10, 24, 20, tzinfo=UTC)
    midnights = [
        datetime(2026, 10, d, tzinfo=berlin) if d > 6 else datetime(2026, 11, d, tzinfo=berlin)
        for d in (7, 21, 25, 26, 1, 2, 4)
    ]
    instants = [night + timedelta(minutes=30 * i) for i in range(16)] + [
        m + delta for m in midnights for delta in (timedelta(seconds=-1), timedelta(0))
    ]
    for instant in instants:
        slot = (
            Tenant.objects.filter(pk=acme.tenant.pk)
            .annotate(at=Value(instant, DateTimeField()))
            .annotate(slot=s.slot("at"))
            .values_list("slot", flat=True)
            .get()
        )
        day = instant.astimezone(berlin).date()
        if day < s.period.previous.start:
            expected = None
        elif day < s.period.start:
            expected = "previous"
        elif day > s.period.end:
            expected = "later"
        else:
            expected = day if bucket == DAY else day - timedelta(days=day.weekday())
        assert slots.get(slot) == expected, instant


# -- speed ----------------------------------------------------------------------------------


def _durations(d):
    return (d.count, d.median, d.p90)


def test_median_and_p90_first_response_and_resolution(acme, history):
    s = figures(acme, dashboard.speed)
    # First responses this week: T2 96, T3 1, T4 2, T5 3, T6 4, T7 0.5 hours
    # (T9's came on the 16th). Sorted 0.5 1 2 3 4 96: median (2 + 3) / 2 = 2.5;
    # p90 at rank 0.9 x 5 = 4.5, between 4 and 96: 4 + 0.5 x 92 = 50.
    assert _durations(s.overall.first_response) == (6, estimate(2.5), estimate(50))
    # Solved this week: T3 4, T5 8, T7 24, T4 48, T2 120 -> median 24;
    # p90 at rank 3.6: 48 + 0.6 x 72 = 91.2.
    assert _durations(s.overall.resolution) == (5, estimate(24), estimate(91.2))
    # Previous week: T1 answered in 2 h; T1 (24) and T12 (240) solved:
    # median 132, p90 24 + 0.9 x 216 = 218.4.
    assert _durations(s.previous.first_response) == (1, estimate(2), estimate(2))
    assert _durations(s.previous.resolution) == (2, estimate(132), estimate(218.4))


def test_speed_by_category_priority_and_plan(acme, history):
    s = figures(acme, dashboard.speed)

    def rows(grouping):
        return {
            r.label: (_durations(r.first_response), _durations(r.resolution))
            for r in s.by[grouping]
        }

    # Categories in their order (Technical issue, Billing, Account).
    assert [r.label for r in s.by["category"]] == ["Technical issue", "Billing", "Account"]
    assert rows("category") == {
        # T2 96 T4 2 T6 4 -> median 4, p90 4 + 0.8 x 92 = 77.6; solved T4 48 T2 120.
        "Technical issue": ((3, estimate(4), estimate(77.6)), (2, estimate(84), estimate(112.8))),
        # T3 1 T7 0.5; solved T3 4 T7 24.
        "Billing": ((2, estimate(0.75), estimate(0.95)), (2, estimate(14), estimate(22))),
        "Account": ((1, estimate(3), estimate(3)), (1, estimate(8), estimate(8))),
    }
    assert rows("priority") == {
        "High": ((2, estimate(0.75), estimate(0.95)), (2, estimate(14), estimate(22))),  # T3 T7
        "Medium": ((2, estimate(2.5), estimate(2.9)), (2, estimate(28), estimate(44))),  # T4 T5
        "Low": ((2, estimate(50), estimate(86.8)), (1, estimate(120), estimate(120))),  # T2 T6
    }
    assert [r.label for r in s.by["plan"]] == ["Free", "Pro", "Pro+"]
    assert rows("plan") == {
        "Free": ((2, estimate(49.5), estimate(86.7)), (2, estimate(64), estimate(108.8))),  # T2 T5
        "Pro": ((2, estimate(2.5), estimate(3.7)), (1, estimate(4), estimate(4))),  # T3 T6
        "Pro+": ((2, estimate(1.25), estimate(1.85)), (2, estimate(36), estimate(45.6))),  # T4 T7
    }


def test_durations_are_business_time_set_by_the_services(acme):
    """Office hours Mon-Fri 9-18: opened Friday 17:00, answered Monday 10:00 is 2
    business hours; solved Tuesday 12:00 is 1 + 9 + 3 = 13."""
    t = file(acme, at(2026, 11, 13, 17), category=category(acme, "Billing"))
    t = reply(acme, t, acme.customer, at(2026, 11, 14, 10))  # the customer's reply: no
    assert t.first_response_seconds is None
    t = reply(acme, t, acme.agent, at(2026, 11, 16, 10))
    assert t.first_response_seconds == 2 * 3600
    t = reply(acme, t, acme.agent, at(2026, 11, 16, 15))  # a second reply changes nothing
    assert t.first_response_seconds == 2 * 3600
    assert t.resolution_seconds is None
    with travel(at(2026, 11, 17, 12)), acme.scope():
        from tickets.services import ticket_solve

        ticket_solve(ticket=t, actor=acme.agent)
        t.refresh_from_db()
    assert t.resolution_seconds == 13 * 3600


# -- SLA ------------------------------------------------------------------------------------


def test_sla_attainment_per_day_and_metric(acme, history):
    s = figures(acme, dashboard.sla)

    def cells(metric):
        return [(c.met, c.breached) for c in s.trend[metric]]

    assert cells("first_response") == [(2, 0), (0, 1), (1, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
    assert cells("resolution") == [(0, 0), (1, 0), (0, 0), (0, 1), (0, 0), (0, 0), (0, 0)]
    assert cells("next_response") == [(0, 0), (1, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
    assert [c.percent for c in s.trend["first_response"]][:3] == [100.0, 0.0, 100.0]
    # Met 5 of 7 this week (T9's breach is due on the 16th); 1 of 3 the week before.
    assert (s.attainment.current, s.attainment.previous) == (71.4, 33.3)
    assert s.attainment.change == approx(38.1)
    assert (s.breached.current, s.breached.previous) == (2, 2)
    first, _before = s.per_metric["first_response"]
    assert (first.met, first.breached, first.percent) == (3, 1, 75.0)
    # Latest first: T7's resolution (12th), T5's first response (10th).
    assert [(b.ticket.number, b.metric) for b in s.breaches] == [
        (history.t[7].number, "resolution"),
        (history.t[5].number, "first_response"),
    ]


# -- CSAT -----------------------------------------------------------------------------------


def test_csat_percent_satisfied_and_average_per_day(acme, history):
    c = figures(acme, dashboard.csat)
    # Ratings this week: 5 (9th), 2 (10th), 4 and 3 (11th), 5 (13th).
    assert [(b.rated, b.satisfied) for b in c.trend] == [
        (1, 1), (1, 0), (2, 1), (0, 0), (1, 1), (0, 0), (0, 0)
    ]  # fmt: skip
    assert [b.percent_satisfied for b in c.trend] == [100.0, 0.0, 50.0, None, 100.0, None, None]
    assert [b.average for b in c.trend] == [5, 2, 3.5, None, 5, None, None]
    # 3 of 5 satisfied, average 19 / 5; the week before 1 of 2 (4 and 1), average 2.5.
    assert (c.percent_satisfied.current, c.percent_satisfied.previous) == (60.0, 50.0)
    assert (c.average.current, c.average.previous) == (3.8, 2.5)
    assert c.average.change == approx(1.3)


def test_csat_by_agent_and_recent_comments(acme, history):
    c = figures(acme, dashboard.csat)
    by_agent = {
        a.name: (a.current.rated, a.current.percent_satisfied, a.current.average,
                 a.previous.rated, a.previous.percent_satisfied)
        for a in c.by_agent
    }  # fmt: skip
    assert by_agent == {
        "Acme Analytics Admin": (3, 33.3, 3.33, 0, None),  # 2, 3, 5
        "Acme Analytics Agent": (2, 100.0, 4.5, 2, 50.0),  # 5, 4; before 4, 1
    }
    assert [(s.ticket.number, s.rating, s.comment) for s in c.comments] == [
        (history.t[7].number, 5, "Great"),
        (history.t[5].number, 2, "Took too long"),
        (history.t[3].number, 5, "Quick and clear"),
    ]


# -- NPS ------------------------------------------------------------------------------------


def test_nps_over_time_and_by_plan(acme, history):
    n = figures(acme, dashboard.nps)
    # This week 10, 6, 9, 7, 8: 2 promoters, 1 detractor of 5 -> 20;
    # the week before 9 and 2 -> 0.
    assert (n.current.responses, n.current.promoters, n.current.passives) == (5, 2, 2)
    assert (n.score.current, n.score.previous) == (20.0, 0.0)
    # 9th: 10; 10th: 6 and 9; 12th: 7; 14th: 8.
    assert [b.score for b in n.trend] == [100.0, 0.0, None, 0.0, None, 0.0, None]
    by_plan = {p.name: (p.current.score, p.previous.score) for p in n.by_plan}
    assert list(by_plan) == ["Free", "Pro", "Pro+"]
    # Free: 6 and 8 (-50), before 2 (-100); Pro: 10 and 7 (50), before 9; Pro+: 9.
    assert by_plan == {"Free": (-50.0, -100.0), "Pro": (50.0, 100.0), "Pro+": (100.0, None)}


# -- knowledge base -------------------------------------------------------------------------


def test_knowledge_base_views_votes_deflection_and_failed_searches(acme, history):
    k = figures(acme, dashboard.knowledge)
    assert k.views == [5, 5, 0, 0, 0, 0, 4]
    assert (k.views_total.current, k.views_total.previous) == (14, 6)
    a1, a2 = history.articles
    assert k.top_articles == [
        {"article": a1.pk, "title": "Reset your password", "views": 8},
        {"article": a2.pk, "title": "Update billing details", "views": 6},
    ]
    # Votes: yes (9th), no (10th), yes (12th): 66.7% helpful; the week before 1 yes.
    assert [(v.helpful, v.not_helpful) for v in k.votes][:4] == [(1, 0), (0, 1), (0, 0), (1, 0)]
    assert (k.percent_helpful.current, k.percent_helpful.previous) == (66.7, 100.0)
    # Suggestions opened: 9th two (one filed anyway), 11th one, 14th one: 3 of 4
    # spared a request; the week before 1 of 2.
    assert [d.rate for d in k.deflections] == [50.0, None, 100.0, None, None, 100.0, None]
    assert (k.deflection_rate.current, k.deflection_rate.previous) == (75.0, 50.0)
    assert [(f["normalized"], f["times"]) for f in k.failed_searches] == [
        ("invoice pdf", 3),
        ("sso login", 1),
    ]


def test_a_suggestion_still_inside_its_window_counts_nowhere_yet(acme, history):
    a1, _a2 = history.articles
    opened(acme, a1, acme.customer, NOW - timedelta(minutes=5))
    with acme.scope():
        k = dashboard.knowledge(scope(acme, start=date(2026, 11, 20), end=date(2026, 11, 20)))
    assert k.deflections_total[0].opened == 0


# -- the page: filters, comparison, CSV -------------------------------------------------------


def test_the_page_shows_every_panel_with_its_comparison(acme, history):
    response = get(acme)
    assert response.status_code == 200
    panels = response.context["panels"]
    assert list(panels) == ["volume", "speed", "sla", "csat", "nps", "knowledge", "chat"]
    created = panels["volume"].headlines[0]
    assert (created.value, created.previous, created.change) == ("7", "2", "+5 (+250.0%)")
    attainment = panels["sla"].headlines[0]
    assert (attainment.value, attainment.previous, attainment.change) == (
        "71.4%",
        "33.3%",
        "+38.1 pts",
    )
    assert attainment.tone == "better"
    median = panels["speed"].headlines[0]
    assert shown(median.value, 2.5) and shown(median.previous, 2.0)
    assert median.change.startswith("+") and median.tone == "worse"  # slower is worse
    page = response.content.decode()
    assert "2026-11-02 to 2026-11-08" in page  # the previous period, named
    assert 'role="img"' in page and 'aria-labelledby="volume-title volume-desc"' in page
    assert "Great" in page and "Took too long" in page and "Old comment" not in page
    assert "invoice pdf" in page
    assert f'href="/agent/tickets/{history.t[7].number}/"' in page


def test_no_other_desks_data_is_counted_or_shown(acme, history):
    # Globex's ticket, rating, NPS answer, views, votes and searches are on these
    # very days; every figure above was counted without them. And on the page:
    page = get(acme).content.decode()
    for secret in ("Globex secret comment", "globex secret search", "Globex article"):
        assert secret not in page


def test_as_served_the_panels_run_side_by_side_with_the_same_figures(
    transactional_db, settings, acme, history
):
    # Committed data, so the panels run on the side-by-side threads' own connections
    # (other tests run inside a transaction, where they run in order on the request's).
    settings.SIDE_BY_SIDE_THREADS = 0
    in_order = get(acme).context["panels"]
    settings.SIDE_BY_SIDE_THREADS = 3
    with CaptureQueriesContext(connection) as on_the_request:
        response = get(acme)
    side_by_side = response.context["panels"]
    assert not [q for q in on_the_request.captured_queries if "sla_slaoutcome" in q["sql"]]
    for name, panel in in_order.items():
        assert [h.value for h in side_by_side[name].headlines] == [h.value for h in panel.headlines]
        assert [c.table() for c in side_by_side[name].charts] == [c.table() for c in panel.charts]
    assert side_by_side["volume"].headlines[0].value == "7"
    page = response.content.decode()
    for secret in ("Globex secret comment", "globex secret search", "Globex article"):
        assert secret not in page
    # The panels speak the reader's language from their own threads too.
    with travel(NOW):
        chinese = acme.client(acme.admin).get(URL, WEEK_OF_9TH, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "新建与解决的工单" in chinese.content.decode()


@pytest.mark.parametrize(
    ("params", "created", "solved"),
    [
        ({"plan": "pro"}, [1, 0, 1, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 0]),  # T3 T6 T9; T3
        ({"category": "billing"}, [1, 0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 1, 0, 0]),  # T3 T7
        ({"priority": Priority.LOW}, [0, 0, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0]),  # T6; T2
        ({"agent": "admin"}, [0, 1, 0, 1, 0, 0, 0], [0, 2, 0, 0, 1, 0, 0]),  # T5 T7; T2 T5 T7
    ],
)
def test_each_filter_narrows_the_ticket_figures(acme, history, params, created, solved):
    with acme.scope():
        lookup = {
            "pro": acme.pro.pk,
            "billing": category(acme, "Billing").pk,
            "admin": acme.admin.pk,
        }
    params = {k: lookup.get(v, v) for k, v in params.items()}
    panels = get(acme, **params).context["panels"]
    volume = panels["volume"].data
    assert (volume.created, volume.solved) == (created, solved)
    # The knowledge base is never filtered.
    assert panels["knowledge"].data.views_total.current == 14


def test_filters_reach_speed_sla_and_csat(acme, history):
    with acme.scope():
        billing = category(acme, "Billing").pk
    panels = get(acme, category=billing).context["panels"]
    assert panels["speed"].data.overall.first_response.median == estimate(0.75)  # T3 1, T7 0.5
    # Billing: T3 first response and resolution met, T7 resolution breached.
    assert panels["sla"].data.attainment.current == 66.7
    assert panels["csat"].data.current.rated == 2  # T3 5, T7 5
    panels = get(acme, agent=acme.admin.pk).context["panels"]
    # Solved by the admin (the survey's agent): 2, 3 and 5.
    assert panels["csat"].data.percent_satisfied.current == 33.3
    panels = get(acme, plan=acme.pro_plus.pk).context["panels"]
    assert panels["sla"].data.attainment.current == 50.0  # T4 met, T7 breached


def test_nps_follows_the_plan_filter_only(acme, history):
    response = get(acme, plan=acme.free.pk)
    assert f'<option value="{acme.free.pk}" selected>Free</option>' in response.content.decode()
    panels = response.context["panels"]
    assert (panels["nps"].data.score.current, panels["nps"].data.score.previous) == (-50.0, -100.0)
    with acme.scope():
        billing = category(acme, "Billing").pk
    panels = get(acme, category=billing, priority=Priority.HIGH).context["panels"]
    assert panels["nps"].data.score.current == 20.0


def test_long_ranges_are_shown_by_week_unless_days_are_asked_for(acme, history):
    response = get(acme, start="2026-10-01", end="2026-11-15")
    assert response.context["scope"].bucket == WEEK
    assert response.context["panels"]["volume"].data.buckets[0] == date(2026, 9, 28)
    response = get(acme, start="2026-10-01", end="2026-11-15", bucket="day")
    assert len(response.context["panels"]["volume"].data.buckets) == 46


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_each_chart_downloads_its_numbers_as_csv(acme, history):
    response = get(acme, csv="volume")
    assert 'filename="volume-2026-11-09-2026-11-15.csv"' in response["Content-Disposition"]
    assert _csv(response) == [
        ["Day", "Created", "Solved"],
        ["2026-11-09", "2", "1"],
        ["2026-11-10", "1", "2"],
        ["2026-11-11", "1", "1"],
        ["2026-11-12", "1", "0"],
        ["2026-11-13", "0", "1"],
        ["2026-11-14", "1", "0"],
        ["2026-11-15", "1", "0"],
    ]
    rows = _csv(get(acme, csv="first-response"))
    assert rows[0] == ["Grouping", "Group", "Median", "90th percentile", "Tickets"]
    expected = [
        ["Category", "Technical issue", 4.0, 77.6, "3"],
        ["Category", "Billing", 0.75, 0.95, "2"],
        ["Category", "Account", 3.0, 3.0, "1"],
    ]
    for row, (grouping, group, median, p90, tickets) in zip(rows[1:4], expected, strict=True):
        assert row[:2] + row[4:] == [grouping, group, tickets]
        assert shown(row[2], median) and shown(row[3], p90)
    pro_plus = next(row for row in rows if row[:2] == ["Plan", "Pro+"])
    assert shown(pro_plus[2], 1.25) and shown(pro_plus[3], 1.85) and pro_plus[4] == "2"
    rows = _csv(get(acme, csv="nps-plans"))
    assert rows[0][:3] == ["Plan", "This period", "Previous period"]
    assert rows[1][:3] == ["Free", "-50.0", "-100.0"]
    rows = _csv(get(acme, csv="csat", plan=acme.pro.pk))  # filters apply to CSV too
    assert rows[1] == ["2026-11-09", "100.0", "1", "1"]  # T3 rated 5
    assert sum(int(r[2]) for r in rows[1:]) == 1


def test_the_table_under_a_chart_has_the_csv_numbers(acme, history):
    response = get(acme)
    chart = response.context["panels"]["sla"].chart("sla")
    table = chart.table()
    rows = _csv(get(acme, csv="sla"))
    assert [table["header"], *table["rows"]] == rows
    assert rows[1][:4] == ["2026-11-09", "100.0", "", ""]  # first response met twice
    page = response.content.decode()
    assert "<summary>Numbers as a table</summary>" in page
    assert "csv=sla" in page and "start=2026-11-09" in page


# -- who may see it -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["agent", "customer"])
def test_agents_and_customers_are_refused(acme, persona):
    assert get(acme, getattr(acme, persona)).status_code == 403


def test_another_desks_admin_gets_nothing(acme, globex, history):
    response = get(acme, globex.admin)
    assert_asked_to_sign_in(response)
    assert "panels" not in (response.context or {})


def test_anonymous_visitors_are_sent_to_sign_in(acme):
    with travel(NOW):
        response = acme.client().get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_get(acme):
    assert acme.client(acme.admin).post(URL).status_code == 405


def test_admins_find_it_in_the_agent_navigation(acme):
    assert f'href="{URL}"' in acme.client(acme.admin).get("/agent/").content.decode()
    assert f'href="{URL}"' not in acme.client(acme.agent).get("/agent/").content.decode()


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-12-01", "end": "2026-11-01"}, "must not be before the start"),
        ({"start": "2025-01-01", "end": "2026-11-01"}, "at most a year"),
        ({"start": "1066-10-14", "end": "1066-10-20"}, "between 2000 and 2100"),
        ({"start": "yesterday"}, "Enter a valid date"),
        ({"bucket": "month"}, "Select a valid choice"),
        ({"priority": "99"}, "Select a valid choice"),
        ({"plan": "x"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_in_place(acme, params, message):
    response = get(acme, **params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "panels" not in response.context


def test_another_desks_plan_is_not_a_choice(acme, globex):
    response = get(acme, plan=globex.pro.pk)
    assert response.status_code == 400


def test_an_unknown_chart_is_not_found(acme):
    assert get(acme, csv="nope").status_code == 404


# -- cost -----------------------------------------------------------------------------------


def _busy_week(desk, n: int, *, first: int = 0):
    """n tickets of this week, each answered, solved, rated and surveyed, with SLA
    outcomes, article views, votes and deflections."""
    customers = [
        make_member(desk.tenant, f"c{i}@{desk.tenant.slug}-co.example", "customer",
                    organization=desk.org)
        for i in range(first, first + n)
    ]  # fmt: skip
    article = make_article(desk, f"Article {first}")
    for i, customer in enumerate(customers):
        day = at(2026, 11, 9 + i % 7, 10)
        t = ticket(desk, day, customer, cat="Billing", priority=Priority.HIGH,
                   assignee=desk.agent if i % 2 else desk.admin,
                   replied=day + timedelta(hours=1), solved=day + timedelta(hours=3))  # fmt: skip
        outcome(desk, t, "first_response", "met" if i % 3 else "breached", day)
        rating(desk, t, 1 + i % 5, desk.agent, day + timedelta(hours=4), f"Comment {i}")
        nps_answer(desk, customer, desk.org, desk.pro, i % 11, day)
        vote(desk, article, customer, bool(i % 2), day)
        opened(desk, article, customer, day, filed=t if i % 2 else None)
        searched(desk, f"missing {i}", day)
        with desk.scope():
            article_view_record(article=article, day=day.date())


def test_the_query_count_does_not_grow_with_the_data(acme, django_assert_num_queries):
    around_the_clock(acme)
    _busy_week(acme, 3)
    refresh_dashboards()
    get(acme)  # warm the caches (desk lists, session)
    with CaptureQueriesContext(connection) as few:
        assert get(acme).status_code == 200
    # Read now: the next request clears the log these are a slice of.
    few_queries = len(few.captured_queries)
    _busy_week(acme, 27, first=3)
    refresh_dashboards()
    get(acme)
    with django_assert_num_queries(few_queries):
        response = get(acme)
    assert response.context["panels"]["volume"].data.created_total.current == 30
