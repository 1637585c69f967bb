"""The customer-success reports: every figure against numbers counted by hand.

Acme runs on Los Angeles time (UTC-8 in November), so a day's end in the desk is
the next morning in UTC. The reports are asked for on Tuesday 24 November 2026 at
noon there: renewals cover 2026 Q1-Q4 by default, the rest the 12 weeks from
Monday 7 September to today.

Renewals (ARR before -> after; recorded through `renewal_record`):

    org      renewal date  ARR before  outcome             quarter
    Alpha    2026-07-15    10,000      renewed at 10,000   Q3
    Bravo    2026-08-10    20,000      renewed at 15,000   Q3 (downgrade)
    Charlie  2026-09-30     5,000      churned             Q3
    Delta    2026-10-05     8,000      renewed at 12,000   Q4 (upgrade)
    Echo     2026-11-02     4,000.50   churned             Q4
    Foxtrot  2026-11-20     6,000      nothing recorded    Q4 (awaiting)
    Golf     2026-12-15     9,000      still to come       Q4 (not due yet)
    Hotel    2026-11-24     1,000      due today           Q4 (not passed yet)
    India    2025-12-20     3,000      churned             2025 Q4 (outside)

    Q3: due 3 (35,000), renewed 2, churned 1; gross 30,000/35,000 = 85.7%,
        net 25,000/35,000 = 71.4%, logo 2/3 = 66.7%, downgrades 5,000.
    Q4: due 3 (12,000.50 recorded + 6,000 awaiting), renewed 1, churned 1,
        awaiting 1; gross = net = 8,000/12,000.50 = 66.7%, logo 50%, expansion 4,000.
    2026: gross 38,000/47,000.50 = 80.9%, net 33,000/47,000.50 = 70.2%, logo 60%.

Latest health band and ARR now (renewing within 90 days: to 2027-02-22):

    healthy   Alpha 10,000, Delta 12,000, Hotel 1,000 (today: renewing)
    at risk   Bravo 15,000, Golf 9,000 (renewing)
    critical  Foxtrot 6,000 (date passed: not renewing),
              Juliet 2,000 (2027-02-22: renewing), Kilo 3,000 (2027-02-23: not)
    none      Customer Co 500 (2026-12-01: renewing), Other Co: 0
    left out  Charlie (critical), Echo and India: they churned

Scores by week (H healthy, R at risk, C critical; the last of each week counts):

    week of  11-02                  11-09                  11-16                  11-23
    Alpha    H 11-08                H 11-15                H 11-22                H 11-23
    Bravo    H 11-05, R 11-08: R    R 11-10, H 11-12: H                           R 11-23
    Charlie  C 11-04                                       C 11-20                -
    Foxtrot                                                H 11-16, C 11-22: C    C 11-23
    Golf     C 11-02                                                              R 11-23
    Delta, Juliet, Kilo: 11-23 only (H, C, C); Hotel: 11-24 (H); Delta also R 11-01.

Tasks (due date; done at, local time):

    Acme Analytics Agent  on time: due 11-10 done 11-10 23:30, due 11-05 done 11-01
                          late: due 11-12 done 11-13 00:15; overdue: due 11-20
                          open, not due: due 11-24; cancelled: due 11-15
    Acme Analytics Admin  on time: due 10-01 done 09-30, due 10-15 done 10-15 09:00
                          late: due 10-20 done 10-22
    Shared pool           overdue: due 11-18, 11-23; out of range: due 09-01, 12-01
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Role, Tenant
from success.models import Band, HealthScore, RenewalOutcome, Stage, SuccessTask, TaskKind
from success.models import TaskStatus as S
from success.reports import ReportRange, WeekBands, add_quarters, quarter_start
from success.services import renewal_record
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tests.plans.factories import make_organization
from tests.sla.factories import travel

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 24, 12, tzinfo=LA)
URL = "/agent/success/reports/"
SCORES = {Band.HEALTHY: 90, Band.AT_RISK: 65, Band.CRITICAL: 30}


def local(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(date(2026, month, day), time(hour, minute), tzinfo=LA)


# -- building the data ------------------------------------------------------------------------


def org(desk, name, *, arr="0", renewal=None, plan=None):
    return make_organization(
        desk.tenant, name=name, plan=plan or desk.pro, arr=Decimal(arr), renewal_date=renewal
    )


def renew(desk, organization, outcome, arr_after=None, plan_after=None):
    with desk.scope():
        renewal_record(
            organization=organization,
            outcome=outcome,
            user=desk.admin,
            arr_after=None if arr_after is None else Decimal(arr_after),
            plan_after=plan_after,
        )


def score(desk, organization, day: date, band: str):
    with desk.scope():
        HealthScore.objects.create(
            tenant=desk.tenant,
            organization=organization,
            day=day,
            score=SCORES[band],
            band=band,
            stage=Stage.STEADY,
        )


def task(desk, owner, due: date, status=S.OPEN, done: datetime | None = None, organization=None):
    with desk.scope():
        return SuccessTask.objects.create(
            tenant=desk.tenant,
            organization=organization or desk.org,
            owner=owner,
            kind=TaskKind.HEALTH_DROP,
            trigger_date=due,
            due_date=due,
            status=status,
            completed_at=done,
            completed_by=owner if done else None,
        )


@dataclass
class History:
    orgs: dict


@pytest.fixture
def history(acme, globex) -> History:
    Tenant.objects.filter(pk=acme.tenant.pk).update(time_zone="America/Los_Angeles")
    d = date
    o = {
        "Alpha": org(acme, "Alpha", arr="10000", renewal=d(2026, 7, 15)),
        "Bravo": org(acme, "Bravo", arr="20000", renewal=d(2026, 8, 10)),
        "Charlie": org(acme, "Charlie", arr="5000", renewal=d(2026, 9, 30)),
        "Delta": org(acme, "Delta", arr="8000", renewal=d(2026, 10, 5)),
        "Echo": org(acme, "Echo", arr="4000.50", renewal=d(2026, 11, 2)),
        "Foxtrot": org(acme, "Foxtrot", arr="6000", renewal=d(2026, 11, 20)),
        "Golf": org(acme, "Golf", arr="9000", renewal=d(2026, 12, 15)),
        "Hotel": org(acme, "Hotel", arr="1000", renewal=d(2026, 11, 24)),
        "India": org(acme, "India", arr="3000", renewal=d(2025, 12, 20)),
        "Juliet": org(acme, "Juliet", arr="2000", renewal=d(2027, 2, 22)),
        "Kilo": org(acme, "Kilo", arr="3000", renewal=d(2027, 2, 23)),
    }
    with acme.scope():
        acme.org.arr, acme.org.renewal_date = Decimal(500), d(2026, 12, 1)
        acme.org.save()
    renew(acme, o["Alpha"], RenewalOutcome.RENEWED)
    renew(acme, o["Bravo"], RenewalOutcome.RENEWED, "15000")
    renew(acme, o["Charlie"], RenewalOutcome.CHURNED)
    renew(acme, o["Delta"], RenewalOutcome.RENEWED, "12000", acme.pro_plus)
    renew(acme, o["Echo"], RenewalOutcome.CHURNED)
    renew(acme, o["India"], RenewalOutcome.CHURNED)

    H, R, C = Band.HEALTHY, Band.AT_RISK, Band.CRITICAL
    for name, days in {
        "Alpha": [(11, 8, H), (11, 15, H), (11, 22, H), (11, 23, H)],
        "Bravo": [(11, 5, H), (11, 8, R), (11, 10, R), (11, 12, H), (11, 23, R)],
        "Charlie": [(11, 4, C), (11, 20, C)],
        "Foxtrot": [(11, 16, H), (11, 22, C), (11, 23, C)],
        "Golf": [(11, 2, C), (11, 23, R)],
        "Delta": [(11, 1, R), (11, 23, H)],
        "Juliet": [(11, 23, C)],
        "Kilo": [(11, 23, C)],
        "Hotel": [(11, 24, H)],
    }.items():
        for month, day, band in days:
            score(acme, o[name], d(2026, month, day), band)

    agent, admin = acme.agent, acme.admin
    task(acme, agent, d(2026, 11, 10), S.DONE, local(11, 10, 23, 30))
    task(acme, agent, d(2026, 11, 5), S.DONE, local(11, 1))
    task(acme, agent, d(2026, 11, 12), S.DONE, local(11, 13, 0, 15))
    task(acme, agent, d(2026, 11, 20))
    task(acme, agent, d(2026, 11, 24))
    task(acme, agent, d(2026, 11, 15), S.CANCELLED)
    task(acme, admin, d(2026, 10, 1), S.DONE, local(9, 30))
    task(acme, admin, d(2026, 10, 15), S.DONE, local(10, 15, 9))
    task(acme, admin, d(2026, 10, 20), S.DONE, local(10, 22))
    for due in (d(2026, 11, 18), d(2026, 11, 23), d(2026, 9, 1), d(2026, 12, 1)):
        task(acme, None, due)

    # Globex, on the same days: none of it may count at Acme.
    secret = org(globex, "Globex Secret Corp", arr="99999", renewal=d(2026, 10, 10))
    renew(globex, secret, RenewalOutcome.CHURNED)
    org(globex, "Globex Waiting Corp", arr="77777", renewal=d(2026, 11, 3))
    late = org(globex, "Globex Late Corp", arr="55555", renewal=d(2027, 1, 5))
    score(globex, late, d(2026, 11, 23), Band.CRITICAL)
    task(globex, globex.agent, d(2026, 11, 10), S.DONE, local(11, 9), organization=globex.org)
    task(globex, None, d(2026, 11, 12), organization=globex.org)
    return History(o)


def get(desk, user=None, **params):
    with travel(NOW):
        return desk.client(user or desk.admin).get(URL, params)


def reports_of(response) -> dict:
    assert response.status_code == 200
    return {report.id: report for report in response.context["reports"]}


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


# -- the range --------------------------------------------------------------------------------


def test_quarters_and_weeks():
    assert quarter_start(date(2026, 11, 24)) == date(2026, 10, 1)
    assert add_quarters(date(2026, 10, 1), -3) == date(2026, 1, 1)
    assert add_quarters(date(2026, 10, 1), 1) == date(2027, 1, 1)
    default = ReportRange.make(today=date(2026, 11, 24), tz=LA)
    assert default.quarters == [date(2026, m, 1) for m in (1, 4, 7, 10)]
    assert (default.start, default.end) == (date(2026, 9, 7), date(2026, 11, 24))
    assert len(default.weeks) == 12 and default.weeks[-1] == date(2026, 11, 23)
    chosen = ReportRange.make(today=date(2026, 11, 24), tz=LA, start=date(2026, 5, 20),
                              end=date(2026, 8, 4))  # fmt: skip
    assert chosen.quarters == [date(2026, 4, 1), date(2026, 7, 1)]
    assert chosen.weeks[0] == date(2026, 5, 18) and chosen.weeks[-1] == date(2026, 8, 3)


# -- renewals ---------------------------------------------------------------------------------


def test_renewal_rates_by_quarter(acme, history):
    data = reports_of(get(acme))["renewals"].data
    q1, q2, q3, q4 = data.quarters
    assert [q.quarter for q in data.quarters] == [date(2026, m, 1) for m in (1, 4, 7, 10)]
    assert (q1.due, q2.due, q1.gross_rate, q1.logo_rate) == (0, 0, None, None)

    assert (q3.due, q3.recorded, q3.renewed, q3.churned, q3.awaiting) == (3, 3, 2, 1, 0)
    assert (q3.arr_due, q3.arr_renewed, q3.arr_churned) == (35000, 30000, 5000)
    assert (q3.arr_retained, q3.contraction, q3.expansion) == (25000, 5000, 0)
    assert (q3.gross_rate, q3.net_rate, q3.logo_rate) == (
        Decimal("85.7"),
        Decimal("71.4"),
        Decimal("66.7"),
    )

    assert (q4.due, q4.recorded, q4.renewed, q4.churned, q4.awaiting) == (3, 2, 1, 1, 1)
    assert (q4.arr_recorded, q4.arr_awaiting, q4.arr_due) == (
        Decimal("12000.50"),
        6000,
        Decimal("18000.50"),
    )
    assert (q4.arr_retained, q4.expansion, q4.contraction) == (8000, 4000, 0)
    assert (q4.gross_rate, q4.net_rate, q4.logo_rate) == (
        Decimal("66.7"),
        Decimal("66.7"),
        Decimal("50.0"),
    )

    total = data.total
    assert (total.recorded, total.renewed, total.awaiting, total.expansion) == (5, 3, 1, 4000)
    assert (total.gross_rate, total.net_rate, total.logo_rate) == (
        Decimal("80.9"),
        Decimal("70.2"),
        Decimal("60.0"),
    )


def test_a_chosen_range_takes_whole_quarters(acme, history):
    data = reports_of(get(acme, start="2025-12-01", end="2026-08-01"))["renewals"].data
    assert [q.quarter for q in data.quarters] == [
        date(2025, 10, 1),
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
    ]
    # India (2025-12-20) and all of Q3, though the range ends on 1 August.
    assert (data.quarters[0].churned, data.quarters[0].arr_churned) == (1, 3000)
    assert data.quarters[3].recorded == 3


def test_a_renewal_date_is_awaiting_only_once_it_has_passed(acme, history):
    # Hotel renews today: tomorrow, without an outcome, it is awaiting.
    with travel(datetime(2026, 11, 25, 9, tzinfo=LA)):
        response = acme.client(acme.admin).get(URL)
    q4 = reports_of(response)["renewals"].data.quarters[-1]
    assert (q4.awaiting, q4.arr_awaiting) == (2, 7000)


# -- ARR at risk ------------------------------------------------------------------------------


def test_arr_at_risk_by_latest_band(acme, history):
    report = reports_of(get(acme))["arr-at-risk"]
    data = report.data
    assert data.renewing_until == date(2027, 2, 22)
    rows = [(b.band, b.organizations, b.arr, b.arr_renewing) for b in data.bands]
    assert rows == [
        (Band.HEALTHY, 3, 23000, 1000),
        (Band.AT_RISK, 2, 24000, 9000),
        (Band.CRITICAL, 3, 11000, 2000),
        (None, 2, 500, 500),
    ]
    assert (data.arr_at_risk, data.arr_at_risk_renewing, data.organizations_at_risk) == (
        35000,
        11000,
        5,
    )
    assert [(f.label, f.value) for f in report.figures] == [
        ("ARR at risk", "35,000"),
        ("Of it renewing within 90 days", "11,000"),
        ("Organizations at risk", "5"),
        ("ARR in all", "58,500"),
    ]


def test_arr_at_risk_is_now_whatever_the_range(acme, history):
    bands = reports_of(get(acme, start="2026-01-01", end="2026-03-31"))["arr-at-risk"].data.bands
    assert [b.arr for b in bands] == [23000, 24000, 11000, 500]


# -- health distribution ----------------------------------------------------------------------


def test_bands_per_week_on_each_organizations_last_score(acme, history):
    weeks = reports_of(get(acme, start="2026-11-02"))["health"].data
    assert [(w.week, w.healthy, w.at_risk, w.critical) for w in weeks] == [
        (date(2026, 11, 2), 1, 1, 2),
        (date(2026, 11, 9), 2, 0, 0),
        (date(2026, 11, 16), 1, 0, 2),
        (date(2026, 11, 23), 3, 2, 3),
    ]


def test_a_week_cut_by_the_range_counts_its_days_in_the_range(acme, history):
    weeks = reports_of(get(acme, start="2026-11-03", end="2026-11-18"))["health"].data
    assert [(w.week, w.healthy, w.at_risk, w.critical) for w in weeks] == [
        (date(2026, 11, 2), 1, 1, 1),  # Golf's 11-02 is before the range
        (date(2026, 11, 9), 2, 0, 0),
        (date(2026, 11, 16), 1, 0, 0),  # Foxtrot healthy on the 16th; the 22nd is after
    ]


def test_the_default_is_twelve_weeks(acme, history):
    weeks = reports_of(get(acme))["health"].data
    assert len(weeks) == 12 and weeks[0].week == date(2026, 9, 7)
    assert weeks[7] == WeekBands(date(2026, 10, 26), at_risk=1)  # Delta on 11-01
    assert sum(w.scored for w in weeks) == 1 + 4 + 2 + 3 + 8


# -- tasks ------------------------------------------------------------------------------------


def test_tasks_on_time_per_owner(acme, history):
    report = reports_of(get(acme))["tasks"]
    rows = [
        (o.name, o.due, o.on_time, o.late, o.overdue, o.open, o.on_time_rate)
        for o in report.data.owners
    ]
    assert rows == [
        ("Acme Analytics Admin", 3, 2, 1, 0, 0, Decimal("66.7")),
        ("Acme Analytics Agent", 5, 2, 1, 1, 1, Decimal("50.0")),
        ("Shared pool", 2, 0, 0, 2, 0, Decimal("0.0")),
    ]
    total = report.data.total
    assert (total.due, total.on_time, total.done, total.overdue) == (10, 4, 6, 3)
    assert total.on_time_rate == Decimal("44.4")


def test_done_at_23_30_on_the_due_day_is_on_time_in_the_desks_time_zone(acme, history):
    # 23:30 in Los Angeles on 10 November is 07:30 UTC on the 11th.
    owners = reports_of(get(acme, start="2026-11-10", end="2026-11-10"))["tasks"].data.owners
    assert [(o.name, o.on_time, o.late) for o in owners] == [("Acme Analytics Agent", 1, 0)]
    owners = reports_of(get(acme, start="2026-11-12", end="2026-11-12"))["tasks"].data.owners
    assert [(o.name, o.on_time, o.late) for o in owners] == [("Acme Analytics Agent", 0, 1)]


# -- the page and the CSV ---------------------------------------------------------------------


def test_the_page_shows_each_report_with_its_chart_and_definitions(acme, history):
    response = get(acme)
    assert list(reports_of(response)) == ["renewals", "arr-at-risk", "health", "tasks"]
    page = response.content.decode()
    for chart_id in ("renewals", "arr-at-risk", "health", "tasks"):
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in page
        assert f"csv={chart_id}" in page
    assert "Gross renewal rate</strong>: ARR before of the renewed" in page
    assert '<dd class="headline-value">80.9%</dd>' in page
    assert "Shared pool" in page
    assert "end=2026-11-24&amp;csv=renewals" in page  # the CSV pins what is shown


def test_each_report_downloads_as_csv(acme, history):
    response = get(acme, csv="renewals")
    assert 'filename="renewals-2026-01-01-2026-12-31.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "Quarter",
        "Renewals due",
        "ARR due",
        "Renewed",
        "Churned",
        "Awaiting outcome",
        "Gross renewal rate",
        "Net of downgrades",
        "Logo renewal rate",
        "ARR renewed",
        "ARR churned",
        "Downgrades",
        "Expansion",
    ]
    assert rows[1] == ["2026 Q1", "0", "0.00", "0", "0", "0", "", "", "", "0.00", "0.00",
                       "0.00", "0.00"]  # fmt: skip
    assert rows[3:] == [
        ["2026 Q3", "3", "35000.00", "2", "1", "0", "85.7", "71.4", "66.7", "30000.00",
         "5000.00", "5000.00", "0.00"],
        ["2026 Q4", "3", "18000.50", "1", "1", "1", "66.7", "66.7", "50.0", "8000.00",
         "4000.50", "0.00", "4000.00"],
    ]  # fmt: skip
    assert _csv(get(acme, csv="arr-at-risk")) == [
        ["Band", "Organizations", "ARR", "ARR renewing within 90 days"],
        ["Healthy", "3", "23000.00", "1000.00"],
        ["At risk", "2", "24000.00", "9000.00"],
        ["Critical", "3", "11000.00", "2000.00"],
        ["Not scored yet", "2", "500.00", "500.00"],
    ]
    response = get(acme, start="2026-11-02", csv="health")
    assert 'filename="health-2026-11-02-2026-11-24.csv"' in response["Content-Disposition"]
    assert _csv(response) == [
        ["Week of", "Healthy", "At risk", "Critical", "Scored"],
        ["2026-11-02", "1", "1", "2", "4"],
        ["2026-11-09", "2", "0", "0", "2"],
        ["2026-11-16", "1", "0", "2", "3"],
        ["2026-11-23", "3", "2", "3", "8"],
    ]
    assert _csv(get(acme, csv="tasks")) == [
        ["Owner", "Due", "On time", "Late", "Open and overdue", "Open, not due yet",
         "On-time rate (%)"],
        ["Acme Analytics Admin", "3", "2", "1", "0", "0", "66.7"],
        ["Acme Analytics Agent", "5", "2", "1", "1", "1", "50.0"],
        ["Shared pool", "2", "0", "0", "2", "0", "0.0"],
    ]  # fmt: skip


def test_the_table_under_a_chart_has_the_csv_numbers(acme, history):
    response = get(acme)
    chart = reports_of(response)["tasks"].chart
    assert [chart.table()["header"], *chart.table()["rows"]] == _csv(get(acme, csv="tasks"))
    assert "<summary>Numbers as a table</summary>" in response.content.decode()


def test_an_unknown_csv_is_not_found(acme):
    assert get(acme, csv="nope").status_code == 404


# -- tenants and roles ------------------------------------------------------------------------


def test_another_desks_admin_sees_only_their_own_figures(acme, globex, history):
    response = get(globex, globex.admin)
    reports = reports_of(response)
    q4 = reports["renewals"].data.quarters[-1]
    assert (q4.recorded, q4.churned, q4.arr_churned, q4.awaiting, q4.arr_awaiting) == (
        1,
        1,
        99999,
        1,
        77777,
    )
    assert reports["renewals"].data.quarters[2].recorded == 0
    bands = reports["arr-at-risk"].data.bands
    assert [(b.organizations, b.arr) for b in bands] == [(0, 0), (0, 0), (1, 55555), (3, 77777)]
    assert sum(w.scored for w in reports["health"].data) == 1
    owners = reports["tasks"].data.owners
    assert [(o.name, o.due, o.on_time, o.overdue) for o in owners] == [
        ("Globex Agent", 1, 1, 0),
        ("Shared pool", 1, 0, 1),
    ]
    page = response.content.decode()
    for secret in ("Acme Analytics Agent", "Acme Analytics Admin"):
        assert secret not in page
    rows = _csv(get(globex, globex.admin, csv="tasks"))
    assert [r[0] for r in rows[1:]] == ["Globex Agent", "Shared pool"]


@pytest.mark.parametrize("params", [{}, {"csv": "renewals"}])
def test_another_desks_admin_is_refused_here(acme, globex, history, params):
    response = get(acme, globex.admin, **params)
    assert_asked_to_sign_in(response)
    assert "reports" not in (response.context or {})


@pytest.mark.parametrize("params", [{}, {"csv": "tasks"}])
@pytest.mark.parametrize("persona", ["agent", "customer"])
def test_agents_and_customers_are_refused(acme, persona, params):
    assert get(acme, getattr(acme, persona), **params).status_code == 403


@pytest.mark.parametrize("params", [{}, {"csv": "renewals"}])
def test_anonymous_visitors_are_sent_to_sign_in(acme, params):
    with travel(NOW):
        response = acme.client().get(URL, params)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_get(acme):
    assert acme.client(acme.admin).post(URL).status_code == 405


def test_admins_find_it_in_the_agent_navigation(acme):
    assert f'href="{URL}"' in acme.client(acme.admin).get("/agent/").content.decode()
    assert f'href="{URL}"' not in acme.client(acme.agent).get("/agent/").content.decode()


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-12-01", "end": "2026-11-01"}, "must not be before the start"),
        ({"start": "2026-12-01"}, "must not be before the start"),  # after today, the end
        ({"start": "2025-01-01", "end": "2026-11-01"}, "at most a year"),
        ({"start": "1066-10-14", "end": "1066-10-20"}, "between 2000 and 2100"),
        ({"end": "2222-01-01"}, "between 2000 and 2100"),
        ({"start": "yesterday"}, "Enter a valid date"),
        ({"start": "2026-11-01", "end": "2026-02-30", "csv": "tasks"}, "Enter a valid date"),
    ],
)
def test_bad_input_is_a_form_error_in_place(acme, params, message):
    response = get(acme, **params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "reports" not in response.context


# -- cost -------------------------------------------------------------------------------------


def _customers(desk, n: int, *, first: int = 0):
    """n organizations, each with a renewal recorded, one awaiting, a week of scores and
    tasks owned by a CSM of their own."""
    for i in range(first, first + n):
        renewed = org(desk, f"Renewed {i}", arr="1000", renewal=date(2026, 10, 1 + i % 28))
        renew(desk, renewed, RenewalOutcome.RENEWED if i % 2 else RenewalOutcome.CHURNED)
        waiting = org(desk, f"Waiting {i}", arr="2000", renewal=date(2026, 11, 1 + i % 20))
        csm = make_member(desk.tenant, f"csm{i}@acme.example", Role.AGENT, full_name=f"CSM {i}")
        for day in range(16, 23):
            score(desk, waiting, date(2026, 11, day), list(SCORES)[(i + day) % 3])
        task(desk, csm, date(2026, 11, 10), S.DONE, local(11, 10), organization=waiting)
        task(desk, None, date(2026, 11, 20), organization=waiting)


def test_the_query_count_does_not_grow_with_the_data(acme, django_assert_num_queries):
    _customers(acme, 2)
    get(acme)  # warm the session
    with CaptureQueriesContext(connection) as few:
        response = get(acme)
    few_queries = len(few.captured_queries)
    assert reports_of(response)["tasks"].data.total.due == 4
    _customers(acme, 20, first=2)
    with django_assert_num_queries(few_queries):
        response = get(acme)
    reports = reports_of(response)
    assert reports["tasks"].data.total.due == 44
    assert reports["renewals"].data.total.due == 44
    # 44 organizations and the desk's two, less the 11 that churned.
    assert sum(b.organizations for b in reports["arr-at-risk"].data.bands) == 35
