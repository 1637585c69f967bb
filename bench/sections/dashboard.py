"""Insights dashboards: the admins' page at 100,000 tickets, for 30 and 90 days.

The range ends on the day of the newest generated ticket (the data does not move
with the calendar). Measured in-process (SQL queries, time, time per panel, the
slowest query and its plan) and over HTTP against gunicorn like the other pages,
as the tenant's admin. Target from the dashboards issue: p95 under 150 ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from bench.common import log
from bench.fixtures import open_session
from bench.inprocess import QueryCount, measure_request, timed
from bench.section import BenchRun, Section, TargetRow

PATH = "/agent/reports/"
RANGES = (30, 90)
P95_TARGET_MS = 150


@dataclass
class Page:
    days: int
    path: str
    count: QueryCount | None = None
    side_by_side_ms: float = 0.0  # in-process, the panels side by side as served


def _name(days: int) -> str:
    return f"Insights dashboard, {days} days"


def last_day(tenant, tickets: int):
    """The day of the desk's newest generated ticket (in its time zone): where the
    dashboards' ranges end."""
    from django.db.models import Max
    from django.utils import timezone

    from helpdesk.tenancy import tenant_scope
    from tickets.models import Ticket

    with tenant_scope(tenant):
        newest = Ticket.objects.filter(number__lte=tickets).aggregate(newest=Max("created_at"))
    return timezone.localdate(newest["newest"], tenant.tzinfo)


def path_for(end, days: int) -> str:
    return f"{PATH}?start={end - timedelta(days=days - 1)}&end={end}"


def admin_of(tenant):
    from helpdesk.models import Membership, Role
    from helpdesk.tenancy import tenant_scope

    with tenant_scope(tenant):
        return Membership.objects.filter(role=Role.ADMIN).select_related("user")[0].user


class Dashboard(Section):
    title = "Insights dashboards"

    def __init__(self):
        self.pages: list[Page] = []
        self.session_key = ""
        self.panels: dict[str, float] = {}  # panel -> in-process ms, 90 days
        self.slowest: tuple[float, str, str] = (0.0, "", "")  # ms, SQL, plan
        self.sizes: dict[str, int] = {}

    def measure_in_process(self, run: BenchRun) -> None:
        from django.conf import settings
        from django.test import Client, override_settings

        from bench import generate
        from bench.common import HOST_NAME
        from feedback.models import CsatSurvey, NpsSurvey
        from helpdesk.tenancy import tenant_scope
        from sla.models import SLAOutcome

        tenant = run.fixtures.tenant
        end = last_day(tenant, generate.TICKETS)
        with tenant_scope(tenant):
            self.sizes = {
                "outcomes": SLAOutcome.objects.count(),
                "csat": CsatSurvey.objects.count(),
                "rated": CsatSurvey.objects.filter(rating__isnull=False).count(),
                "nps": NpsSurvey.objects.count(),
                "answered": NpsSurvey.objects.filter(score__isnull=False).count(),
            }
        self.pages = [Page(days, path_for(end, days)) for days in RANGES]
        self.session_key = open_session(admin_of(tenant))
        admin = Client()
        admin.cookies[settings.SESSION_COOKIE_NAME] = self.session_key
        for page in self.pages:
            # Queries and SQL time are counted on this thread's connection: the panels
            # one after another here, so every query is seen (the work of the page).
            with override_settings(SIDE_BY_SIDE_THREADS=0):
                page.count = measure_request(_name(page.days), page.path, admin, run.fixtures)
            # As served: the panels side by side (helpdesk/side_by_side.py).
            page.side_by_side_ms = timed(
                lambda _n, path=page.path: admin.get(path, HTTP_HOST=HOST_NAME)
            ).total_ms
            c = page.count
            log(
                f"in-process: {c.label}: {c.queries} queries, HTTP {c.status}, "
                f"{c.total_ms:.1f} ms of which SQL {c.sql_ms:.1f} ms one panel after "
                f"another; {page.side_by_side_ms:.1f} ms side by side"
            )
        # Also in the Figures and SQL-queries tables, beside the other pages.
        run.counts.extend(page.count for page in self.pages)
        self._panels(tenant, end, max(RANGES))
        with override_settings(SIDE_BY_SIDE_THREADS=0):  # every query on this connection
            self._slowest_query(admin, self.pages[-1].path)

    def _panels(self, tenant, end, days: int) -> None:
        """Each panel's figures and charts alone, in-process (the 90-day range)."""
        from django.utils import timezone

        from feedback.dashboard import Period, Scope
        from feedback.dashboard.panels import PANELS
        from helpdesk.tenancy import tenant_scope

        with tenant_scope(tenant), timezone.override(tenant.tzinfo):
            scope = Scope.make(Period(end - timedelta(days=days - 1), end))
            for name, build in PANELS.items():
                build(scope)  # warm
                self.panels[name] = timed(lambda _n, build=build: build(scope)).total_ms

    def _slowest_query(self, client, path: str) -> None:
        from django.db import connection

        from bench.common import HOST_NAME

        captured: list[tuple[float, str, tuple]] = []

        def record(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                captured.append(((time.perf_counter() - started) * 1000, sql, params))

        with connection.execute_wrapper(record):
            client.get(path, HTTP_HOST=HOST_NAME)
        ms, sql, params = max(captured, key=lambda c: c[0])
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN ANALYZE {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        self.slowest = (ms, sql, plan)

    def http_targets(self, run: BenchRun):
        from bench import loadgen

        cookie = {"Cookie": f"sessionid={self.session_key}", "Accept-Language": "en"}
        return [loadgen.Target(_name(p.days), "GET", p.path, cookie) for p in self.pages]

    def targets(self, run: BenchRun) -> list[TargetRow]:
        rows = []
        for page in self.pages:
            m = run.measured_target(_name(page.days))
            ok = None
            if m is not None:
                ok = m.sequential.p95_ms < P95_TARGET_MS and not m.sequential.errors
            shown = "—" if m is None else f"p95 {m.sequential.p95_ms:.1f} ms"
            rows.append((f"{_name(page.days)}, p95 < {P95_TARGET_MS} ms, 1 at a time", shown, ok))
        return rows

    def report(self, run: BenchRun) -> list[str]:
        if not self.pages:
            return []
        s = self.sizes
        lines = [
            f"`{PATH}` as the tenant's admin, for the 30 and 90 days up to the newest generated "
            "ticket (by day, then by week), no filters. Data besides the 100,000 tickets (with "
            f"their business-time durations): {s['outcomes']:,} SLA outcomes, {s['csat']:,} "
            f"CSAT surveys ({s['rated']:,} rated), {s['nps']:,} NPS surveys ({s['answered']:,} "
            "answered), knowledge-base views, votes, deflections and failed searches "
            "(bench/generate_insights.py).",
            "",
            "*In-process ms* and *SQL ms* are for the panels computed one after another "
            "(every query counted, the page's work); *side by side* is in-process as "
            "served, the panels' queries overlapping on separate connections "
            "(helpdesk/side_by_side.py), as in the HTTP columns.",
            "",
            "| range | SQL queries | in-process ms | SQL ms | slowest query ms "
            "| in-process ms, side by side | HTTP median ms | HTTP p95 ms | p95 ms, 8 clients |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for page in self.pages:
            c, m = page.count, run.measured_target(_name(page.days))
            http = (
                f"{m.sequential.median_ms:.1f} | {m.sequential.p95_ms:.1f} | "
                f"{m.concurrent.p95_ms:.1f}"
                if m
                else "— | — | —"
            )
            lines.append(
                f"| {page.days} days (`{page.path}`, HTTP {c.status}) | {c.queries} "
                f"| {c.total_ms:.1f} | {c.sql_ms:.1f} | {c.slowest_ms:.1f} "
                f"| {page.side_by_side_ms:.1f} | {http} |"
            )
        lines += [
            "",
            f"Each panel alone, in-process, {max(RANGES)} days (figures and charts, median ms): "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in self.panels.items())
            + ".",
            "",
            f"The slowest query of the {max(RANGES)}-day page ({self.slowest[0]:.1f} ms):",
            "",
            "```",
            self.slowest[1],
            "",
            self.slowest[2],
            "```",
        ]
        return lines
