"""The ticket figures (volume, speed, SLA) read from the desk-day rollups
(feedback/rollups.py) instead of the tickets: what tickets.py computes, in the same
shapes, at a cost of days x groupings whatever the number of tickets.

Rollups hold every grouping a dashboard with at most one filter needs; with more
filters, `answers()` is False and tickets.py counts the tickets themselves.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db import connection
from django.db.models import Sum

from feedback import rollups
from feedback.dashboard.base import PREVIOUS, Scope, in_hours
from feedback.models import DayRollup, RollupStale
from helpdesk.tenancy import current_tenant

# Filters (base.Filters) -> the rollups' dimension.
_FILTERED = {
    "plan": "plan_id",
    "category": "category_id",
    "priority": "priority",
    "agent": "agent_id",
}


def _filter(scope: Scope) -> dict[str, int]:
    return {
        column: getattr(scope.filters, name)
        for name, column in _FILTERED.items()
        if getattr(scope.filters, name) is not None
    }


def answers(scope: Scope) -> bool:
    """Whether the rollups hold this scope's figures: at most one filter, days in the
    desk's time zone, and no rebuild of every day pending (after a change of the
    desk's time zone, until the worker is done, the tickets are counted instead)."""
    desk = current_tenant()
    return (
        desk is not None
        and len(_filter(scope)) <= 1
        and str(scope.tz) == desk.time_zone
        and not RollupStale.objects.filter(day=None).exists()
    )


def _rows(scope: Scope, *by: str):
    """The rollup rows of the filtered tickets, grouped by `by` as well."""
    narrowed = _filter(scope)
    return DayRollup.objects.filter(
        grouping=rollups.grouping_of([*narrowed, *by]), **narrowed
    ).order_by()


def volume_rows(scope: Scope) -> tuple[list[dict], list[dict], int]:
    """(created per slot and channel, solved per slot, unsolved now), as tickets.py's
    queries give them."""
    since = scope.period.previous.start
    by_channel = list(
        _rows(scope, "channel")
        .filter(day__gte=since)
        .annotate(slot=scope.slot("day", is_date=True))
        .values("slot", "channel")
        .annotate(n=Sum("created"))
    )
    unsolved = _rows(scope).aggregate(n=Sum("unsolved"))["n"] or 0
    solved = list(
        _rows(scope)
        .filter(day__gte=since, solved__gt=0)
        .annotate(slot=scope.slot("day", is_date=True))
        .values("slot")
        .annotate(n=Sum("solved"))
    )
    return by_channel, solved, unsolved


def _spans(start: date, end: date) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """A range of days as the week rollups cover it: (the runs of days at its edges, read
    by day; the Mondays of its whole weeks, first and last, or None)."""
    first = rollups.monday(start + timedelta(days=6))  # the first Monday on or after start
    last = rollups.monday(end + timedelta(days=1)) - timedelta(days=7)  # of the last whole week
    if first > last:
        return [(start, end)], None
    edges = [(start, first - timedelta(days=1)), (last + timedelta(days=7), end)]
    return [(a, b) for a, b in edges if a <= b], (first, last)


def _histogram_rows(scope: Scope, wanted: list[int], overall: int, narrowed: dict) -> list:
    """(date, grouping, category_id, priority, plan_id, first responses, resolutions) of
    the wanted groupings over the period, and of the overall one over the previous
    period: whole weeks from the week rollups, the days around them from the days'."""
    selects, params = [], {"tenant": current_tenant().pk, "wanted": wanted, "overall": overall}
    # Column names from _FILTERED, values as parameters.
    where = "".join(f" AND {column} = %(narrowed_{column})s" for column in narrowed)
    params.update({f"narrowed_{column}": value for column, value in narrowed.items()})
    for name, period, groupings in (
        ("current", scope.period, "grouping = ANY(%(wanted)s)"),
        ("previous", scope.period.previous, "grouping = %(overall)s"),
    ):
        days, weeks = _spans(period.start, period.end)
        for i, (first, last) in enumerate(days):
            params[f"{name}_day_{i}"], params[f"{name}_day_{i}_end"] = first, last
            selects.append(
                "SELECT day, grouping, category_id, priority, plan_id, first_responses::text, "  # noqa: S608
                f"resolutions::text FROM feedback_dayrollup WHERE tenant_id = %(tenant)s{where} "
                f"AND {groupings} AND day BETWEEN %({name}_day_{i})s AND %({name}_day_{i}_end)s"
            )
        if weeks:
            params[f"{name}_weeks"], params[f"{name}_weeks_end"] = weeks
            selects.append(
                "SELECT week, grouping, category_id, priority, plan_id, first_responses::text, "  # noqa: S608
                f"resolutions::text FROM feedback_weekrollup WHERE tenant_id = %(tenant)s{where} "
                f"AND {groupings} AND week BETWEEN %({name}_weeks)s AND %({name}_weeks_end)s"
            )
    with connection.cursor() as cursor:
        cursor.execute("\nUNION ALL\n".join(selects), params)
        return cursor.fetchall()


def durations(scope: Scope) -> dict[str, dict[str, dict]]:
    """Per clock, Durations overall, by category, priority and plan, and the previous
    period's overall ({PREVIOUS: {None: ...}}), as tickets._durations gives them;
    percentiles from the merged histograms (within rollups.RELATIVE_ERROR)."""
    from feedback.dashboard.tickets import Durations

    narrowed = _filter(scope)
    overall = rollups.grouping_of(narrowed)
    breakdowns = {
        rollups.grouping_of([*narrowed, column]): column
        for column in ("category_id", "priority", "plan_id")
    }
    period = scope.period
    rows = _histogram_rows(scope, [overall, *breakdowns], overall, narrowed)
    histograms = {"first_response": defaultdict(list), "resolution": defaultdict(list)}
    for day, grouping, category_id, priority, plan_id, first_responses, resolutions in rows:
        keys = []
        if day < period.start:
            keys.append((PREVIOUS, None))
        else:
            if grouping == overall:
                keys.append(("", None))
            if grouping in breakdowns:
                column = breakdowns[grouping]
                value = {"category_id": category_id, "priority": priority, "plan_id": plan_id}
                keys.append((column, value[column]))
        for key in keys:
            histograms["first_response"][key].append(first_responses)
            histograms["resolution"][key].append(resolutions)
    # The previous period always has its row, as an aggregate without GROUP BY does.
    grouped = {
        clock: {"": {}, **{by: {} for by in breakdowns.values()},
                PREVIOUS: {None: Durations(0, None, None)}}
        for clock in histograms
    }  # fmt: skip
    for clock, by_key in histograms.items():
        for (by, value), parts in by_key.items():
            histogram = rollups.merged(parts)
            count = sum(n for _bucket, n in histogram)
            if count:
                grouped[clock][by][value] = Durations(
                    count,
                    in_hours(rollups.percentile(histogram, 0.5)),
                    in_hours(rollups.percentile(histogram, 0.9)),
                )
    return grouped


def sla_rows(scope: Scope) -> list[dict]:
    """SLA outcomes per slot, metric and result, as tickets.sla's query gives them."""
    counts: dict[tuple, int] = defaultdict(int)
    rows = (
        _rows(scope)
        .filter(day__gte=scope.period.previous.start, day__lte=scope.period.end)
        .exclude(sla={})
        .annotate(slot=scope.slot("day", is_date=True))
        .values_list("slot", "sla")
    )
    for slot, outcomes in rows:
        for key, n in outcomes.items():
            metric, result = key.split(":", 1)
            counts[slot, metric, result] += n
    return [
        {"slot": slot, "metric": metric, "result": result, "n": n}
        for (slot, metric, result), n in counts.items()
    ]


def csat_rows(scope: Scope) -> list[dict]:
    """CSAT ratings per slot and agent (who solved the ticket), with the agent's name,
    in the order of their names, as surveys.csat's query gives them."""
    from helpdesk.models import User

    rows = list(
        _rows(scope, "agent_id")
        .filter(day__gte=scope.period.previous.start, day__lte=scope.period.end, rated__gt=0)
        .annotate(slot=scope.slot("day", is_date=True))
        .values("slot", "agent_id")
        .annotate(rated=Sum("rated"), satisfied=Sum("satisfied"), rating_sum=Sum("rating_sum"))
    )
    names = {
        pk: (full_name, email)
        for pk, full_name, email in User.objects.filter(
            pk__in={row["agent_id"] for row in rows} - {None}
        ).values_list("pk", "full_name", "email")
    }
    for row in rows:
        row["agent"] = row.pop("agent_id")
        row["agent_name"], row["agent_email"] = names.get(row["agent"], (None, None))
    # As ORDER BY agent_name, agent_email, agent would: NULLs last.
    return sorted(
        rows,
        key=lambda r: (
            r["agent_name"] is None, r["agent_name"] or "",
            r["agent_email"] is None, r["agent_email"] or "",
            r["agent"] is None, r["agent"] or 0,
        ),
    )  # fmt: skip
