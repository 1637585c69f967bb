"""What the dashboards are asked (a period, its buckets, the filters, the desk's time
zone) and what every figure shares: the previous-period comparison, the percentile
aggregate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    Aggregate,
    DateField,
    DateTimeField,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from sla import reports as sla_reports

DAY = "day"
WEEK = "week"
DAILY_UP_TO_DAYS = 31  # longer ranges are shown by week unless asked otherwise
MAX_DAYS = 366


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


class WidthBucket(Func):
    """PostgreSQL's `width_bucket(value, thresholds)`: 0 before the first threshold, i
    from thresholds[i - 1] up to thresholds[i], len(thresholds) from the last one on.
    A binary search per row: far cheaper than converting every timestamp to the
    desk's time zone and truncating it."""

    function = "WIDTH_BUCKET"
    arity = 2
    output_field = IntegerField()


# Where a row falls (Scope.slot): the previous period, a bucket of the period (its
# first day), or after the period.
PREVIOUS = "previous"
LATER = "later"
CURRENT = "current"  # the whole period, in totals


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
    # The desk's categories and plans as (pk, name), in their order, from its cached
    # lists (tickets.selectors.desk_lists) when the caller has them; else read.
    lists: dict[str, list[tuple]] | None = field(default=None, compare=False)

    @classmethod
    def make(
        cls,
        period: Period,
        bucket: str = "",
        filters: Filters | None = None,
        lists: dict[str, list[tuple]] | None = None,
    ) -> Scope:
        return cls(
            period=period,
            bucket=bucket or (DAY if period.days <= DAILY_UP_TO_DAYS else WEEK),
            filters=filters or Filters(),
            tz=timezone.get_current_timezone(),
            now=timezone.now(),
            lists=lists,
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

    def in_period(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start, f"{field_name}__lt": self.end})

    def in_previous(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.previous_start, f"{field_name}__lt": self.start})

    def slot(self, field_name: str, *, is_date: bool = False) -> WidthBucket:
        """SQL numbering the part of the time a timestamp or date column falls in: 1
        for the previous period, 2 + i for the period's i-th bucket, one more after the
        period (0 before the previous period); `slots()` names them. The buckets' edges
        are the desk's midnights, computed here, so PostgreSQL only compares."""
        buckets = self.buckets()
        if is_date:
            edges = [
                self.period.previous.start,
                self.period.start,
                *buckets[1:],
                self.period.end + timedelta(days=1),
            ]
            kind = DateField()
        else:
            edges = [
                self.previous_start,
                self.start,
                *(Period(b, b).bounds(self.tz)[0] for b in buckets[1:]),
                self.end,
            ]
            kind = DateTimeField()
        return WidthBucket(F(field_name), Cast(Value(edges), ArrayField(kind)))

    def slots(self) -> dict[int, date | str]:
        """What each number `slot()` gives stands for: PREVIOUS, a bucket's first day,
        or LATER."""
        buckets = self.buckets()
        return {
            1: PREVIOUS,
            **{i + 2: bucket for i, bucket in enumerate(buckets)},
            len(buckets) + 2: LATER,
        }


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


def percent_of(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def in_hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def per_bucket(rows: dict, buckets: list[date], default=0) -> list:
    return [rows.get(b, default) for b in buckets]
