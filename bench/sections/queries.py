"""SQL queries per request: counted and timed in-process with django.test.Client."""

from __future__ import annotations

from bench.common import API_PATH, BARE_PATH, FILTERED_PATH, QUEUE_PATH, log
from bench.cpu import OtherCpu
from bench.inprocess import IN_PROCESS_RUNS, measure_request
from bench.section import BenchRun, Section, TargetRow


class QueryCounts(Section):
    title = "SQL queries per request"

    def measure_in_process(self, run: BenchRun) -> None:
        from django.conf import settings
        from django.test import Client

        fixtures = run.fixtures
        agent = Client()
        agent.cookies[settings.SESSION_COOKIE_NAME] = fixtures.session_key
        anonymous = Client()
        number, short = fixtures.ticket_number, fixtures.short_ticket_number
        long_thread = f"Ticket page, {fixtures.ticket_messages} messages"
        pages = [
            ("Queue, default view, page 1", QUEUE_PATH, "rows"),
            ("Queue, default view, page 2", f"{QUEUE_PATH}?page=2", "rows"),
            ("Queue, filtered (urgent + open)", FILTERED_PATH, "rows"),
            ("Queue, search for one ticket", f"{QUEUE_PATH}?q=%23{number}", "rows"),
            ("Queue, no match", f"{QUEUE_PATH}?q=no-such-ticket-anywhere", "rows"),
            (long_thread, f"/agent/tickets/{number}/", "messages"),
            ("Ticket page, 1 message", f"/agent/tickets/{short}/", "messages"),
        ]
        other = OtherCpu()
        counts = [
            measure_request(label, path, agent, fixtures, kind=kind) for label, path, kind in pages
        ]
        counts.append(
            measure_request("Bare JSON view (no session)", BARE_PATH, anonymous, fixtures)
        )
        if fixtures.api_key:
            counts.append(
                measure_request("API ticket creation", API_PATH, anonymous, fixtures, method="POST")
            )
        run.in_process_other = other.share()
        run.counts = counts
        for c in counts:
            log(
                f"in-process: {c.label}: {c.queries} queries, rows {c.rows}, HTTP {c.status}, "
                f"{c.total_ms:.1f} ms of which SQL {c.sql_ms:.1f} ms"
            )

    def targets(self, run: BenchRun) -> list[TargetRow]:
        # The same page with more or fewer rows must cost the same queries; a search is
        # a page of its own (it also reads the page's messages for their excerpts).
        page_counts = {}
        for c in run.counts:
            page = c.label.split(",")[0]
            searching = "?q=" in c.path or "&q=" in c.path
            page_counts.setdefault((page, searching), set()).add(c.queries)
        flat = all(
            len(v) == 1 for (page, _q), v in page_counts.items() if page in ("Queue", "Ticket page")
        )
        return [
            (
                "No page whose query count grows with the rows shown",
                f"{'constant' if flat else 'varies'}, see below",
                flat,
            )
        ]

    def report(self, run: BenchRun) -> list[str]:
        lines = [
            "Counted in-process with `django.test.Client` and `CaptureQueriesContext` against "
            "the bench database (the second of two identical requests). A page whose count does "
            "not change with the rows or messages it shows has no query per row.",
            "",
            "The time columns are in-process (django.test.Client, no HTTP, no gunicorn), the "
            f"median of {IN_PROCESS_RUNS} requests: the whole request, the part spent waiting "
            "for PostgreSQL, and the slowest single query; the rest is Python (middleware, "
            "forms, templates, serialization). Other processes used "
            f"{run.in_process_other:.0%} of the CPUs meanwhile.",
            "",
            "| request | rows or messages shown | SQL queries | in-process ms | SQL ms "
            "| slowest query ms |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for c in run.counts:
            lines.append(
                f"| {c.label} (`{c.path}`, HTTP {c.status}) | {c.rows} | {c.queries} "
                f"| {c.total_ms:.1f} | {c.sql_ms:.1f} | {c.slowest_ms:.1f} |"
            )
        return lines
