"""The figures of the customer-success reports (admins, `/agent/success/reports/`):
renewal rates by quarter, ARR at risk by health band, the health distribution week by
week, and how punctually each CSM completes their tasks.

Every figure is a PostgreSQL aggregate (GROUP BY quarter, band, week or owner, with
FILTER clauses for the columns), so a report costs the same few queries whatever the
number of organizations, renewals, scores or tasks; the page's view and charts are in
success/views/reports.py and success/report_charts.py.

Definitions (docs/customer-success.md, "Reports", says the same for readers):

- Renewals are counted in the quarter of their renewal date. *Recorded*: a `Renewal`
  row (renewed or churned). *Awaiting outcome*: an organization whose renewal date in
  the quarter has passed (before today) with no `Renewal` row for it. *Due* = recorded
  + awaiting, their ARR being the ARR before (the organization's current ARR for the
  awaiting ones).
- Rates are over the recorded renewals only:
  gross renewal rate = ARR before of the renewed / ARR before of all recorded;
  net of downgrades = Σ least(ARR after, ARR before) of the renewed / the same;
  logo rate = renewed / recorded. Expansion, Σ greatest(ARR after − ARR before, 0) of
  the renewed, is shown apart and counts in neither rate.
- ARR at risk: organizations by the band of their latest score (or none yet), with
  their current ARR and the part of it renewing within RENEWAL_HORIZON days.
- Health distribution: for each week (Monday to Sunday) of the range, each
  organization counted once, in the band of its last score of that week in the range.
- Tasks: not cancelled, due in the range, by owner (none: the shared pool). On time:
  done on or before the due date, the day of completion taken in the desk's time
  zone; late: done after it; overdue: still open after the due date.
  On-time rate = on time / (done + overdue); tasks open and not yet due count in
  neither.

Amounts are added as they are recorded, without converting currencies.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, DateField, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Cast, Greatest, Least, Trunc, TruncDate

from plans.models import Organization
from success.models import Band, HealthScore, Renewal, RenewalOutcome, SuccessTask, TaskStatus
from success.selectors import with_latest_health

DEFAULT_QUARTERS = 4
DEFAULT_WEEKS = 12
RENEWAL_HORIZON = timedelta(days=90)
ZERO = Decimal(0)


def percent(part, whole) -> Decimal | None:
    """100 × part / whole to one decimal, rounded half up; None when whole is 0."""
    if not whole:
        return None
    return (Decimal(100) * Decimal(part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_quarters(quarter: date, n: int) -> date:
    months = quarter.year * 12 + quarter.month - 1 + 3 * n
    return date(months // 12, months % 12 + 1, 1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# -- what is asked ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRange:
    """The quarters the renewal report covers and the days the others cover.

    Both end with `end` (today unless chosen). Without a chosen start, renewals cover
    the last DEFAULT_QUARTERS quarters and the rest the last DEFAULT_WEEKS weeks; with
    one, every report starts there (renewals from the start of its quarter: quarters
    are counted whole)."""

    first_quarter: date  # the first day of the first quarter
    last_quarter: date  # the first day of the last quarter
    start: date
    end: date
    today: date
    tz: tzinfo

    @classmethod
    def make(cls, *, today: date, tz: tzinfo, start: date | None = None, end: date | None = None):
        end = end or today
        last_quarter = quarter_start(end)
        if start is None:
            first_quarter = add_quarters(last_quarter, 1 - DEFAULT_QUARTERS)
            start = week_start(end) - timedelta(weeks=DEFAULT_WEEKS - 1)
        else:
            first_quarter = quarter_start(start)
        return cls(first_quarter, last_quarter, start, end, today, tz)

    @property
    def quarters(self) -> list[date]:
        quarters, quarter = [], self.first_quarter
        while quarter <= self.last_quarter:
            quarters.append(quarter)
            quarter = add_quarters(quarter, 1)
        return quarters

    @property
    def weeks(self) -> list[date]:
        """The Monday of each week the range touches (the first and last may be partial)."""
        first = week_start(self.start)
        return [first + timedelta(weeks=i) for i in range((self.end - first).days // 7 + 1)]


def _quarter_of(field_name: str):
    # A date column is already a day of the desk: no time zone to apply.
    return Cast(Trunc(field_name, "quarter", output_field=DateField()), DateField())


def _week_of(field_name: str):
    return Cast(Trunc(field_name, "week", output_field=DateField()), DateField())


# -- renewals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Renewals:
    """The renewals of a quarter (or of the whole range, `quarter` None)."""

    quarter: date | None
    recorded: int = 0
    renewed: int = 0
    churned: int = 0
    awaiting: int = 0
    arr_recorded: Decimal = ZERO
    arr_renewed: Decimal = ZERO
    arr_churned: Decimal = ZERO
    arr_retained: Decimal = ZERO  # Σ least(after, before) of the renewed
    expansion: Decimal = ZERO  # Σ greatest(after − before, 0) of the renewed
    contraction: Decimal = ZERO  # Σ greatest(before − after, 0) of the renewed
    arr_awaiting: Decimal = ZERO

    @property
    def due(self) -> int:
        return self.recorded + self.awaiting

    @property
    def arr_due(self) -> Decimal:
        return self.arr_recorded + self.arr_awaiting

    @property
    def gross_rate(self) -> Decimal | None:
        return percent(self.arr_renewed, self.arr_recorded)

    @property
    def net_rate(self) -> Decimal | None:
        return percent(self.arr_retained, self.arr_recorded)

    @property
    def logo_rate(self) -> Decimal | None:
        return percent(self.renewed, self.recorded)

    @classmethod
    def total(cls, quarters: list[Renewals]) -> Renewals:
        sums = {
            f.name: sum((getattr(q, f.name) for q in quarters), start=f.default)
            for f in fields(cls)
            if f.name != "quarter"
        }
        return cls(quarter=None, **sums)


@dataclass(frozen=True)
class RenewalReport:
    quarters: list[Renewals]

    @property
    def total(self) -> Renewals:
        return Renewals.total(self.quarters)


def renewals(report_range: ReportRange) -> RenewalReport:
    """Renewals recorded and awaiting an outcome per quarter: two grouped queries."""
    first = report_range.first_quarter
    after = add_quarters(report_range.last_quarter, 1)
    renewed = Q(outcome=RenewalOutcome.RENEWED)
    recorded_rows = (
        Renewal.objects.filter(renewal_date__gte=first, renewal_date__lt=after)
        .annotate(quarter=_quarter_of("renewal_date"))
        .values("quarter")
        .annotate(
            recorded=Count("pk"),
            renewed=Count("pk", filter=renewed),
            churned=Count("pk", filter=Q(outcome=RenewalOutcome.CHURNED)),
            arr_recorded=Sum("arr_before"),
            arr_renewed=Sum("arr_before", filter=renewed, default=ZERO),
            arr_churned=Sum("arr_before", filter=Q(outcome=RenewalOutcome.CHURNED), default=ZERO),
            arr_retained=Sum(Least("arr_after", "arr_before"), filter=renewed, default=ZERO),
            expansion=Sum(
                Greatest(F("arr_after") - F("arr_before"), Value(ZERO)),
                filter=renewed,
                default=ZERO,
            ),
            contraction=Sum(
                Greatest(F("arr_before") - F("arr_after"), Value(ZERO)),
                filter=renewed,
                default=ZERO,
            ),
        )
        .order_by()
    )
    by_quarter = {row.pop("quarter"): row for row in recorded_rows}

    # Recording a renewal moves the organization's renewal date on, so a date that has
    # passed is one still waiting; the NOT EXISTS guards against a row recorded by hand.
    recorded_already = Renewal.objects.filter(
        organization=OuterRef("pk"), renewal_date=OuterRef("renewal_date")
    )
    awaiting_rows = (
        Organization.objects.filter(
            renewal_date__gte=first, renewal_date__lt=min(after, report_range.today)
        )
        .filter(~Exists(recorded_already))
        .annotate(quarter=_quarter_of("renewal_date"))
        .values("quarter")
        .annotate(awaiting=Count("pk"), arr_awaiting=Sum("arr"))
        .order_by()
    )
    for row in awaiting_rows:
        by_quarter.setdefault(row.pop("quarter"), {}).update(row)
    return RenewalReport(
        [Renewals(quarter, **by_quarter.get(quarter, {})) for quarter in report_range.quarters]
    )


# -- ARR at risk --------------------------------------------------------------------------

# The order of the report's rows; None: no score yet.
BANDS: tuple[str | None, ...] = (Band.HEALTHY, Band.AT_RISK, Band.CRITICAL, None)
AT_RISK_BANDS = (Band.AT_RISK, Band.CRITICAL)


@dataclass(frozen=True)
class BandArr:
    band: str | None
    organizations: int = 0
    arr: Decimal = ZERO
    arr_renewing: Decimal = ZERO  # renewal date from today to RENEWAL_HORIZON days on


@dataclass(frozen=True)
class ArrReport:
    bands: list[BandArr]
    renewing_until: date

    def _at_risk(self, name: str) -> Decimal:
        return sum((getattr(b, name) for b in self.bands if b.band in AT_RISK_BANDS), ZERO)

    @property
    def arr_at_risk(self) -> Decimal:
        return self._at_risk("arr")

    @property
    def arr_at_risk_renewing(self) -> Decimal:
        return self._at_risk("arr_renewing")

    @property
    def organizations_at_risk(self) -> int:
        return sum(b.organizations for b in self.bands if b.band in AT_RISK_BANDS)

    @property
    def arr_total(self) -> Decimal:
        return sum((b.arr for b in self.bands), ZERO)


def arr_by_band(report_range: ReportRange) -> ArrReport:
    """Now, whatever the range: one query grouped by each current customer's latest
    band (organizations that churned are left out)."""
    today = report_range.today
    until = today + RENEWAL_HORIZON
    rows = (
        with_latest_health(Organization.objects.filter(churned_on__isnull=True))
        .values("health_band")
        .annotate(
            organizations=Count("pk"),
            arr_sum=Sum("arr"),  # not `arr`: an aggregate may not shadow the column
            arr_renewing=Sum(
                "arr", filter=Q(renewal_date__gte=today, renewal_date__lte=until), default=ZERO
            ),
        )
        .order_by()
    )
    by_band = {
        row["health_band"]: BandArr(
            row["health_band"], row["organizations"], row["arr_sum"], row["arr_renewing"]
        )
        for row in rows
    }
    return ArrReport([by_band.get(band, BandArr(band)) for band in BANDS], until)


# -- health distribution ------------------------------------------------------------------


@dataclass(frozen=True)
class WeekBands:
    week: date  # its Monday
    healthy: int = 0
    at_risk: int = 0
    critical: int = 0

    @property
    def scored(self) -> int:
        return self.healthy + self.at_risk + self.critical


# Each organization's last score of each week (DISTINCT ON, one sort), counted by
# band: the ORM builds the inner query (so the tenant's scope applies), the FILTER
# counts around it are SQL it cannot group over a DISTINCT ON.
_WEEK_BANDS_SQL = """
SELECT week,
       COUNT(*) FILTER (WHERE band = %s) AS healthy,
       COUNT(*) FILTER (WHERE band = %s) AS at_risk,
       COUNT(*) FILTER (WHERE band = %s) AS critical
FROM ({last_scores}) AS last_scores
GROUP BY week
"""


def health_by_week(report_range: ReportRange) -> list[WeekBands]:
    last_scores = (
        HealthScore.objects.filter(day__gte=report_range.start, day__lte=report_range.end)
        .annotate(week=_week_of("day"))
        .order_by("organization_id", "week", "-day")
        .distinct("organization_id", "week")
        .values("week", "band")
    )
    sql, params = last_scores.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            _WEEK_BANDS_SQL.format(last_scores=sql),
            [Band.HEALTHY, Band.AT_RISK, Band.CRITICAL, *params],
        )
        by_week = {week: WeekBands(week, *counts) for week, *counts in cursor.fetchall()}
    return [by_week.get(week, WeekBands(week)) for week in report_range.weeks]


# -- tasks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerTasks:
    owner_id: int | None  # None: the shared pool
    name: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0  # open after the due date
    open: int = 0  # open, not due yet

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_rate(self) -> Decimal | None:
        return percent(self.on_time, self.done + self.overdue)


@dataclass(frozen=True)
class TaskReport:
    owners: list[OwnerTasks]

    @property
    def total(self) -> OwnerTasks:
        sums = {
            name: sum(getattr(o, name) for o in self.owners)
            for name in ("due", "on_time", "late", "overdue", "open")
        }
        return OwnerTasks(None, "", **sums)


def tasks_by_owner(report_range: ReportRange, *, pool_name: str) -> TaskReport:
    """Tasks due in the range per owner: one query grouped by owner. Owners in name
    order, the shared pool last."""
    today = report_range.today
    done = Q(status=TaskStatus.DONE)
    # Local midnight decides: a task done at 23:30 on its due day is on time.
    done_on = TruncDate("completed_at", tzinfo=report_range.tz)
    rows = (
        SuccessTask.objects.filter(due_date__gte=report_range.start, due_date__lte=report_range.end)
        .exclude(status=TaskStatus.CANCELLED)
        .annotate(done_on=done_on)
        .values("owner_id", "owner__full_name", "owner__email")
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=done & Q(done_on__lte=F("due_date"))),
            late=Count("pk", filter=done & Q(done_on__gt=F("due_date"))),
            overdue=Count("pk", filter=Q(status=TaskStatus.OPEN, due_date__lt=today)),
            open=Count("pk", filter=Q(status=TaskStatus.OPEN, due_date__gte=today)),
        )
        .order_by()
    )
    owners = []
    for row in rows:
        owner_id, full_name, email = (
            row.pop(key) for key in ("owner_id", "owner__full_name", "owner__email")
        )
        name = (full_name or email) if owner_id is not None else pool_name
        owners.append(OwnerTasks(owner_id, name, **row))
    # One row per owner: sorting them here costs nothing.
    owners.sort(key=lambda o: (o.owner_id is None, o.name.casefold()))
    return TaskReport(owners)
