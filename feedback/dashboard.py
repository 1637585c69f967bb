"""The figures of the insights dashboards, each computed by PostgreSQL aggregates.

One function per panel of figures; each runs a few grouped queries over index
ranges and returns small dataclasses, never model rows by the thousand. Most
queries read the current period and the previous one (of the same length, just
before) at once, through FILTER clauses; speed groups the period every way in one
pass (GROUPING SETS) and reads the previous period's overall figures apart.

Definitions (the README's "Dashboards" says the same for readers):

- Buckets are days, or weeks starting on Monday, in the desk's time zone
  (`timezone.get_current_timezone()`, the tenant's during a request).
- Volume: tickets created per bucket (by `created_at`), solved per bucket (by
  `solved_at`, the latest solve of a ticket). The backlog at an instant t is the
  tickets created before t and not solved by then. It is derived, not scanned:
  backlog(t) = unsolved now - created in [t, now) + solved in [t, now), then
  carried through the buckets as a running sum of created - solved. Tickets are
  known by their current state, so a ticket solved and later reopened counts as
  open ever since it was created.
- Speed: business time (the ticket's SLA calendar), stored on the ticket when it
  happens. First response: tickets whose first public agent reply falls in the
  period; resolution: tickets solved in the period. Median and 90th percentile
  are PostgreSQL's `percentile_cont` (interpolated).
- SLA: clocks that ended (`SLAOutcome`), by due time, as in the SLA report.
- CSAT: ratings given in the period (by `rated_at`); satisfied = rating >=
  SATISFIED_RATING (4 of 5); % satisfied = satisfied / rated; average = mean rating.
- NPS: answers in the period (by `responded_at`): % promoters (9-10) - % detractors
  (0-6), from -100 to 100.
- Knowledge base: article views per day (`ArticleViewDay`), "was this helpful?"
  votes by their last change, deflection as knowledge.selectors defines it.

Filters: plan, category, priority and agent narrow the ticket figures (volume,
speed, SLA, CSAT; for CSAT "agent" is the agent who solved the ticket, elsewhere
its assignee); NPS follows the plan filter only (the plan when asked);
knowledge-base figures ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DateField,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Cast, Trunc
from django.utils import timezone

from feedback.models import SATISFIED_RATING, CsatSurvey, NpsSurvey
from knowledge.models import ArticleViewDay, ArticleVote
from knowledge.selectors import deflection_rate, failed_searches, settled_deflections
from plans.models import Plan
from sla import reports as sla_reports
from sla.models import Metric, SLAOutcome
from tickets.models import Category, Priority, Ticket

DAY = "day"
WEEK = "week"
DAILY_UP_TO_DAYS = 31  # longer ranges are shown by week unless asked otherwise
MAX_DAYS = 366
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


class Percentile(Aggregate):
    """PostgreSQL's `percentile_cont(f) WITHIN GROUP (ORDER BY expr)`: the value
    below which a fraction f of the rows fall, interpolated between neighbours.
    NULLs are ignored. Several over the same expression share one sort."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    arity = 1

    def __init__(self, expression, fraction: float, **extra):
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile is a fraction between 0 and 1.")
        # A float literal, never user input: safe to put in the SQL as text.
        super().__init__(expression, fraction=repr(fraction), **extra)


# -- what is asked ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date  # first day
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        return sla_reports.day_range(self.start, self.end, tz)


@dataclass(frozen=True)
class Filters:
    plan: int | None = None
    category: int | None = None
    priority: int | None = None
    agent: int | None = None

    def tickets(self, prefix: str = "", *, agent_field: str | None = None) -> Q:
        """The filters on tickets, or on rows reached from a ticket (`prefix='ticket__'`)."""
        q = Q()
        if self.plan is not None:
            q &= Q(**{f"{prefix}organization__plan": self.plan})
        if self.category is not None:
            q &= Q(**{f"{prefix}category": self.category})
        if self.priority is not None:
            q &= Q(**{f"{prefix}priority": self.priority})
        if self.agent is not None:
            q &= Q(**{agent_field or f"{prefix}assignee": self.agent})
        return q

    def csat(self) -> Q:
        return self.tickets("ticket__", agent_field="agent")

    def nps(self) -> Q:
        return Q(plan=self.plan) if self.plan is not None else Q()


@dataclass(frozen=True)
class Scope:
    """One request for figures: the period, its buckets, the filters, the desk's zone."""

    period: Period
    bucket: str = DAY
    filters: Filters = field(default_factory=Filters)
    tz: tzinfo | None = None
    now: datetime | None = None

    @classmethod
    def make(cls, period: Period, bucket: str = "", filters: Filters | None = None) -> Scope:
        return cls(
            period=period,
            bucket=bucket or (DAY if period.days <= DAILY_UP_TO_DAYS else WEEK),
            filters=filters or Filters(),
            tz=timezone.get_current_timezone(),
            now=timezone.now(),
        )

    @property
    def start(self) -> datetime:
        return self.period.bounds(self.tz)[0]

    @property
    def end(self) -> datetime:
        return self.period.bounds(self.tz)[1]

    @property
    def previous_start(self) -> datetime:
        return self.period.previous.bounds(self.tz)[0]

    def buckets(self) -> list[date]:
        """The first day of each bucket; a week bucket may begin before the period
        (only the period's days are counted in it)."""
        start, end = self.period.start, self.period.end
        if self.bucket == DAY:
            return [start + timedelta(days=i) for i in range(self.period.days)]
        first = start - timedelta(days=start.weekday())
        return [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]

    def bucket_of(self, field_name: str, *, is_date: bool = False):
        """SQL for the bucket (a date) a timestamp or date column falls in."""
        if is_date:
            if self.bucket == DAY:
                return F(field_name)
            return Cast(Trunc(field_name, WEEK, output_field=DateField()), DateField())
        return Cast(Trunc(field_name, self.bucket, tzinfo=self.tz), DateField())

    def in_period(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start, f"{field_name}__lt": self.end})

    def in_previous(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.previous_start, f"{field_name}__lt": self.start})

    def period_bucket(self, field_name: str, *, is_date: bool = False) -> Case:
        """The bucket for rows of the current period; NULL for the others (so rows of
        the previous period add one group, not one per day)."""
        condition = (
            Q(**{f"{field_name}__gte": self.period.start, f"{field_name}__lte": self.period.end})
            if is_date
            else self.in_period(field_name)
        )
        return Case(
            When(condition, then=self.bucket_of(field_name, is_date=is_date)),
            output_field=DateField(),
        )


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """A headline figure now and in the previous period."""

    current: float | int | None
    previous: float | int | None

    @property
    def change(self) -> float | int | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def change_percent(self) -> float | None:
        """The relative change, for counts."""
        if self.change is None or not self.previous:
            return None
        return 100 * self.change / self.previous


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def _series(rows: dict, buckets: list[date], default=0) -> list:
    return [rows.get(b, default) for b in buckets]


# -- volume -------------------------------------------------------------------------------


@dataclass
class Volume:
    buckets: list[date]
    created: list[int]
    solved: list[int]
    backlog: list[int]  # unsolved at the end of each bucket
    by_channel: dict[str, list[int]]  # channel -> created per bucket
    channel_totals: dict[str, Compare]
    created_total: Compare
    solved_total: Compare
    backlog_end: Compare  # at the end of the period vs the end of the previous one


def _created_and_solved(scope: Scope, column: str, *, by_channel: bool = False):
    """Per bucket (and channel) the tickets of the period, plus totals of the
    previous period and of everything after the period, from one grouped query."""
    rows = (
        Ticket.objects.filter(scope.filters.tickets())
        .filter(**{f"{column}__gte": scope.previous_start})
        .annotate(bucket=scope.period_bucket(column))
        .values("bucket", *(["channel"] if by_channel else []))
        .annotate(
            # Counting the indexed column, not the key: an index-only scan can answer.
            current=Count(column, filter=scope.in_period(column)),
            previous=Count(column, filter=scope.in_previous(column)),
            later=Count(column, filter=Q(**{f"{column}__gte": scope.end})),
        )
        .order_by()
    )
    return list(rows)


def volume(scope: Scope) -> Volume:
    buckets = scope.buckets()
    created_rows = _created_and_solved(scope, "created_at", by_channel=True)
    solved_rows = _created_and_solved(scope, "solved_at")
    unsolved_now = Ticket.objects.filter(scope.filters.tickets(), solved_at__isnull=True).count()

    created: dict[date, int] = {}
    by_channel: dict[str, dict[date, int]] = {}
    channel_current: dict[str, int] = {}
    channel_previous: dict[str, int] = {}
    for row in created_rows:
        if row["bucket"] is not None:
            created[row["bucket"]] = created.get(row["bucket"], 0) + row["current"]
            by_channel.setdefault(row["channel"], {})[row["bucket"]] = row["current"]
        channel_current[row["channel"]] = channel_current.get(row["channel"], 0) + row["current"]
        channel_previous[row["channel"]] = channel_previous.get(row["channel"], 0) + row["previous"]
    solved = {row["bucket"]: row["current"] for row in solved_rows if row["bucket"] is not None}

    def total(rows, key):
        return sum(row[key] for row in rows)

    # backlog(t) = unsolved now - created in [t, now) + solved in [t, now)
    backlog_at_end = unsolved_now - total(created_rows, "later") + total(solved_rows, "later")
    backlog_at_start = (
        backlog_at_end - total(created_rows, "current") + total(solved_rows, "current")
    )
    created_series, solved_series = _series(created, buckets), _series(solved, buckets)
    backlog, running = [], backlog_at_start
    for c, s in zip(created_series, solved_series, strict=True):
        running += c - s
        backlog.append(running)
    channels = sorted(set(channel_current) | set(channel_previous))
    return Volume(
        buckets=buckets,
        created=created_series,
        solved=solved_series,
        backlog=backlog,
        by_channel={c: _series(by_channel.get(c, {}), buckets) for c in channels},
        channel_totals={
            c: Compare(channel_current.get(c, 0), channel_previous.get(c, 0)) for c in channels
        },
        created_total=Compare(total(created_rows, "current"), total(created_rows, "previous")),
        solved_total=Compare(total(solved_rows, "current"), total(solved_rows, "previous")),
        backlog_end=Compare(backlog_at_end, backlog_at_start),
    )


# -- speed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    """Business hours: how many tickets were measured, their median and 90th percentile."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class SpeedRow:
    label: str
    first_response: Durations
    resolution: Durations


@dataclass
class Speed:
    overall: SpeedRow
    previous: SpeedRow
    by: dict[str, list[SpeedRow]]  # "category", "priority", "plan" -> rows


# The period's tickets grouped every way at once: PostgreSQL's GROUPING SETS, which
# the ORM cannot express, around a subquery the ORM builds (so the tenant's scope
# and the filters apply as everywhere else). GROUPING() tells the sets apart: a bit
# for each of category, priority and plan that a row is not grouped by.
_GROUPINGS_SQL = """
SELECT GROUPING(category_id, priority, plan_id) AS grouping, category_id, priority, plan_id,
       COUNT(seconds) AS n,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) AS median,
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
FROM ({measured}) AS measured
GROUP BY GROUPING SETS ((category_id), (priority), (plan_id), ())
"""
_GROUPING_OF = {0b011: "category_id", 0b101: "priority", 0b110: "plan_id", 0b111: ""}
SPEED_GROUPINGS = {"category": "category_id", "priority": "priority", "plan": "plan_id"}


def _durations_by_group(scope: Scope, moment: str, seconds: str) -> dict[str, dict]:
    """Count, median and p90 of `seconds` over the tickets whose `moment` falls in the
    period: {"": overall, "category_id": {id: ...}, "priority": ..., "plan_id": ...}."""
    measured = (
        Ticket.objects.filter(scope.filters.tickets(), scope.in_period(moment))
        .annotate(plan_id=F("organization__plan"), seconds=F(seconds))
        .values("category_id", "priority", "plan_id", "seconds")
        .order_by()
    )
    sql, params = measured.query.sql_with_params()
    grouped: dict[str, dict] = {key: {} for key in _GROUPING_OF.values()}
    with connection.cursor() as cursor:
        cursor.execute(_GROUPINGS_SQL.format(measured=sql), params)
        for grouping, *keys, n, median, p90 in cursor.fetchall():
            by = _GROUPING_OF[grouping]
            key = dict(zip(("category_id", "priority", "plan_id"), keys, strict=True)).get(by)
            grouped[by][key] = Durations(n, _hours(median), _hours(p90))
    return grouped


def _previous_durations(scope: Scope, moment: str, seconds: str) -> Durations:
    totals = Ticket.objects.filter(scope.filters.tickets(), scope.in_previous(moment)).aggregate(
        n=Count(seconds),
        median=Percentile(seconds, 0.5),
        p90=Percentile(seconds, 0.9),
    )
    return Durations(totals["n"], _hours(totals["median"]), _hours(totals["p90"]))


def speed(scope: Scope, none_labels: dict[str, str] | None = None) -> Speed:
    """Median and p90 first-response and resolution times overall (this period and the
    previous one) and by category, priority and plan (this period). First responses
    are the tickets first answered in the period, resolutions those solved in it."""
    none_labels = none_labels or {}
    answered = _durations_by_group(scope, "first_agent_reply_at", "first_response_seconds")
    solved = _durations_by_group(scope, "solved_at", "resolution_seconds")
    none = Durations(0, None, None)
    # Labels and order: a handful of rows each.
    names = {
        "category_id": list(Category.objects.values_list("pk", "name")),
        "priority": [(value, str(label)) for value, label in Priority.choices],
        "plan_id": list(Plan.objects.order_by("rank").values_list("pk", "name")),
    }
    by = {}
    for grouping, key in (
        ("category", "category_id"),
        ("priority", "priority"),
        ("plan", "plan_id"),
    ):
        known = [*names[key], (None, none_labels.get(grouping, "—"))]
        by[grouping] = [
            SpeedRow(label, answered[key].get(value, none), solved[key].get(value, none))
            for value, label in known
            if value in answered[key] or value in solved[key]
        ]
    return Speed(
        overall=SpeedRow("", answered[""].get(None, none), solved[""].get(None, none)),
        previous=SpeedRow(
            "",
            _previous_durations(scope, "first_agent_reply_at", "first_response_seconds"),
            _previous_durations(scope, "solved_at", "resolution_seconds"),
        ),
        by=by,
    )


# -- SLA ----------------------------------------------------------------------------------


@dataclass
class Sla:
    buckets: list[date]
    trend: dict[str, list[sla_reports.Cell]]  # metric -> a cell per bucket
    per_metric: dict[str, tuple[sla_reports.Cell, sla_reports.Cell]]  # (current, previous)
    attainment: Compare  # every metric together, percent
    breached: Compare
    breaches: list  # the latest SLABreach rows of the period


def sla(scope: Scope, *, breaches_shown: int = 10) -> Sla:
    met, breached = Q(result=SLAOutcome.Result.MET), Q(result=SLAOutcome.Result.BREACHED)
    now, before = scope.in_period("due_at"), scope.in_previous("due_at")
    rows = (
        SLAOutcome.objects.filter(scope.filters.tickets("ticket__"))
        .filter(due_at__gte=scope.previous_start, due_at__lt=scope.end)
        .annotate(bucket=scope.period_bucket("due_at"))
        .values("bucket", "metric")
        .annotate(
            met=Count("due_at", filter=now & met),
            breached=Count("due_at", filter=now & breached),
            prev_met=Count("due_at", filter=before & met),
            prev_breached=Count("due_at", filter=before & breached),
        )
        .order_by()
    )
    buckets = scope.buckets()
    cells = {m: {} for m in Metric.values}
    totals = {m: (sla_reports.Cell(), sla_reports.Cell()) for m in Metric.values}
    for row in rows:
        current, previous = totals[row["metric"]]
        current.met += row["met"]
        current.breached += row["breached"]
        previous.met += row["prev_met"]
        previous.breached += row["prev_breached"]
        if row["bucket"] is not None:
            cells[row["metric"]][row["bucket"]] = sla_reports.Cell(row["met"], row["breached"])
    overall = sla_reports.Cell(
        sum(c.met for c, _p in totals.values()), sum(c.breached for c, _p in totals.values())
    )
    overall_before = sla_reports.Cell(
        sum(p.met for _c, p in totals.values()), sum(p.breached for _c, p in totals.values())
    )
    return Sla(
        buckets=buckets,
        trend={m: [cells[m].get(b, sla_reports.Cell()) for b in buckets] for m in Metric.values},
        per_metric=totals,
        attainment=Compare(overall.percent, overall_before.percent),
        breached=Compare(overall.breached, overall_before.breached),
        breaches=list(
            sla_reports.breaches(
                scope.start,
                scope.end,
                limit=breaches_shown,
                where=scope.filters.tickets("ticket__"),
            )
        ),
    )


# -- CSAT ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Satisfaction:
    rated: int
    satisfied: int
    rating_sum: int

    @property
    def percent_satisfied(self) -> float | None:
        return _percent(self.satisfied, self.rated)

    @property
    def average(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None


@dataclass(frozen=True)
class AgentSatisfaction:
    agent_id: int | None
    name: str
    current: Satisfaction
    previous: Satisfaction


@dataclass
class Csat:
    buckets: list[date]
    trend: list[Satisfaction]
    current: Satisfaction
    previous: Satisfaction
    by_agent: list[AgentSatisfaction]
    comments: list[CsatSurvey]

    @property
    def percent_satisfied(self) -> Compare:
        return Compare(self.current.percent_satisfied, self.previous.percent_satisfied)

    @property
    def average(self) -> Compare:
        return Compare(self.current.average, self.previous.average)


def _satisfaction_aggregates(scope: Scope) -> dict:
    aggregates = {}
    for prefix, window in (("", scope.in_period), ("prev_", scope.in_previous)):
        rated = window("rated_at")
        aggregates |= {
            f"{prefix}rated": Count("pk", filter=rated),
            f"{prefix}satisfied": Count("pk", filter=rated & Q(rating__gte=SATISFIED_RATING)),
            f"{prefix}rating_sum": Sum("rating", filter=rated, default=0),
        }
    return aggregates


def _satisfaction(row: dict, prefix: str = "") -> Satisfaction:
    return Satisfaction(
        row[f"{prefix}rated"], row[f"{prefix}satisfied"], row[f"{prefix}rating_sum"]
    )


def _rated(scope: Scope) -> QuerySet[CsatSurvey]:
    return CsatSurvey.objects.filter(scope.filters.csat()).filter(
        rating__isnull=False, rated_at__gte=scope.previous_start, rated_at__lt=scope.end
    )


def csat(scope: Scope, *, comments_shown: int = 10, no_agent: str = "—") -> Csat:
    buckets = scope.buckets()
    rows = list(
        _rated(scope)
        .annotate(bucket=scope.period_bucket("rated_at"))
        .values("bucket")
        .annotate(**_satisfaction_aggregates(scope))
        .order_by()
    )
    by_bucket = {row["bucket"]: _satisfaction(row) for row in rows if row["bucket"] is not None}
    agents = (
        _rated(scope)
        .values("agent", "agent__full_name", "agent__email")
        .annotate(**_satisfaction_aggregates(scope))
        .order_by("agent__full_name", "agent__email")
    )
    comments = (
        CsatSurvey.objects.filter(scope.filters.csat())
        .filter(scope.in_period("rated_at"), rating__isnull=False)
        .exclude(comment="")
        .select_related("ticket", "agent")
        .only(
            "ticket",
            "agent",
            "rating",
            "comment",
            "rated_at",
            "ticket__number",
            "ticket__subject",
            "agent__full_name",
            "agent__email",
        )
        .order_by("-rated_at", "-pk")[:comments_shown]
    )

    def total(prefix: str) -> Satisfaction:
        return Satisfaction(
            sum(r[f"{prefix}rated"] for r in rows),
            sum(r[f"{prefix}satisfied"] for r in rows),
            sum(r[f"{prefix}rating_sum"] for r in rows),
        )

    return Csat(
        buckets=buckets,
        trend=[by_bucket.get(b, Satisfaction(0, 0, 0)) for b in buckets],
        current=total(""),
        previous=total("prev_"),
        by_agent=[
            AgentSatisfaction(
                row["agent"],
                row["agent__full_name"] or row["agent__email"] or no_agent,
                _satisfaction(row),
                _satisfaction(row, "prev_"),
            )
            for row in agents
        ],
        comments=list(comments),
    )


# -- NPS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsCounts:
    responses: int
    promoters: int
    detractors: int

    @property
    def passives(self) -> int:
        return self.responses - self.promoters - self.detractors

    @property
    def score(self) -> float | None:
        """% promoters - % detractors, from -100 to 100 (None without answers)."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)


@dataclass(frozen=True)
class PlanNps:
    plan_id: int | None
    name: str
    current: NpsCounts
    previous: NpsCounts


@dataclass
class Nps:
    buckets: list[date]
    trend: list[NpsCounts]
    current: NpsCounts
    previous: NpsCounts
    by_plan: list[PlanNps]

    @property
    def score(self) -> Compare:
        return Compare(self.current.score, self.previous.score)


def _nps_aggregates(scope: Scope) -> dict:
    aggregates = {}
    for prefix, window in (("", scope.in_period), ("prev_", scope.in_previous)):
        answered = window("responded_at")
        aggregates |= {
            f"{prefix}responses": Count("pk", filter=answered),
            f"{prefix}promoters": Count("pk", filter=answered & Q(score__gte=PROMOTER_MIN)),
            f"{prefix}detractors": Count("pk", filter=answered & Q(score__lte=DETRACTOR_MAX)),
        }
    return aggregates


def _nps_counts(row: dict, prefix: str = "") -> NpsCounts:
    return NpsCounts(
        row[f"{prefix}responses"], row[f"{prefix}promoters"], row[f"{prefix}detractors"]
    )


def nps(scope: Scope, *, no_plan: str = "—") -> Nps:
    answers = NpsSurvey.objects.filter(scope.filters.nps()).filter(
        score__isnull=False, responded_at__gte=scope.previous_start, responded_at__lt=scope.end
    )
    rows = list(
        answers.annotate(bucket=scope.period_bucket("responded_at"))
        .values("bucket")
        .annotate(**_nps_aggregates(scope))
        .order_by()
    )
    plans = (
        answers.values("plan", "plan__name", "plan__rank")
        .annotate(**_nps_aggregates(scope))
        .order_by(F("plan__rank").asc(nulls_last=True))
    )
    buckets = scope.buckets()
    by_bucket = {row["bucket"]: _nps_counts(row) for row in rows if row["bucket"] is not None}

    def total(prefix: str) -> NpsCounts:
        keys = ("responses", "promoters", "detractors")
        return NpsCounts(*(sum(r[f"{prefix}{k}"] for r in rows) for k in keys))

    return Nps(
        buckets=buckets,
        trend=[by_bucket.get(b, NpsCounts(0, 0, 0)) for b in buckets],
        current=total(""),
        previous=total("prev_"),
        by_plan=[
            PlanNps(
                row["plan"],
                row["plan__name"] or no_plan,
                _nps_counts(row),
                _nps_counts(row, "prev_"),
            )
            for row in plans
        ],
    )


# -- knowledge base -----------------------------------------------------------------------


@dataclass(frozen=True)
class Votes:
    helpful: int
    not_helpful: int

    @property
    def percent_helpful(self) -> float | None:
        return _percent(self.helpful, self.helpful + self.not_helpful)


@dataclass(frozen=True)
class Deflections:
    opened: int  # suggested articles opened whose outcome is known
    filed: int  # ... followed by a request anyway

    @property
    def deflected(self) -> int:
        return self.opened - self.filed

    @property
    def rate(self) -> float | None:
        return deflection_rate(self.opened, self.filed)


@dataclass
class Knowledge:
    buckets: list[date]
    views: list[int]
    votes: list[Votes]
    deflections: list[Deflections]
    views_total: Compare
    votes_total: tuple[Votes, Votes]  # current, previous
    deflections_total: tuple[Deflections, Deflections]
    top_articles: list[dict]  # article, title, views
    failed_searches: list[dict]  # normalized, times, last

    @property
    def percent_helpful(self) -> Compare:
        current, previous = self.votes_total
        return Compare(current.percent_helpful, previous.percent_helpful)

    @property
    def deflection_rate(self) -> Compare:
        current, previous = self.deflections_total
        return Compare(current.rate, previous.rate)


def knowledge(scope: Scope, *, top: int = 10) -> Knowledge:
    period, previous = scope.period, scope.period.previous
    this_period = Q(day__gte=period.start, day__lte=period.end)
    view_rows = list(
        ArticleViewDay.objects.filter(day__gte=previous.start, day__lte=period.end)
        .annotate(bucket=scope.period_bucket("day", is_date=True))
        .values("bucket")
        .annotate(
            views_sum=Sum("views", filter=this_period, default=0),
            prev_views=Sum("views", filter=Q(day__lte=previous.end), default=0),
        )
        .order_by()
    )
    top_articles = list(
        ArticleViewDay.objects.filter(this_period)
        .values("article", "article__title")
        .annotate(views_sum=Sum("views"))
        .order_by("-views_sum", "article__title")[:top]
    )
    now, before = scope.in_period("updated_at"), scope.in_previous("updated_at")
    vote_rows = list(
        ArticleVote.objects.filter(updated_at__gte=scope.previous_start, updated_at__lt=scope.end)
        .annotate(bucket=scope.period_bucket("updated_at"))
        .values("bucket")
        .annotate(
            # Not named `helpful`: the filters below must read the column, not an annotation.
            yes=Count("pk", filter=now & Q(helpful=True)),
            no=Count("pk", filter=now & Q(helpful=False)),
            prev_yes=Count("pk", filter=before & Q(helpful=True)),
            prev_no=Count("pk", filter=before & Q(helpful=False)),
        )
        .order_by()
    )
    now, before = scope.in_period("opened_at"), scope.in_previous("opened_at")
    filed = Q(ticket__isnull=False)
    deflection_rows = list(
        settled_deflections(scope.now)
        .filter(opened_at__gte=scope.previous_start, opened_at__lt=scope.end)
        .annotate(bucket=scope.period_bucket("opened_at"))
        .values("bucket")
        .annotate(
            opened=Count("pk", filter=now),
            filed=Count("pk", filter=now & filed),
            prev_opened=Count("pk", filter=before),
            prev_filed=Count("pk", filter=before & filed),
        )
        .order_by()
    )
    buckets = scope.buckets()
    views = {r["bucket"]: r["views_sum"] for r in view_rows if r["bucket"] is not None}
    votes = {r["bucket"]: Votes(r["yes"], r["no"]) for r in vote_rows if r["bucket"] is not None}
    deflections = {
        r["bucket"]: Deflections(r["opened"], r["filed"])
        for r in deflection_rows
        if r["bucket"] is not None
    }

    def total(rows, *keys):
        return [sum(r[k] for r in rows) for k in keys]

    return Knowledge(
        buckets=buckets,
        views=_series(views, buckets),
        votes=[votes.get(b, Votes(0, 0)) for b in buckets],
        deflections=[deflections.get(b, Deflections(0, 0)) for b in buckets],
        views_total=Compare(*total(view_rows, "views_sum", "prev_views")),
        votes_total=(
            Votes(*total(vote_rows, "yes", "no")),
            Votes(*total(vote_rows, "prev_yes", "prev_no")),
        ),
        deflections_total=(
            Deflections(*total(deflection_rows, "opened", "filed")),
            Deflections(*total(deflection_rows, "prev_opened", "prev_filed")),
        ),
        top_articles=[
            {"article": r["article"], "title": r["article__title"], "views": r["views_sum"]}
            for r in top_articles
        ],
        failed_searches=failed_searches(start=scope.start, end=scope.end, limit=top),
    )
