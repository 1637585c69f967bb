"""Dashboard rollups: each desk-day's ticket figures per grouping, so a dashboard costs
what it shows (days x groupings), not the tickets behind it.

`DayRollup` rows are derived data, rebuilt from the tickets by one SQL statement per
run of days (`refresh`, `rebuild_desk`): exactly the counts the dashboards computed
from the tickets, and the business times as histograms, also added up per week
(`WeekRollup`). Which days are stale is recorded by database triggers in the writing
transaction (`RollupStale`, migration 0006), whatever wrote; `refresh` (beat, every
minute) rebuilds them, so a figure is at most about a minute old. Rebuilding a day is
idempotent: a worker killed halfway loses nothing (its transaction rolls back and the
rows stay stale).

Groupings: none, each of plan, category, priority, channel and agent alone, and the
pairs a dashboard with one filter needs (the filter's dimension with each breakdown).
A dashboard narrowed by two filters or more is computed from the tickets instead.

Percentiles: a histogram of business seconds per row with logarithmic buckets (the
idea of DDSketch, Masson et al. 2019): a value s >= 1 falls in bucket
ceil(log_GAMMA(s)) + 1, and a bucket stands for 2 GAMMA^k / (GAMMA + 1), within
RELATIVE_ERROR of every value in it; 0 has a bucket of its own. Histograms merge by
adding counts, so a period's percentile is read from its days' rows, and is within
RELATIVE_ERROR (5%) of the exact interpolated percentile (PostgreSQL's
percentile_cont) that the tickets give. Counts are exact.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from django.db import connection, transaction

from feedback.models import SATISFIED_RATING
from helpdesk.models import Tenant

RELATIVE_ERROR = 0.05
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
MAX_BUCKET = 200  # GAMMA ** 199 is about 6 years of seconds; longer counts as that

# The dimensions, in the order of PostgreSQL's GROUPING() bits (first = highest bit):
# a bit is set when the row is NOT grouped by that dimension.
DIMENSIONS = ("plan_id", "category_id", "priority", "channel", "agent_id")
FILTERABLE = ("plan_id", "category_id", "priority", "agent_id")
BREAKDOWNS = ("plan_id", "category_id", "priority", "channel")


def grouping_of(dimensions: Iterable[str]) -> int:
    """The `grouping` number of rows grouped by `dimensions` (as GROUPING() says it)."""
    grouped = set(dimensions)
    return sum(
        1 << (len(DIMENSIONS) - 1 - i) for i, name in enumerate(DIMENSIONS) if name not in grouped
    )


def _grouping_sets() -> list[tuple[str, ...]]:
    sets: list[tuple[str, ...]] = [(), *((d,) for d in DIMENSIONS)]
    for first in FILTERABLE:
        for second in BREAKDOWNS:
            pair = tuple(sorted({first, second}, key=DIMENSIONS.index))
            if len(pair) == 2 and pair not in sets:
                sets.append(pair)
    return sets


GROUPINGS = _grouping_sets()


# -- histograms ---------------------------------------------------------------------------


def bucket_sql(seconds: str) -> str:
    """SQL of the histogram bucket of a number of seconds (bucket_of, in PostgreSQL)."""
    return (
        f"CASE WHEN {seconds} < 1 THEN 0 ELSE "
        f"LEAST(CEIL(LN({seconds}) / LN({GAMMA!r}) - 1e-9)::int + 1, {MAX_BUCKET - 1}) END"
    )


def bucket_value(bucket: int) -> float:
    """The seconds a bucket stands for: within RELATIVE_ERROR of each value in it."""
    if bucket == 0:
        return 0.0
    return 2 * GAMMA ** (bucket - 1) / (GAMMA + 1)


def merged(histograms: Iterable[str]) -> list[tuple[int, int]]:
    """Histograms as stored ({bucket: count} JSON texts) added up: (bucket, count) in
    bucket order. The texts are decoded as one JSON array: one call, not one each."""
    total: dict[str, int] = defaultdict(int)
    for histogram in json.loads(f"[{','.join(histograms)}]"):
        for bucket, count in histogram.items():
            total[bucket] += count
    return sorted((int(bucket), count) for bucket, count in total.items())


def percentile(histogram: Sequence[tuple[int, int]], fraction: float) -> float | None:
    """The `fraction` percentile as percentile_cont computes it (interpolating between
    the neighbouring order statistics), each taken as its bucket's value."""
    total = sum(count for _bucket, count in histogram)
    if not total:
        return None
    rank = fraction * (total - 1)
    low, high = math.floor(rank), math.ceil(rank)

    def value_at(index: int) -> float:
        seen = 0
        for bucket, count in histogram:
            seen += count
            if seen > index:
                return bucket_value(bucket)
        raise AssertionError("rank beyond the histogram")

    low_value = value_at(low)
    high_value = low_value if high == low else value_at(high)
    return low_value + (rank - low) * (high_value - low_value)


# -- rebuilding ---------------------------------------------------------------------------

# Every event a day's figures count, as (local day, kind, histogram bucket, dimensions),
# for the desk's tickets (their SLA outcomes and CSAT ratings) that touch the days
# being rebuilt;
# then counted per grouping set; then one row per day and grouping.
_DIMENSIONS_OF_TICKET = (
    "org.plan_id, t.category_id, t.priority, t.channel, t.assignee_id AS agent_id"
)
_REBUILD_SQL = """
WITH ticket AS (
    SELECT t.created_at, t.solved_at, t.first_agent_reply_at,
           t.first_response_seconds, t.resolution_seconds, {dimensions}
    FROM tickets_ticket t
    LEFT JOIN plans_organization org ON org.id = t.organization_id AND org.tenant_id = t.tenant_id
    WHERE t.tenant_id = %(tenant)s AND ({ticket_window})
),
event AS (
    SELECT created_at AS at, 'created' AS kind, NULL::int AS bucket,
           plan_id, category_id, priority, channel, agent_id FROM ticket
    UNION ALL
    SELECT created_at, 'unsolved', NULL, plan_id, category_id, priority, channel, agent_id
    FROM ticket WHERE solved_at IS NULL
    UNION ALL
    SELECT solved_at, 'solved', NULL, plan_id, category_id, priority, channel, agent_id
    FROM ticket WHERE solved_at IS NOT NULL
    UNION ALL
    SELECT solved_at, 'resolution', {resolution_bucket},
           plan_id, category_id, priority, channel, agent_id
    FROM ticket WHERE solved_at IS NOT NULL AND resolution_seconds IS NOT NULL
    UNION ALL
    SELECT first_agent_reply_at, 'first_response', {first_response_bucket},
           plan_id, category_id, priority, channel, agent_id
    FROM ticket WHERE first_agent_reply_at IS NOT NULL AND first_response_seconds IS NOT NULL
    UNION ALL
    SELECT o.due_at, o.metric || ':' || o.result, NULL, {dimensions}
    FROM sla_slaoutcome o
    JOIN tickets_ticket t ON t.id = o.ticket_id
    LEFT JOIN plans_organization org ON org.id = t.organization_id AND org.tenant_id = t.tenant_id
    WHERE o.tenant_id = %(tenant)s AND ({outcome_window})
    UNION ALL
    -- A rating's "agent" is the survey's (who solved the ticket); the rating in `bucket`.
    SELECT s.rated_at, 'csat', s.rating,
           org.plan_id, t.category_id, t.priority, t.channel, s.agent_id
    FROM feedback_csatsurvey s
    JOIN tickets_ticket t ON t.id = s.ticket_id
    LEFT JOIN plans_organization org ON org.id = t.organization_id AND org.tenant_id = t.tenant_id
    WHERE s.tenant_id = %(tenant)s AND s.rating IS NOT NULL AND ({rating_window})
),
counted AS (
    SELECT (at AT TIME ZONE %(zone)s)::date AS day, kind, bucket,
           GROUPING(plan_id, category_id, priority, channel, agent_id) AS grouping,
           plan_id, category_id, priority, channel, agent_id, COUNT(*) AS n
    FROM event
    WHERE {day_window}
    GROUP BY (at AT TIME ZONE %(zone)s)::date, kind, bucket, GROUPING SETS ({grouping_sets})
),
day_row AS (
    SELECT day, grouping, plan_id, category_id, priority, channel, agent_id,
           COALESCE(SUM(n) FILTER (WHERE kind = 'created'), 0) AS created,
           COALESCE(SUM(n) FILTER (WHERE kind = 'solved'), 0) AS solved,
           COALESCE(SUM(n) FILTER (WHERE kind = 'unsolved'), 0) AS unsolved,
           jsonb_object_agg(bucket, n) FILTER (WHERE kind = 'first_response') AS first_responses,
           jsonb_object_agg(bucket, n) FILTER (WHERE kind = 'resolution') AS resolutions,
           jsonb_object_agg(kind, n) FILTER (WHERE kind LIKE '%%:%%') AS sla,
           COALESCE(SUM(n) FILTER (WHERE kind = 'csat'), 0) AS rated,
           COALESCE(SUM(n) FILTER (WHERE kind = 'csat' AND bucket >= {satisfied}), 0)
               AS satisfied,
           COALESCE(SUM(n * bucket) FILTER (WHERE kind = 'csat'), 0) AS rating_sum
    FROM counted
    GROUP BY day, grouping, plan_id, category_id, priority, channel, agent_id
)
INSERT INTO feedback_dayrollup
    (tenant_id, day, grouping, plan_id, category_id, priority, channel, agent_id,
     created, solved, unsolved, first_responses, resolutions, sla,
     rated, satisfied, rating_sum)
SELECT %(tenant)s, day, grouping, plan_id, category_id, priority, channel, agent_id,
       created, solved, unsolved, COALESCE(first_responses, '{{}}'::jsonb),
       COALESCE(resolutions, '{{}}'::jsonb), COALESCE(sla, '{{}}'::jsonb),
       rated, satisfied, rating_sum
FROM day_row
"""


def _rebuild_sql(*, windowed: bool) -> str:
    def window(*columns: str) -> str:
        if not windowed:
            return "TRUE"
        return " OR ".join(f"({c} >= %(start)s AND {c} < %(end)s)" for c in columns)

    return _REBUILD_SQL.format(
        dimensions=_DIMENSIONS_OF_TICKET,
        ticket_window=window("t.created_at", "t.solved_at", "t.first_agent_reply_at"),
        outcome_window=window("o.due_at"),
        rating_window=window("s.rated_at"),
        satisfied=SATISFIED_RATING,
        day_window="(at AT TIME ZONE %(zone)s)::date BETWEEN %(first)s AND %(last)s"
        if windowed
        else "at IS NOT NULL",
        grouping_sets=", ".join(f"({', '.join(s)})" for s in GROUPINGS),
        resolution_bucket=bucket_sql("resolution_seconds"),
        first_response_bucket=bucket_sql("first_response_seconds"),
    )


def _runs(days: Iterable[date], step: int = 1) -> list[tuple[date, date]]:
    """Consecutive days (`step` apart) as (first, last) runs: each rebuilt by one
    statement."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == timedelta(days=step):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def _lock_desk(cursor, tenant: Tenant) -> None:
    """One rebuild of a desk at a time (two would each delete, then both insert)."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('feedback.rollups'), %s)", [tenant.pk])


# A week's histograms: its days' added up, per grouping.
_WEEKS_SQL = """
WITH entry AS (
    SELECT (day - (EXTRACT(ISODOW FROM day)::int - 1)) AS week, grouping,
           plan_id, category_id, priority, channel, agent_id,
           'first_response' AS clock, h.key, h.value::int AS n
    FROM feedback_dayrollup, jsonb_each_text(first_responses) h
    WHERE tenant_id = %(tenant)s AND day BETWEEN %(first)s AND %(last)s
    UNION ALL
    SELECT (day - (EXTRACT(ISODOW FROM day)::int - 1)), grouping,
           plan_id, category_id, priority, channel, agent_id,
           'resolution', h.key, h.value::int
    FROM feedback_dayrollup, jsonb_each_text(resolutions) h
    WHERE tenant_id = %(tenant)s AND day BETWEEN %(first)s AND %(last)s
),
summed AS (
    SELECT week, grouping, plan_id, category_id, priority, channel, agent_id, clock, key,
           SUM(n) AS n
    FROM entry
    GROUP BY week, grouping, plan_id, category_id, priority, channel, agent_id, clock, key
)
INSERT INTO feedback_weekrollup
    (tenant_id, week, grouping, plan_id, category_id, priority, channel, agent_id,
     first_responses, resolutions)
SELECT %(tenant)s, week, grouping, plan_id, category_id, priority, channel, agent_id,
       COALESCE(jsonb_object_agg(key, n) FILTER (WHERE clock = 'first_response'), '{}'),
       COALESCE(jsonb_object_agg(key, n) FILTER (WHERE clock = 'resolution'), '{}')
FROM summed
GROUP BY week, grouping, plan_id, category_id, priority, channel, agent_id
"""


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _rebuild_weeks(cursor, tenant: Tenant, days: Iterable[date] | None) -> None:
    """The week rollups of the weeks of `days` (None: every week) from the day rollups."""
    if days is None:
        cursor.execute("DELETE FROM feedback_weekrollup WHERE tenant_id = %s", [tenant.pk])
        cursor.execute(
            "SELECT MIN(day), MAX(day) FROM feedback_dayrollup WHERE tenant_id = %s", [tenant.pk]
        )
        first, last = cursor.fetchone()
        if first is not None:
            cursor.execute(_WEEKS_SQL, {"tenant": tenant.pk, "first": monday(first), "last": last})
        return
    weeks = {monday(day) for day in days}
    for first, last in _runs(weeks, step=7):
        last += timedelta(days=6)  # its Sunday
        cursor.execute(
            "DELETE FROM feedback_weekrollup WHERE tenant_id = %s AND week BETWEEN %s AND %s",
            [tenant.pk, first, last],
        )
        cursor.execute(_WEEKS_SQL, {"tenant": tenant.pk, "first": first, "last": last})


def _rebuild(cursor, tenant: Tenant, days: Iterable[date] | None) -> int:
    """Replace the desk's rollups of `days` (None: all of them) with ones built now:
    the days', then their weeks'."""
    written = _rebuild_days(cursor, tenant, days)
    _rebuild_weeks(cursor, tenant, days)
    return written


def _rebuild_days(cursor, tenant: Tenant, days: Iterable[date] | None) -> int:
    from sla.reports import day_range

    if days is None:
        cursor.execute("DELETE FROM feedback_dayrollup WHERE tenant_id = %s", [tenant.pk])
        cursor.execute(
            _rebuild_sql(windowed=False), {"tenant": tenant.pk, "zone": tenant.time_zone}
        )
        return cursor.rowcount
    written = 0
    for first, last in _runs(days):
        start, end = day_range(first, last, tenant.tzinfo)
        cursor.execute(
            "DELETE FROM feedback_dayrollup WHERE tenant_id = %s AND day BETWEEN %s AND %s",
            [tenant.pk, first, last],
        )
        cursor.execute(
            _rebuild_sql(windowed=True),
            {"tenant": tenant.pk, "zone": tenant.time_zone, "start": start, "end": end,
             "first": first, "last": last},
        )  # fmt: skip
        written += cursor.rowcount
    return written


def refresh(tenant: Tenant, *, everything: bool = False) -> int:
    """Rebuild the desk's stale days (or, `everything`, all its days: `manage.py
    rebuild_rollups`), then forget exactly the stale rows read before: one written
    meanwhile stays for the next run, as its transaction may have committed too late
    for the rebuild to see it. Returns the rollup rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_desk(cursor, tenant)
        cursor.execute("SELECT id, day FROM feedback_rollupstale WHERE tenant_id = %s", [tenant.pk])
        stale = cursor.fetchall()
        days = {day for _pk, day in stale}
        if not stale and not everything:
            return 0
        written = _rebuild(cursor, tenant, None if everything or None in days else days)
        cursor.execute(
            "DELETE FROM feedback_rollupstale WHERE id = ANY(%s)", [[pk for pk, _day in stale]]
        )
    return written


def rebuild_desk(tenant: Tenant) -> int:
    """Every rollup of the desk rebuilt from scratch."""
    return refresh(tenant, everything=True)


def stale_tenants() -> list[int]:
    """The desks with stale days (deleted desks' rows are dropped on the way)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM feedback_rollupstale s WHERE NOT EXISTS "
            "(SELECT 1 FROM helpdesk_tenant t WHERE t.id = s.tenant_id)"
        )
        cursor.execute("SELECT DISTINCT tenant_id FROM feedback_rollupstale")
        return [row[0] for row in cursor.fetchall()]
