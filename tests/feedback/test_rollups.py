"""The dashboards' rollups (feedback/rollups.py): the figures they give equal the ones
counted from the tickets (percentiles within the stated error), the worker's
incremental refresh equals a rebuild from scratch, and every kind of write marks
what it changes stale, from whatever code path.

`spread` writes a few hundred tickets over six weeks straight to the database (as
bulk tools and the bench do, past the services): every dimension a dashboard groups
by varies, some tickets are unsolved, some answered without a measured time, and
SLA outcomes fall on their own days.
"""

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from feedback import dashboard, rollups
from feedback.dashboard import Filters, Period, Scope, from_rollups
from feedback.models import CsatSurvey, DayRollup, RollupStale, SurveyStatus, WeekRollup
from feedback.tasks import refresh_rollups
from sla.models import SLAOutcome
from tests.feedback.helpers import refresh_dashboards
from tests.processes import Worker, wait_for
from tests.sla.factories import make_customer_on
from tests.tickets.factories import category, make_ticket, set_fields
from tickets.models import Category, Channel, Priority, Status, Ticket

FIRST_DAY = date(2026, 10, 1)
DAYS = 42
PERIOD = Period(date(2026, 10, 22), date(2026, 11, 4))  # 14 days; the previous 14 before


def _moment(rng, day: int) -> datetime:
    return datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=day, minutes=rng.randrange(1440))


def spread(desk, n: int = 300, seed: int = 7) -> list[Ticket]:
    rng = random.Random(seed)
    ivy = make_customer_on(desk, desk.pro_plus, slug="initech")
    with desk.scope():
        categories = [*Category.objects.all(), None]
        people = [desk.customer, desk.other_customer, ivy]
        organizations = {p.pk: p.memberships.get().organization for p in people}
        tickets = []
        for number in range(1, n + 1):
            requester = rng.choice(people)
            created = _moment(rng, rng.randrange(DAYS))
            answered = created + timedelta(seconds=rng.choice([0, 30, 4000, 90_000, 400_000]))
            solved = answered + timedelta(seconds=rng.randrange(1, 900_000))
            is_solved = rng.random() < 0.7
            is_answered = is_solved or rng.random() < 0.5
            tickets.append(
                Ticket(
                    tenant=desk.tenant,
                    number=10_000 + number,
                    subject=f"Spread {number}",
                    requester=requester,
                    organization=organizations[requester.pk],
                    category=rng.choice(categories),
                    priority=rng.choice(Priority.values),
                    channel=rng.choice([Channel.WEB, Channel.EMAIL, Channel.API]),
                    assignee=rng.choice([desk.agent, desk.admin, None]),
                    status=Status.SOLVED if is_solved else Status.OPEN,
                    created_at=created,
                    first_agent_reply_at=answered if is_answered else None,
                    # Now and then answered without a measured time (data from before).
                    first_response_seconds=int((answered - created).total_seconds())
                    if is_answered and rng.random() < 0.9
                    else None,
                    solved_at=solved if is_solved else None,
                    resolution_seconds=int((solved - created).total_seconds())
                    if is_solved
                    else None,
                )
            )
        Ticket.objects.bulk_create(tickets)
        SLAOutcome.objects.bulk_create(
            SLAOutcome(
                tenant=desk.tenant,
                ticket=t,
                metric=metric,
                result=rng.choice(list(SLAOutcome.Result.values)),
                due_at=t.created_at + timedelta(hours=rng.randrange(1, 200)),
            )
            for t in tickets
            for metric in ("first_response", "resolution")
            if rng.random() < 0.6
        )
        CsatSurvey.objects.bulk_create(
            CsatSurvey(
                tenant=desk.tenant,
                ticket=t,
                solved_at=t.solved_at,
                recipient=t.requester,
                agent=rng.choice([desk.agent, desk.admin, None]),
                status=SurveyStatus.SENT,
                send_at=t.solved_at,
                sent_at=t.solved_at,
                rating=rng.randint(1, 5),
                rated_at=t.solved_at + timedelta(hours=rng.randrange(1, 100)),
            )
            for t in tickets
            if t.solved_at and rng.random() < 0.5
        )
    return tickets


def _scopes(desk) -> list[Scope]:
    """No filter, and each filter on each of its values."""
    with desk.scope():
        values = {
            "plan": [desk.free.pk, desk.pro.pk, desk.pro_plus.pk],
            "category": list(Category.objects.values_list("pk", flat=True)),
            "priority": list(Priority.values),
            "agent": [desk.agent.pk, desk.admin.pk],
        }
    filters = [Filters()] + [
        Filters(**{name: value}) for name, options in values.items() for value in options
    ]
    zone = desk.tenant.tzinfo
    return [
        Scope(PERIOD, bucket, f, tz=zone, now=timezone.now())
        for f in filters
        for bucket in (dashboard.DAY, dashboard.WEEK)
    ]


def _figures(desk, scope: Scope, monkeypatch, *, exact: bool):
    with monkeypatch.context() as patch, desk.scope():
        if exact:
            patch.setattr(from_rollups, "answers", lambda scope: False)
        else:
            assert from_rollups.answers(scope)
        return (
            dashboard.volume(scope),
            dashboard.speed(scope),
            dashboard.sla(scope),
            dashboard.csat(scope),
        )


def assert_same_figures(desk, monkeypatch) -> int:
    compared = 0
    for scope in _scopes(desk):
        volume, speed, sla, csat = _figures(desk, scope, monkeypatch, exact=False)
        exact_volume, exact_speed, exact_sla, exact_csat = _figures(
            desk, scope, monkeypatch, exact=True
        )
        assert volume == exact_volume, scope.filters
        assert (sla.trend, sla.per_metric) == (exact_sla.trend, exact_sla.per_metric)
        assert (csat.trend, csat.current, csat.previous, csat.by_agent) == (
            exact_csat.trend,
            exact_csat.current,
            exact_csat.previous,
            exact_csat.by_agent,
        )
        rows = [speed.overall, speed.previous, *(r for g in speed.by.values() for r in g)]
        exact_rows = [
            exact_speed.overall,
            exact_speed.previous,
            *(r for g in exact_speed.by.values() for r in g),
        ]
        assert [r.label for r in rows] == [r.label for r in exact_rows]
        for row, exact_row in zip(rows, exact_rows, strict=True):
            for clock in ("first_response", "resolution"):
                got, want = getattr(row, clock), getattr(exact_row, clock)
                assert got.count == want.count, (scope.filters, row.label, clock)
                for figure in ("median", "p90"):
                    value, expected = getattr(got, figure), getattr(want, figure)
                    if expected is None:
                        assert value is None
                    else:
                        assert value == pytest.approx(expected, rel=rollups.RELATIVE_ERROR)
                    compared += 1
    return compared


def test_rollups_give_the_tickets_figures_for_every_filter(acme, monkeypatch):
    spread(acme)
    refresh_dashboards()
    with acme.scope():
        assert DayRollup.objects.count() > DAYS
        assert WeekRollup.objects.filter(week=date(2026, 10, 26)).exists()  # read whole
    assert assert_same_figures(acme, monkeypatch) > 500


def test_days_are_the_desks_days_in_the_rollups_too(acme, monkeypatch):
    acme.tenant.time_zone = "Asia/Shanghai"
    acme.tenant.save()
    spread(acme, n=150, seed=11)
    refresh_dashboards()
    assert assert_same_figures(acme, monkeypatch) > 100


def _snapshot(desk) -> list[tuple]:
    dimensions = ("grouping", "plan_id", "category_id", "priority", "channel", "agent_id")
    with desk.scope():
        days = DayRollup.objects.values_list(
            "day", *dimensions, "created", "solved", "unsolved", "first_responses",
            "resolutions", "sla", "rated", "satisfied", "rating_sum",
        )  # fmt: skip
        weeks = WeekRollup.objects.values_list(
            "week", *dimensions, "first_responses", "resolutions"
        )
        return sorted([*days, *weeks], key=repr)


def test_the_incremental_rollups_equal_a_rebuild_from_scratch(acme, globex, monkeypatch):
    tickets = spread(acme)
    make_ticket(globex)
    refresh_dashboards()
    globex_before = _snapshot(globex)
    # Every kind of change, through the services and straight to the database.
    with acme.scope():
        billing = category(acme, "Billing")
    set_fields(acme, make_ticket(acme), status=Status.SOLVED)  # new today, solved
    set_fields(acme, tickets[0], category=billing, priority=Priority.URGENT)
    set_fields(acme, tickets[1], assignee=acme.agent)
    with acme.scope():
        reopened = next(t for t in tickets if t.solved_at)
        Ticket.objects.filter(pk=reopened.pk).update(
            solved_at=None, resolution_seconds=None, status=Status.OPEN
        )
        Ticket.objects.filter(pk__in=[t.pk for t in tickets[5:40]]).update(channel=Channel.API)
        Ticket.objects.filter(pk=tickets[2].pk).delete()
        outcome = SLAOutcome.objects.filter(ticket__in=tickets[10:]).first()
        outcome.due_at -= timedelta(days=3)
        outcome.save()
        survey = CsatSurvey.objects.filter(rating__isnull=False).first()
        survey.rating, survey.agent = 6 - survey.rating, acme.agent
        survey.save()
        CsatSurvey.objects.filter(pk__in=CsatSurvey.objects.values("pk")[5:8]).delete()
        acme.other_org.plan = acme.pro_plus
        acme.other_org.save()
        assert RollupStale.objects.exists()
    refresh_dashboards()
    incremental = _snapshot(acme)
    with acme.scope():
        rollups.rebuild_desk(acme.tenant)
    assert _snapshot(acme) == incremental
    assert _snapshot(globex) == globex_before  # another desk's rows untouched
    assert assert_same_figures(acme, monkeypatch) > 500


def _rolled_up(desk) -> bool:
    """Whether the desk's dashboard reads the rollups (else it counts tickets)."""
    with desk.scope():
        return from_rollups.answers(_scopes(desk)[0])


def test_a_new_desk_or_another_time_zone_counts_tickets_until_rebuilt(acme, monkeypatch):
    spread(acme, n=60)
    assert not _rolled_up(acme)  # a new desk: no rollups yet
    refresh_dashboards()
    assert _rolled_up(acme)
    acme.tenant.time_zone = "America/New_York"
    acme.tenant.save()
    assert not _rolled_up(acme)  # every day stale: tickets are counted
    refresh_dashboards()
    assert _rolled_up(acme)
    assert assert_same_figures(acme, monkeypatch) > 50


def _stale_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM feedback_rollupstale")
        return cursor.fetchone()[0]


def test_what_no_figure_counts_marks_nothing_and_a_rollback_leaves_nothing(acme):
    ticket = make_ticket(acme)
    refresh_dashboards()
    assert _stale_rows() == 0
    with acme.scope():
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now(), subject="New")
    assert _stale_rows() == 0
    with pytest.raises(RuntimeError), transaction.atomic(), acme.scope():
        Ticket.objects.filter(pk=ticket.pk).update(priority=Priority.LOW)
        assert _stale_rows() == 1
        raise RuntimeError("rolled back")
    assert _stale_rows() == 0


def test_rows_marked_stale_during_a_refresh_wait_for_the_next_one(acme):
    """The worker deletes exactly the rows it read: one appended after, whose
    transaction the rebuild may not have seen, stays."""
    make_ticket(acme)
    with acme.scope():
        read = list(RollupStale.objects.values_list("pk", flat=True))
        late = RollupStale.objects.create(tenant=acme.tenant, day=timezone.localdate())
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM feedback_rollupstale WHERE id = ANY(%s)", [read])
        # What refresh does with what it read; `late` was not among it.
        assert list(RollupStale.objects.values_list("pk", flat=True)) == [late.pk]
    assert refresh_dashboards() == 1
    assert _stale_rows() == 0


def test_stale_rows_of_a_deleted_desk_are_dropped(acme):
    """Deleting a desk deletes its tickets, whose triggers mark days of a desk that is
    gone by the end of the transaction: the worker drops those rows."""
    make_ticket(acme)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) + 1 FROM helpdesk_tenant")
        gone = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO feedback_rollupstale (tenant_id, day) VALUES (%s, NULL)", [gone]
        )
    assert refresh_dashboards() == 1  # Acme's day; nothing for the desk that is gone
    assert _stale_rows() == 0


def test_the_rebuild_command(acme, globex, monkeypatch):
    spread(acme, n=80)
    with acme.scope():
        RollupStale.objects.all().delete()  # as if the triggers had been off
    call_command("rebuild_rollups", desk=acme.tenant.slug)
    with globex.scope():
        assert not DayRollup.objects.exists()
    assert assert_same_figures(acme, monkeypatch) > 50


@pytest.mark.parametrize("seed", range(5))
def test_a_histograms_percentiles_are_within_the_stated_error(db, seed):
    """Seconds from 0 to months; the histogram built by the rollups' SQL, merged from
    two halves, against PostgreSQL's exact percentile_cont."""
    rng = random.Random(seed)
    values = [0] * rng.randrange(3) + [
        int(rng.lognormvariate(9, 2.5)) for _ in range(rng.randrange(1, 400))
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rollups.bucket_sql('v')} FROM unnest(%s::int[]) v",
            [values],
        )
        buckets = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY v), "
            "PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY v) FROM unnest(%s::int[]) v",
            [values],
        )
        exact = cursor.fetchone()
    halves = [{}, {}]
    for i, bucket in enumerate(buckets):
        halves[i % 2][str(bucket)] = halves[i % 2].get(str(bucket), 0) + 1
    histogram = rollups.merged(json.dumps(half) for half in halves)
    for fraction, expected in zip((0.5, 0.9), exact, strict=True):
        assert rollups.percentile(histogram, fraction) == pytest.approx(
            expected, rel=rollups.RELATIVE_ERROR
        )


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_rolling_up_loses_nothing(acme, queue, tmp_path, monkeypatch):
    """SIGKILL after the rebuild, before its transaction commits: nothing of it is
    kept, the desk's days stay stale, and a second worker's refresh builds them."""
    spread(acme, n=80)
    stale_before = _stale_rows()
    dying = Worker(tmp_path, kill="while-rolling-up")
    try:
        refresh_rollups.delay()
        assert dying.wait_killed() == -9
    finally:
        dying.stop()
    with acme.scope():
        assert not DayRollup.objects.exists()
    assert _stale_rows() == stale_before
    second = Worker(tmp_path, visibility_timeout=1)
    try:
        refresh_rollups.delay()
        wait_for(lambda: _stale_rows() == 0, message="the second worker's refresh")
    finally:
        second.stop()
    rolled_up = _snapshot(acme)
    with acme.scope():
        rollups.rebuild_desk(acme.tenant)
    assert _snapshot(acme) == rolled_up
    assert assert_same_figures(acme, monkeypatch) > 50
