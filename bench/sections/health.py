"""Health scores: a full daily computation for 10,000 organizations with 90 days of events.

Tenant `health` gets, generated once with SQL (INSERT ... SELECT generate_series) and
reused: 10,000 organizations at every lifecycle stage, 15,000 customers, 30,000
tickets with their SLA outcomes, CSAT ratings and NPS answers, and about 2 million
usage and payment events over 90 days (logins on 20-95% of days depending on the
organization, a few features a day, records created, a monthly invoice, some overdue
or failed). The measured call is `health_compute` for the last day of that data, as
the daily beat task runs it: the first run writes 10,000 rows, the next ones replace
them. Then `touchpoints_create` for the day after, as the same task continues: the
scheduled touchpoints of 10,000 organizations and the health drops of the scored day
(the day before is scored once, untimed, so a drop has something to fall from); a
second run finds everything there and creates nothing.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import date, timedelta

from bench.common import log
from bench.section import BenchRun, Section, TargetRow

SLUG = "health"
ORGANIZATIONS = 10_000
DAYS = 90
RUNS = 3
TARGET_S = 60


def _tenant(slug: str = SLUG):
    from helpdesk.models import Tenant

    return Tenant.objects.filter(slug=slug).first()


def scored_day(tenant) -> date:
    """The last day of the generated data: the day before the tenant was made."""
    from django.utils import timezone

    return timezone.localtime(tenant.created_at, tenant.tzinfo).date() - timedelta(days=1)


def generate(*, slug: str = SLUG, organizations: int = ORGANIZATIONS, days: int = DAYS):
    """A tenant whose organizations have `days` days of history up to yesterday."""
    from django.db import connection, transaction

    from helpdesk.services import tenant_create
    from helpdesk.tenancy import tenant_scope
    from plans.models import Plan
    from success.services import day_end

    with transaction.atomic():
        tenant = tenant_create(slug=slug, name="Health bench")
        with tenant_scope(tenant):
            plans = list(Plan.objects.order_by("rank").values_list("pk", flat=True))
        end_day = scored_day(tenant)
        params = {
            "tenant": tenant.pk,
            "slug": slug,
            "plans": plans,
            "orgs": organizations,
            "users": organizations * 3 // 2,
            "tickets": organizations * 3,
            "days": days,
            "end_day": end_day,
            # The end of the last day: windows and "open now" are measured from here.
            "end": day_end(tenant, end_day),
        }
        with connection.cursor() as cursor:
            for label, statement in STATEMENTS:
                started = time.monotonic()
                cursor.execute(statement, params)
                seconds = time.monotonic() - started
                log(f"health: {label}: {cursor.rowcount:,} rows in {seconds:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tickets_ticketsequence (tenant_id, last_number) VALUES (%s, %s)",
                [tenant.pk, params["tickets"]],
            )
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
    return tenant


TABLES = (
    "plans_organization",
    "helpdesk_membership",
    "tickets_ticket",
    "sla_slaoutcome",
    "feedback_csatsurvey",
    "feedback_npssurvey",
    "success_usageevent",
)

# Organizations numbered 1..N in id order (n), each with its engagement: the chance
# in % of a login on a given day.
_ORGS = """
    SELECT id, n, 20 + (n * 37) %% 75 AS engagement
      FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
              FROM plans_organization WHERE tenant_id = %(tenant)s) AS numbered
"""
# Each organization's active days: (org, day number 1..days, the day's date, a hash).
_ACTIVE_DAYS = f"""
    SELECT o.id AS org, o.n, d.k, %(end_day)s::date - (%(days)s - d.k) AS day, h.h
      FROM ({_ORGS}) AS o
      CROSS JOIN generate_series(1, %(days)s) AS d(k)
      CROSS JOIN LATERAL (SELECT abs(hashtext(o.id || ':' || d.k)) AS h) AS h
     WHERE h.h %% 100 < o.engagement
"""  # noqa: S608 - fixed SQL fragments

STATEMENTS = [
    (
        "organizations",
        # Contracts from 1 to 700 days old (some onboarding); renewals on each anniversary
        # (some within 90 days).
        """
        INSERT INTO plans_organization
            (tenant_id, name, plan_id, arr, contract_start, renewal_date, created_at)
        SELECT %(tenant)s, 'Health Org ' || lpad(g::text, 6, '0'),
               (%(plans)s::bigint[])[1 + g %% 3], (g %% 3) * 12000,
               %(end_day)s::date - (1 + g * 37 %% 700),
               %(end_day)s::date - (1 + g * 37 %% 700) + 365 * (1 + (1 + g * 37 %% 700) / 365),
               now() - interval '800 days'
          FROM generate_series(1, %(orgs)s) AS g
        """,
    ),
    (
        "customers",
        """
        INSERT INTO helpdesk_user
            (password, is_superuser, email, full_name, preferred_language, is_active,
             is_staff, date_joined)
        SELECT '!', false, 'c' || g || '@' || %(slug)s || '.bench.example', 'Customer ' || g,
               '', true, false, now()
          FROM generate_series(1, %(users)s) AS g
        """,
    ),
    (
        "memberships",
        # Every organization has a seat; the first half have two.
        f"""
        INSERT INTO helpdesk_membership
            (tenant_id, user_id, role, organization_id, is_org_manager, is_active, created_at)
        SELECT %(tenant)s, u.id, 'customer', o.id, false, true, now() - interval '800 days'
          FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM helpdesk_user
                 WHERE email LIKE '%%@' || %(slug)s || '.bench.example') AS u
          JOIN ({_ORGS}) AS o ON o.n = 1 + (u.n - 1) %% %(orgs)s
        """,  # noqa: S608 - fixed SQL fragments
    ),
    (
        "tickets",
        # Three per organization on average over the 90 days; every fifth still open.
        """
        INSERT INTO tickets_ticket
            (tenant_id, number, subject, requester_id, organization_id, priority, status,
             channel, tags, reply_token, created_at, updated_at, solved_at)
        SELECT %(tenant)s, t.n, 'Health bench ticket ' || t.n, m.user_id, m.organization_id, 3,
               CASE WHEN t.n %% 5 = 0 THEN 'open' ELSE 'solved' END, 'web', '{}',
               md5(%(slug)s || '-ticket-' || t.n), t.created, t.created,
               CASE WHEN t.n %% 5 = 0 THEN NULL ELSE t.created + interval '1 day' END
          FROM (SELECT n, %(end)s - (1 + n %% %(days)s) * interval '1 day'
                          + (n %% 24) * interval '1 hour' AS created
                  FROM generate_series(1, %(tickets)s) AS n) AS t
          JOIN (SELECT user_id, organization_id, row_number() OVER (ORDER BY id) AS k
                  FROM helpdesk_membership WHERE tenant_id = %(tenant)s) AS m
            ON m.k = 1 + (t.n * 7919) %% %(users)s
        """,
    ),
    (
        "SLA outcomes",
        # One first-response clock per ticket; one in eight breached.
        """
        INSERT INTO sla_slaoutcome (tenant_id, ticket_id, metric, result, due_at, recorded_at)
        SELECT tenant_id, id, 'first_response',
               CASE WHEN number %% 8 = 0 THEN 'breached' ELSE 'met' END,
               created_at + interval '4 hours', created_at + interval '4 hours'
          FROM tickets_ticket WHERE tenant_id = %(tenant)s
        """,
    ),
    (
        "CSAT ratings",
        """
        INSERT INTO feedback_csatsurvey
            (tenant_id, ticket_id, solved_at, recipient_id, status, send_at, sent_at, rating,
             comment, rated_at)
        SELECT tenant_id, id, solved_at, requester_id, 'sent', solved_at + interval '1 hour',
               solved_at + interval '1 hour', 1 + abs(hashtext(id::text)) %% 5, '',
               solved_at + interval '3 hours'
          FROM tickets_ticket
         WHERE tenant_id = %(tenant)s AND solved_at IS NOT NULL
           AND abs(hashtext('rated' || id)) %% 3 = 0
        """,
    ),
    (
        "NPS answers",
        # One question per contact in the last half year; seven in ten answered.
        """
        INSERT INTO feedback_npssurvey
            (tenant_id, recipient_id, organization_id, sent_at, score, comment, responded_at)
        SELECT tenant_id, user_id, organization_id,
               %(end)s - (2 + id %% 170) * interval '1 day',
               CASE WHEN id %% 10 < 7 THEN (id * 7) %% 11 END, '',
               CASE WHEN id %% 10 < 7 THEN %(end)s - (1 + id %% 170) * interval '1 day' END
          FROM helpdesk_membership WHERE tenant_id = %(tenant)s AND role = 'customer'
        """,
    ),
    (
        "logins and records",
        f"""
        INSERT INTO success_usageevent
            (tenant_id, organization_id, metric, value, feature, occurred_at, event_id,
             received_at)
        SELECT %(tenant)s, a.org, e.metric, e.value, '',
               a.day + interval '9 hours' + (a.h %% 600) * interval '1 minute' + e.later,
               'h' || a.org || '-' || a.k || '-' || e.metric, now()
          FROM ({_ACTIVE_DAYS}) AS a
          CROSS JOIN LATERAL (VALUES
              ('login', 1 + a.h %% 10, interval '0'),
              ('records_created', 5 + a.h %% 40 + a.k / 3, interval '30 minutes')
          ) AS e(metric, value, later)
        """,  # noqa: S608 - fixed SQL fragments
    ),
    (
        "features used",
        # One to four features on an active day, out of up to ten the organization uses.
        f"""
        INSERT INTO success_usageevent
            (tenant_id, organization_id, metric, value, feature, occurred_at, event_id,
             received_at)
        SELECT %(tenant)s, a.org, 'feature_used', 1,
               'feature-' || ((a.h / 7 + f) %% (3 + a.n %% 8)),
               a.day + interval '10 hours' + f * interval '5 minutes',
               'h' || a.org || '-' || a.k || '-f' || f, now()
          FROM ({_ACTIVE_DAYS}) AS a
          CROSS JOIN LATERAL generate_series(1, 1 + a.h %% 4) AS f
        """,  # noqa: S608 - fixed SQL fragments
    ),
    (
        "invoices",
        # Monthly; this month's is overdue for one organization in twenty and failed for
        # one in fifty.
        f"""
        INSERT INTO success_usageevent
            (tenant_id, organization_id, metric, value, feature, occurred_at, event_id,
             received_at)
        SELECT %(tenant)s, o.id,
               CASE WHEN d.k > %(days)s - 30 AND o.n %% 20 = 0 THEN 'invoice_overdue'
                    WHEN d.k > %(days)s - 30 AND o.n %% 50 = 1 THEN 'payment_failed'
                    ELSE 'invoice_paid' END,
               1000, '', %(end_day)s::date - (%(days)s - d.k) + interval '8 hours',
               'h' || o.id || '-' || d.k || '-invoice', now()
          FROM ({_ORGS}) AS o
          CROSS JOIN generate_series(1, %(days)s) AS d(k)
         WHERE (d.k + o.n) %% 30 = 0
        """,  # noqa: S608 - fixed SQL fragments
    ),
]


def _ensure_tenant():
    from django_scopes import scopes_disabled

    from success.models import UsageEvent

    with scopes_disabled():
        tenant = _tenant()
        if tenant is not None:
            if UsageEvent.objects.filter(tenant=tenant).exists():
                return tenant, "reused"
            raise SystemExit("the health tenant is incomplete: run `make bench ARGS=--regenerate`")
    log(f"health: generating {ORGANIZATIONS:,} organizations with {DAYS} days of events")
    started = time.monotonic()
    tenant = generate()
    return tenant, f"generated by this run in {time.monotonic() - started:.0f} s"


def data_sizes(tenant) -> dict[str, int]:
    from django_scopes import scopes_disabled

    from feedback.models import CsatSurvey, NpsSurvey
    from plans.models import Organization
    from success.models import UsageEvent
    from tickets.models import Ticket

    with scopes_disabled():
        return {
            "organizations": Organization.objects.filter(tenant=tenant).count(),
            "events": UsageEvent.objects.filter(tenant=tenant).count(),
            "tickets": Ticket.objects.filter(tenant=tenant).count(),
            "ratings": CsatSurvey.objects.filter(tenant=tenant, rating__isnull=False).count(),
            "answers": NpsSurvey.objects.filter(tenant=tenant, score__isnull=False).count(),
        }


class HealthScores(Section):
    title = "Health scores"

    def __init__(self):
        self.note = ""
        self.seconds: list[float] = []
        self.sql_seconds: list[float] = []
        self.queries: list[int] = []
        self.sizes: dict[str, int] = {}
        self.bands: Counter = Counter()
        self.stages: Counter = Counter()
        self.day: date | None = None
        self.touchpoint_seconds: list[float] = []
        self.touchpoints: list[dict[str, int]] = []

    def measure_in_process(self, run: BenchRun) -> None:
        from django.db import connection

        from bench.inprocess import SqlTimer
        from helpdesk.tenancy import tenant_scope
        from success.models import HealthScore
        from success.services import health_compute

        tenant, self.note = _ensure_tenant()
        self.sizes = data_sizes(tenant)
        self.day = scored_day(tenant)
        with tenant_scope(tenant):
            HealthScore.objects.filter(day=self.day).delete()  # the first run inserts
            for _ in range(RUNS):
                timer = SqlTimer()
                started = time.perf_counter()
                with connection.execute_wrapper(timer):
                    result = health_compute(tenant=tenant, day=self.day)
                self.seconds.append(time.perf_counter() - started)
                self.sql_seconds.append(sum(timer.times))
                self.queries.append(len(timer.times))
            self.bands = Counter(result.bands)
            self.stages = Counter(
                HealthScore.objects.filter(day=self.day).values_list("stage", flat=True)
            )
            self._measure_touchpoints(tenant)
        log(
            f"health: {result.scored:,} organizations scored, "
            f"{', '.join(f'{s:.1f} s' for s in self.seconds)}"
        )

    def _measure_touchpoints(self, tenant) -> None:
        from success.models import HealthScore, HealthSettings, SuccessTask
        from success.services import health_compute, health_settings
        from success.touchpoints import touchpoints_create

        before = self.day - timedelta(days=1)
        if not HealthScore.objects.filter(day=before).exists():
            health_compute(tenant=tenant, day=before)
        SuccessTask.objects.all().delete()
        settings = health_settings(tenant)
        for _ in range(2):
            HealthSettings.objects.filter(pk=settings.pk).update(
                daily_through=self.day, drops_through=before
            )
            started = time.perf_counter()
            created = touchpoints_create(tenant=tenant, today=self.day + timedelta(days=1))
            self.touchpoint_seconds.append(time.perf_counter() - started)
            self.touchpoints.append(created.created)
        log(
            f"health: touchpoints {sum(self.touchpoints[0].values()):,} created, "
            f"{', '.join(f'{s:.1f} s' for s in self.touchpoint_seconds)}"
        )

    def targets(self, run: BenchRun) -> list[TargetRow]:
        if not self.seconds:
            return []
        slowest = max(self.seconds)
        return [
            (
                f"Daily health scores for {ORGANIZATIONS:,} organizations with {DAYS} days of "
                f"events, < {TARGET_S} s",
                f"{slowest:.1f} s (slowest of {RUNS})",
                slowest < TARGET_S and sum(self.bands.values()) == self.sizes["organizations"],
            )
        ]

    def report(self, run: BenchRun) -> list[str]:
        if not self.seconds:
            return []
        sizes = self.sizes
        return [
            f"Tenant `{SLUG}` ({self.note}): {sizes['organizations']:,} organizations, "
            f"{sizes['events']:,} usage and payment events over {DAYS} days, "
            f"{sizes['tickets']:,} tickets with their SLA outcomes, {sizes['ratings']:,} CSAT "
            f"ratings and {sizes['answers']:,} NPS answers. `success.services.health_compute` "
            f"for {self.day}, in-process, as the daily task runs it (a few aggregate queries "
            "over every organization, the scores in Python, one upsert per 2,000 rows):",
            "",
            "| run | seconds | of which SQL | queries |",
            "|---|--:|--:|--:|",
            *(
                f"| {'first (inserts the day)' if n == 0 else 'again (replaces it)'} "
                f"| {total:.1f} | {sql:.1f} | {queries} |"
                for n, (total, sql, queries) in enumerate(
                    zip(self.seconds, self.sql_seconds, self.queries, strict=True)
                )
            ),
            "",
            f"Median {statistics.median(self.seconds):.1f} s. Bands: "
            + ", ".join(f"{band} {count:,}" for band, count in sorted(self.bands.items()))
            + "; stages: "
            + ", ".join(f"{stage} {count:,}" for stage, count in sorted(self.stages.items()))
            + ".",
            "",
            *self._touchpoint_report(),
        ]

    def _touchpoint_report(self) -> list[str]:
        if not self.touchpoint_seconds:
            return []
        first, again = self.touchpoint_seconds
        made = self.touchpoints[0]
        return [
            f"`success.touchpoints.touchpoints_create` for {self.day + timedelta(days=1)}: "
            f"{first:.1f} s creating {sum(made.values()):,} tasks ("
            + ", ".join(f"{kind} {count:,}" for kind, count in sorted(made.items()))
            + f"); run again, {again:.1f} s creating "
            f"{sum(self.touchpoints[1].values())}.",
        ]
