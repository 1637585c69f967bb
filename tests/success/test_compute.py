"""Health scores computed from the desk's data (success/services.py): every component
against hand-computed values, the profile of each lifecycle stage, the missing-data
rule, idempotent daily runs, and tenant isolation."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from plans.models import Organization
from success.models import Band, HealthScore, HealthSettings, Metric, Stage, WeightProfile
from success.services import health_compute, health_compute_daily, health_settings
from success.tasks import compute_health
from tests.helpdesk.factories import make_member
from tests.plans.factories import make_organization
from tests.success.factories import (
    at,
    csat_rating,
    event,
    nps_answer,
    record,
    scores,
    sla_outcome,
    ticket_at,
)
from tickets.models import Status

D = date(2026, 3, 15)  # the scored day; its windows end at 2026-03-16 00:00 UTC


def days_before(n: int, hour: int = 12) -> datetime:
    return at(D - timedelta(days=n), hour)


def set_contract(desk, org, *, start: date, renewal: date | None):
    with desk.scope():
        Organization.objects.filter(pk=org.pk).update(contract_start=start, renewal_date=renewal)


def compute(desk, day=D, **kwargs):
    with desk.scope():
        return health_compute(tenant=desk.tenant, day=day, **kwargs)


def score_of(desk, org, day=D) -> HealthScore:
    with desk.scope():
        return HealthScore.objects.get(organization=org, day=day)


FEATURES_USED = [
    (1, "reports"),
    (2, "reports"),
    (3, "dashboards"),
    (4, "export"),
    (25, "alerts"),
    (40, "sso"),  # before the window
]


@pytest.fixture
def story(acme):
    """Acme's Pro customer with a figure for every component (hand-computed in comments),
    some rows just outside each window, and rows of another organization."""
    org = acme.org
    set_contract(acme, org, start=D - timedelta(days=200), renewal=D + timedelta(days=200))
    set_contract(acme, acme.other_org, start=D - timedelta(days=100), renewal=None)
    make_member(acme.tenant, "dan@acme-co.example", organization=org)  # 2 seats
    with time_machine.travel(at(D + timedelta(days=1), 20)):
        record(
            acme,
            # Usage frequency: logins on 11 distinct days of the last 30 (D-10 .. D).
            *[event(org, Metric.LOGIN, days_before(n), value=3) for n in range(11)],
            event(org, Metric.LOGIN, days_before(3, 18)),  # same day again
            event(org, Metric.LOGIN, days_before(15), value=0),  # a day with no login
            event(org, Metric.LOGIN, days_before(30)),  # before the window
            event(org, Metric.LOGIN, at(D + timedelta(days=1), 9)),  # after the day
            # Feature depth: 4 distinct features in the window.
            *[
                event(org, Metric.FEATURE_USED, days_before(n), feature=name)
                for n, name in FEATURES_USED
            ],
            # Data growth: 90 records in the last 30 days against 100 in the 30 before.
            event(org, Metric.RECORDS_CREATED, days_before(1), value=50),
            event(org, Metric.RECORDS_CREATED, days_before(20), value=40),
            event(org, Metric.RECORDS_CREATED, days_before(45), value=100),
            event(org, Metric.RECORDS_CREATED, days_before(70), value=500),
            # Payment: paid, then the latest invoice went overdue (paid only after D).
            event(org, Metric.INVOICE_PAID, days_before(40)),
            event(org, Metric.INVOICE_OVERDUE, days_before(5)),
            event(org, Metric.INVOICE_PAID, at(D + timedelta(days=1), 9)),
            # Another organization's usage is its own.
            event(acme.other_org, Metric.LOGIN, days_before(2)),
        )
    # Ticket load: opened in the last 30 days t1, t2, t6 (3); open at the end of D:
    # t2, t4, t6 (3); 2 seats: (3 + 3) / 2 = 3.0 tickets per seat.
    t1 = ticket_at(acme, org, days_before(10), status=Status.SOLVED, solved=days_before(8))
    ticket_at(acme, org, days_before(3), status=Status.OPEN)
    ticket_at(acme, org, days_before(45), status=Status.PENDING)
    ticket_at(acme, org, days_before(50), status=Status.CLOSED, solved=days_before(40))
    ticket_at(acme, org, days_before(20), status=Status.SOLVED, solved=at(D + timedelta(days=1)))
    ticket_at(acme, acme.other_org, days_before(2), requester=acme.other_customer)
    # SLA breaches: 2 of the 10 clocks due in the last 90 days were breached (20%).
    for n in range(10):
        sla_outcome(acme, t1, days_before(n * 8), breached=n < 2)
    sla_outcome(acme, t1, days_before(100), breached=True)
    sla_outcome(acme, t1, at(D + timedelta(days=1), 10), breached=True)
    # NPS of the last 180 days: 2 promoters, 1 passive, 1 detractor: 25.
    for n, score in [(10, 10), (60, 9), (120, 7), (170, 3), (200, 0)]:
        nps_answer(acme, org, score, days_before(n))
    # CSAT of the last 90 days: 3 of 4 satisfied: 75%.
    for n, rating in [(1, 5), (10, 4), (30, 4), (80, 2), (100, 1)]:
        csat_rating(acme, t1, rating, days_before(n))
    return org


# Each component's score from its defaults (zero mark -> full mark).
EXPECTED_COMPONENTS = {
    "usage_frequency": (11, (11 - 2) / (20 - 2) * 100),  # 50.0
    "feature_depth": (4, (4 - 1) / (6 - 1) * 100),  # 60.0
    "data_growth": (-10.0, (-10 + 50) / (20 + 50) * 100),  # 57.1
    "ticket_load": (3.0, (3 - 5) / (0.5 - 5) * 100),  # 44.4
    "sla_breaches": (20.0, (20 - 30) / (0 - 30) * 100),  # 33.3
    "payment": ("overdue", 30.0),
    "nps": (25.0, (25 + 50) / (50 + 50) * 100),  # 75.0
    "csat": (75.0, (75 - 50) / (95 - 50) * 100),  # 55.6
}
STEADY = {  # the default steady-state weights
    "usage_frequency": 20,
    "feature_depth": 15,
    "data_growth": 10,
    "ticket_load": 15,
    "sla_breaches": 10,
    "payment": 10,
    "nps": 10,
    "csat": 10,
}


def weighted(weights: dict[str, int], components=EXPECTED_COMPONENTS) -> float:
    present = {name: w for name, w in weights.items() if components[name][1] is not None}
    total = sum(present.values())
    return sum(components[name][1] * w for name, w in present.items()) / total


def test_every_component_and_the_score_match_hand_computed_values(acme, story):
    run = compute(acme)

    assert run.scored == 2  # Acme's two organizations
    row = score_of(acme, story)
    for name, (raw, expected) in EXPECTED_COMPONENTS.items():
        part = row.components[name]
        assert part["raw"] == raw, name
        assert part["score"] == pytest.approx(expected, abs=0.05), name
        assert part["weight"] == STEADY[name], name
    assert row.components["ticket_load"]["detail"] == {"opened": 3, "open": 3, "seats": 2}
    assert row.components["sla_breaches"]["detail"] == {"clocks": 10, "breached": 2}
    assert row.components["data_growth"]["detail"] == {"recent": 90.0, "before": 100.0}
    assert weighted(STEADY) == pytest.approx(50.77, abs=0.01)
    assert (row.score, row.band, row.stage) == (51, Band.CRITICAL, Stage.STEADY)


def test_the_desks_thresholds_and_bands_are_used(acme, story):
    with acme.scope():
        settings = health_settings(acme.tenant)
        HealthSettings.objects.filter(pk=settings.pk).update(
            usage_frequency_zero=0,
            usage_frequency_full=11,  # 11 active days now score 100
            payment_overdue_score=80,
            healthy_min=55,
            at_risk_min=40,
        )
    compute(acme)

    row = score_of(acme, story)
    assert row.components["usage_frequency"]["score"] == 100
    assert row.components["payment"]["score"] == 80
    expected = weighted(
        STEADY,
        {**EXPECTED_COMPONENTS, "usage_frequency": (11, 100.0), "payment": ("overdue", 80.0)},
    )
    assert row.score == round(expected) == 66
    assert row.band == Band.HEALTHY


@pytest.mark.parametrize(
    ("start", "renewal", "stage"),
    [
        (D - timedelta(days=10), D + timedelta(days=355), Stage.ONBOARDING),
        (D - timedelta(days=200), D + timedelta(days=200), Stage.STEADY),
        (D - timedelta(days=300), D + timedelta(days=30), Stage.RENEWAL),
        (D - timedelta(days=10), D + timedelta(days=30), Stage.ONBOARDING),  # both: onboarding
    ],
)
def test_the_weights_are_the_profile_of_the_organizations_stage(acme, story, start, renewal, stage):
    set_contract(acme, story, start=start, renewal=renewal)
    with acme.scope():
        settings = health_settings(acme.tenant)
        # The renewal profile looks at payment only: its score is the payment score.
        WeightProfile.objects.filter(health_settings=settings, stage=Stage.RENEWAL).update(
            usage_frequency=0,
            feature_depth=0,
            data_growth=0,
            ticket_load=0,
            sla_breaches=0,
            payment=100,
            nps=0,
            csat=0,
        )
    compute(acme)

    row = score_of(acme, story)
    assert row.stage == stage
    if stage == Stage.RENEWAL:
        assert row.score == 30
        assert row.components["nps"]["weight"] == 0
    elif stage == Stage.ONBOARDING:
        onboarding = dict(zip(STEADY, (25, 25, 15, 10, 5, 5, 5, 10), strict=True))
        assert row.components["feature_depth"]["weight"] == 25
        assert row.score == round(weighted(onboarding)) == 53
    else:
        assert row.score == 51


def test_the_stage_moves_with_the_day(acme, story):
    set_contract(acme, story, start=D - timedelta(days=29), renewal=None)
    compute(acme, D)
    compute(acme, D + timedelta(days=1))
    assert [(row.day, row.stage) for row in scores(acme, story)] == [
        (D, Stage.ONBOARDING),
        (D + timedelta(days=1), Stage.STEADY),
    ]


def test_components_without_data_are_left_out_and_the_other_weights_rescaled(acme, story):
    """The other organization: no NPS, CSAT or payment events; the desk's product does
    report usage, so its lack of logins is a real zero, not missing data."""
    other = acme.other_org
    compute(acme)

    row = score_of(acme, other)
    for name in ("payment", "nps", "csat"):
        assert row.components[name]["score"] is None, name
        assert row.components[name]["raw"] is None, name
    # One login on D-2: 1 active day (below the zero mark of 2); no features; no
    # records in either window (-100%); 1 ticket opened and open, 1 seat; no clocks.
    components = {
        "usage_frequency": (1, 0.0),
        "feature_depth": (0, 0.0),
        "data_growth": (-100.0, 0.0),
        "ticket_load": (2.0, (2 - 5) / (0.5 - 5) * 100),
        "sla_breaches": (0.0, 100.0),
        "payment": (None, None),
        "nps": (None, None),
        "csat": (None, None),
    }
    for name, (raw, expected) in components.items():
        assert row.components[name]["raw"] == raw, name
        if expected is not None:
            assert row.components[name]["score"] == pytest.approx(expected, abs=0.05), name
    # 70 points of weight have data: (66.7 * 15 + 100 * 10) / 70 = 28.6
    assert weighted(STEADY, components) == pytest.approx(28.57, abs=0.01)
    assert row.score == 29


def test_usage_the_desks_product_does_not_report_is_left_out_for_everyone(acme):
    """No usage events at all: the three usage components are missing data, not zeros."""
    set_contract(acme, acme.org, start=D - timedelta(days=100), renewal=None)
    compute(acme)

    row = score_of(acme, acme.org)
    for name in ("usage_frequency", "feature_depth", "data_growth"):
        assert row.components[name]["score"] is None, name
    # Nothing wrong in what there is: no tickets, no breaches.
    assert row.components["ticket_load"]["score"] == 100
    assert (row.score, row.band) == (100, Band.HEALTHY)


def test_organizations_whose_contract_starts_later_are_not_scored(acme):
    set_contract(acme, acme.org, start=D + timedelta(days=1), renewal=None)
    set_contract(acme, acme.other_org, start=D, renewal=None)
    run = compute(acme)
    assert run.scored == 1
    assert [row.organization_id for row in scores(acme)] == [acme.other_org.pk]


def test_computing_a_day_twice_keeps_one_row_per_organization_with_the_latest_figures(acme, story):
    first = compute(acme)
    before = score_of(acme, story)
    compute(acme)
    assert first.scored == 2
    assert len(scores(acme)) == 2
    assert score_of(acme, story).score == before.score

    # New answers arrive; scoring the day again replaces its row.
    for _ in range(4):
        nps_answer(acme, story, 0, days_before(1))
    compute(acme)
    rows = scores(acme, story)
    assert len(rows) == 1
    assert rows[0].components["nps"]["raw"] == pytest.approx(100 * (2 - 5) / 8, abs=0.05)
    assert rows[0].score < before.score
    assert rows[0].computed_at >= before.computed_at


def test_the_daily_run_scores_yesterday_once_in_the_desks_time_zone(acme, story):
    acme.tenant.time_zone = "Asia/Shanghai"
    acme.tenant.save()
    # 01:00 on March 16 in Shanghai: March 15 is over there (not yet in UTC).
    with time_machine.travel(datetime(2026, 3, 15, 17, 0, tzinfo=UTC)), acme.scope():
        runs = health_compute_daily(tenant=acme.tenant)
        again = health_compute_daily(tenant=acme.tenant)
    assert [run.day for run in runs] == [D]
    assert again == []
    assert {row.day for row in scores(acme)} == {D}
    with acme.scope():
        assert HealthSettings.objects.get().daily_through == D

    # Three days later (the beat was down): the missed days are scored too.
    with time_machine.travel(datetime(2026, 3, 18, 17, 0, tzinfo=UTC)), acme.scope():
        runs = health_compute_daily(tenant=acme.tenant)
    assert [run.day for run in runs] == [D + timedelta(days=n) for n in (1, 2, 3)]
    # A month later: only the last week is caught up.
    with time_machine.travel(datetime(2026, 4, 15, 17, 0, tzinfo=UTC)), acme.scope():
        runs = health_compute_daily(tenant=acme.tenant)
    assert [run.day for run in runs] == [date(2026, 4, n) for n in range(9, 16)]


def test_scoring_today_on_demand_leaves_the_daily_run_to_score_it_again(acme, story):
    with time_machine.travel(datetime(2026, 3, 15, 10, 0, tzinfo=UTC)):
        call_command("compute_health", "--tenant", "acme")
        provisional = score_of(acme, story)
    with time_machine.travel(datetime(2026, 3, 16, 1, 0, tzinfo=UTC)), acme.scope():
        runs = health_compute_daily(tenant=acme.tenant)
    assert [run.day for run in runs] == [D]
    final = score_of(acme, story)
    assert final.pk == provisional.pk and final.computed_at > provisional.computed_at


def test_the_command_backfills_days(acme, story, capsys):
    with time_machine.travel(datetime(2026, 3, 16, 1, 0, tzinfo=UTC)):
        call_command("compute_health", "--tenant", "acme", "--day", "2026-03-15", "--days", "3")
    assert {row.day for row in scores(acme)} == {D - timedelta(days=n) for n in range(3)}
    assert "acme 2026-03-15: 2 scored" in capsys.readouterr().out


def test_the_beat_task_scores_every_desk(acme, globex, story):
    set_contract(globex, globex.org, start=D - timedelta(days=200), renewal=None)
    with time_machine.travel(datetime(2026, 3, 16, 1, 0, tzinfo=UTC)):
        assert compute_health() == 2  # one task per tenant, run eagerly here
    assert {row.day for row in scores(acme)} == {D}
    assert {row.day for row in scores(globex)} == {D}


def test_a_desk_is_scored_from_its_own_data_only(acme, globex, story):
    """Globex's rows (the same shapes and ids) neither show up in Acme's scores nor
    change them; computing Acme writes no Globex row."""
    set_contract(globex, globex.org, start=D - timedelta(days=200), renewal=None)
    with time_machine.travel(at(D + timedelta(days=1), 20)):
        record(
            globex,
            *[event(globex.org, Metric.LOGIN, days_before(n)) for n in range(25)],
            event(globex.org, Metric.PAYMENT_FAILED, days_before(1)),
        )
    nps_answer(globex, globex.org, 0, days_before(3), recipient=globex.customer)

    compute(acme)

    assert scores(globex) == []
    with scopes_disabled():
        assert set(HealthScore.objects.values_list("tenant_id", flat=True)) == {acme.tenant.pk}
    assert score_of(acme, story).score == 51
    compute(globex)
    theirs = score_of(globex, globex.org)
    assert theirs.components["payment"]["raw"] == "failed"
    assert theirs.components["usage_frequency"]["raw"] == 25
    assert score_of(acme, story).components["usage_frequency"]["raw"] == 11


def test_the_number_of_queries_does_not_grow_with_the_organizations(acme, story):
    def queries_for_the_day() -> int:
        with CaptureQueriesContext(connection) as captured:
            compute(acme)
        return len(captured)

    compute(acme)  # the first creates the desk's settings
    few = queries_for_the_day()
    for n in range(20):
        org = make_organization(acme.tenant, name=f"More Co {n}")
        set_contract(acme, org, start=D - timedelta(days=50), renewal=None)
        make_member(acme.tenant, f"person{n}@more.example", organization=org)
    assert queries_for_the_day() == few
    assert len(scores(acme)) == 22
