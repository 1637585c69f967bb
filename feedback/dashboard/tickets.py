"""Figures over tickets: volume (created, solved, backlog, channels), speed
(first-response and resolution times) and SLA attainment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, F, FilteredRelation, Q

from feedback.dashboard import from_rollups
from feedback.dashboard.base import (
    CURRENT,
    LATER,
    PREVIOUS,
    Compare,
    Scope,
    in_hours,
    per_bucket,
)
from helpdesk.localized import localized_name
from plans.models import Plan
from sla import reports as sla_reports
from sla.models import Metric, SLAOutcome
from tickets.models import Category, Priority, Ticket

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


def _counts_by_slot(scope: Scope, column: str, *, by_channel: bool = False) -> list[dict]:
    """Tickets per slot (Scope.slot: previous period, bucket, after the period) of
    `column`, and per channel if asked, from one grouped query."""
    return list(
        Ticket.objects.filter(scope.filters.tickets())
        .filter(**{f"{column}__gte": scope.previous_start})
        .annotate(slot=scope.slot(column))
        .values("slot", *(["channel"] if by_channel else []))
        # Counting the indexed column, not the key: an index-only scan can answer.
        .annotate(n=Count(column))
        .order_by()
    )


def volume(scope: Scope) -> Volume:
    buckets, slots = scope.buckets(), scope.slots()
    if from_rollups.answers(scope):
        created_rows, solved_rows, unsolved_now = from_rollups.volume_rows(scope)
    else:
        created_rows = _counts_by_slot(scope, "created_at", by_channel=True)
        solved_rows = _counts_by_slot(scope, "solved_at")
        unsolved_now = Ticket.objects.filter(
            scope.filters.tickets(), solved_at__isnull=True
        ).count()

    def tally(rows):
        """Per bucket, and in all for the period (CURRENT), the previous one and later."""
        counts = {CURRENT: 0, PREVIOUS: 0, LATER: 0}
        for row in rows:
            at = slots[row["slot"]]
            counts[at] = counts.get(at, 0) + row["n"]
            if at not in (PREVIOUS, LATER):
                counts[CURRENT] += row["n"]
        return counts

    created, solved = tally(created_rows), tally(solved_rows)
    by_channel: dict[str, dict] = {}
    for row in created_rows:
        by_channel.setdefault(row["channel"], {})
    for channel in by_channel:
        by_channel[channel] = tally(r for r in created_rows if r["channel"] == channel)

    # backlog(t) = unsolved now - created in [t, now) + solved in [t, now)
    backlog_at_end = unsolved_now - created[LATER] + solved[LATER]
    backlog_at_start = backlog_at_end - created[CURRENT] + solved[CURRENT]
    created_series, solved_series = per_bucket(created, buckets), per_bucket(solved, buckets)
    backlog, running = [], backlog_at_start
    for c, s in zip(created_series, solved_series, strict=True):
        running += c - s
        backlog.append(running)
    channels = sorted(by_channel)
    return Volume(
        buckets=buckets,
        created=created_series,
        solved=solved_series,
        backlog=backlog,
        by_channel={c: per_bucket(by_channel[c], buckets) for c in channels},
        channel_totals={
            c: Compare(by_channel[c][CURRENT], by_channel[c][PREVIOUS]) for c in channels
        },
        created_total=Compare(created[CURRENT], created[PREVIOUS]),
        solved_total=Compare(solved[CURRENT], solved[PREVIOUS]),
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


# Both clocks' figures from one statement: for each clock, the period's tickets
# grouped every way at once (PostgreSQL's GROUPING SETS, which the ORM cannot
# express) and the previous period's overall figures, around subqueries the ORM
# builds (so the tenant's scope and the filters apply as everywhere else).
# GROUPING() tells the sets apart: a bit for each of category, priority and plan that
# a row is not grouped by; the previous period's rows say PREVIOUS_GROUPING.
_GROUPINGS_SQL = """
SELECT {clock} AS clock, GROUPING(category_id, priority, plan_id) AS grouping,
       category_id, priority, plan_id,
       COUNT(seconds) AS n,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) AS median,
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
FROM ({measured}) AS measured
GROUP BY GROUPING SETS ((category_id), (priority), (plan_id), ())
"""
_PREVIOUS_SQL = """
SELECT {clock} AS clock, {grouping} AS grouping, NULL, NULL, NULL,
       COUNT(seconds) AS n,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) AS median,
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
FROM ({measured}) AS measured
"""
PREVIOUS_GROUPING = -1
_GROUPING_OF = {0b011: "category_id", 0b101: "priority", 0b110: "plan_id", 0b111: ""}
SPEED_GROUPINGS = {"category": "category_id", "priority": "priority", "plan": "plan_id"}
# clock -> (when it is measured, the business seconds it took)
_CLOCKS = {
    "first_response": ("first_agent_reply_at", "first_response_seconds"),
    "resolution": ("solved_at", "resolution_seconds"),
}


def _durations(scope: Scope) -> dict[str, dict[str, dict]]:
    """Per clock, the count, median and p90 of its business seconds over the tickets
    whose moment falls in the period: {"": overall, "category_id": {id: ...},
    "priority": ..., "plan_id": ..., "previous": {None: the previous period's}}."""
    selects, params = [], []
    for index, (moment, seconds) in enumerate(_CLOCKS.values()):
        measured = (
            Ticket.objects.filter(scope.filters.tickets(), scope.in_period(moment))
            # Joined on the ticket's desk too, so PostgreSQL reads just this desk's
            # organizations for the plan, not every desk's (all of them hashed, before).
            .alias(
                desk_organization=FilteredRelation(
                    "organization", condition=Q(organization__tenant=F("tenant"))
                )
            )
            .annotate(plan_id=F("desk_organization__plan"), seconds=F(seconds))
            .values("category_id", "priority", "plan_id", "seconds")
            .order_by()
        )
        before = (
            Ticket.objects.filter(scope.filters.tickets(), scope.in_previous(moment))
            .annotate(seconds=F(seconds))
            .values("seconds")
            .order_by()
        )
        for template, queryset in ((_GROUPINGS_SQL, measured), (_PREVIOUS_SQL, before)):
            sql, query_params = queryset.query.sql_with_params()
            # Integers of ours, never input: safe to put in the SQL as text.
            selects.append(template.format(clock=index, grouping=PREVIOUS_GROUPING, measured=sql))
            params += query_params
    clocks = list(_CLOCKS)
    grouped = {clock: {key: {} for key in [*_GROUPING_OF.values(), PREVIOUS]} for clock in clocks}
    with connection.cursor() as cursor:
        cursor.execute("\nUNION ALL\n".join(f"({select})" for select in selects), params)
        for clock, grouping, *keys, n, median, p90 in cursor.fetchall():
            by = PREVIOUS if grouping == PREVIOUS_GROUPING else _GROUPING_OF[grouping]
            key = dict(zip(("category_id", "priority", "plan_id"), keys, strict=True)).get(by)
            grouped[clocks[clock]][by][key] = Durations(n, in_hours(median), in_hours(p90))
    return grouped


def speed(scope: Scope, none_labels: dict[str, str] | None = None) -> Speed:
    """Median and p90 first-response and resolution times overall (this period and the
    previous one) and by category, priority and plan (this period). First responses
    are the tickets first answered in the period, resolutions those solved in it."""
    none_labels = none_labels or {}
    durations = from_rollups.durations(scope) if from_rollups.answers(scope) else _durations(scope)
    answered, solved = durations["first_response"], durations["resolution"]
    none = Durations(0, None, None)
    # Labels and order: a handful of rows each, from the desk's cached lists if given.
    lists = scope.lists or {
        "category": [
            (pk, localized_name(name, name_zh_hans))
            for pk, name, name_zh_hans in Category.objects.values_list("pk", "name", "name_zh_hans")
        ],
        "plan": list(Plan.objects.order_by("rank").values_list("pk", "name")),
    }
    names = {
        "category_id": lists["category"],
        "priority": [(value, str(label)) for value, label in Priority.choices],
        "plan_id": lists["plan"],
    }
    by = {}
    for grouping, key in (
        ("category", "category_id"),
        ("priority", "priority"),
        ("plan", "plan_id"),
    ):
        known = [*names[key], (None, none_labels.get(grouping, "—"))]
        rows = [
            SpeedRow(label, answered[key].get(value, none), solved[key].get(value, none))
            for value, label in known
        ]
        # A group shows when one of its tickets was measured (a ticket answered before
        # times were kept has no first-response time).
        by[grouping] = [r for r in rows if r.first_response.count or r.resolution.count]
    return Speed(
        overall=SpeedRow("", answered[""].get(None, none), solved[""].get(None, none)),
        previous=SpeedRow("", answered[PREVIOUS][None], solved[PREVIOUS][None]),
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


def _sla_rows(scope: Scope):
    return (
        SLAOutcome.objects.filter(scope.filters.tickets("ticket__"))
        .filter(due_at__gte=scope.previous_start, due_at__lt=scope.end)
        .annotate(slot=scope.slot("due_at"))
        .values("slot", "metric", "result")
        .annotate(n=Count("due_at"))
        .order_by()
    )


def sla(scope: Scope, *, breaches_shown: int = 10) -> Sla:
    rows = from_rollups.sla_rows(scope) if from_rollups.answers(scope) else _sla_rows(scope)
    buckets, slots = scope.buckets(), scope.slots()
    cells = {m: {} for m in Metric.values}
    totals = {m: (sla_reports.Cell(), sla_reports.Cell()) for m in Metric.values}
    for row in rows:
        at = slots[row["slot"]]
        current, previous = totals[row["metric"]]
        counted = (
            [previous]
            if at == PREVIOUS
            else [current, cells[row["metric"]].setdefault(at, sla_reports.Cell())]
        )
        for cell in counted:
            if row["result"] == SLAOutcome.Result.MET:
                cell.met += row["n"]
            elif row["result"] == SLAOutcome.Result.BREACHED:
                cell.breached += row["n"]
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
