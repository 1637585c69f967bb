"""Figures: the pages and the API over HTTP, 1 at a time and with N clients."""

from __future__ import annotations

import math
import os

from bench import loadgen
from bench.common import API_PATH, BARE_INSERT_PATH, BARE_PATH, FILTERED_PATH, QUEUE_PATH
from bench.cpu import DISTURBED
from bench.http_load import LOAD, POSTGRES, REDIS, SERVER
from bench.section import BenchRun, Section, TargetRow

QUEUE = "Agent queue, default view"
FILTERED = "Agent queue, priority=1&status=open"
BARE = "Bare Django JSON view"
BARE_INSERT = "Bare view, one INSERT in its own transaction"
API = "API ticket creation"


def _ms(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.1f}"


class HttpFigures(Section):
    title = "Figures"

    def __init__(self):
        self.synchronous_commit = "?"

    def measure_in_process(self, run: BenchRun) -> None:
        """The bare INSERT view's table, emptied; and the durability both writes get."""
        from django.db import connection

        from bench.urls import BARE_INSERT_DDL, BARE_INSERT_TABLE

        with connection.cursor() as cursor:
            cursor.execute(BARE_INSERT_DDL)
            cursor.execute(f"TRUNCATE {BARE_INSERT_TABLE}")
            cursor.execute("SHOW synchronous_commit")
            self.synchronous_commit = cursor.fetchone()[0]

    def http_targets(self, run: BenchRun) -> list[loadgen.Target]:
        fixtures = run.fixtures
        cookie = {"Cookie": f"sessionid={fixtures.session_key}", "Accept-Language": "en"}
        found = [
            loadgen.Target(BARE, "GET", BARE_PATH),
            loadgen.Target(QUEUE, "GET", QUEUE_PATH, cookie),
            loadgen.Target(FILTERED, "GET", FILTERED_PATH, cookie),
            loadgen.Target(
                f"Ticket page (#{fixtures.ticket_number}, {fixtures.ticket_messages} messages)",
                "GET",
                f"/agent/tickets/{fixtures.ticket_number}/",
                cookie,
            ),
        ]
        if fixtures.api_key:
            body = fixtures.api_creation_body
            # The same JSON body, written as one row and nothing more.
            found.append(
                loadgen.Target(
                    BARE_INSERT,
                    "POST",
                    BARE_INSERT_PATH,
                    {"Content-Type": "application/json", "Accept": "application/json"},
                    body=body,
                    expect=201,
                )
            )
            found.append(
                loadgen.Target(API, "POST", API_PATH, fixtures.api_headers, body=body, expect=201)
            )
        return found

    def targets(self, run: BenchRun) -> list[TargetRow]:
        ticket = next((m for m in run.measured if m.target.name.startswith("Ticket page")), None)
        rows = []
        for label, m in (
            ("Agent queue first page (default view)", run.measured_target(QUEUE)),
            ("Agent queue first page (filtered view)", run.measured_target(FILTERED)),
            ("Ticket page", ticket),
        ):
            label = f"{label}, p95 < 30 ms, 1 at a time"
            ok = None if m is None else (m.sequential.p95_ms < 30 and not m.sequential.errors)
            shown = "—" if m is None else f"p95 {m.sequential.p95_ms:.1f} ms"
            rows.append((label, shown, ok))
        api, insert = run.measured_target(API), run.measured_target(BARE_INSERT)
        label = (
            f"API ticket creation, {run.args.clients} clients, ≥ ½ the throughput of a bare view "
            "doing one INSERT in its own transaction (same database, synchronous_commit "
            f"{self.synchronous_commit})"
        )
        if api and insert:
            ratio = api.concurrent.rps / max(insert.concurrent.rps, 1e-9)
            errors = api.concurrent.errors + insert.concurrent.errors
            rows.append(
                (
                    label,
                    f"{api.concurrent.rps:.0f} vs {insert.concurrent.rps:.0f} req/s = {ratio:.0%}",
                    ratio >= 0.5 and not errors,
                )
            )
        else:
            rows.append((label, "—", None))
        return rows

    def _continuity(self, run: BenchRun) -> list[str]:
        """The earlier target (API creation against the bare JSON view, which writes
        nothing), still reported so runs before and after the change compare."""
        api, bare = run.measured_target(API), run.measured_target(BARE)
        insert = run.measured_target(BARE_INSERT)
        if not (api and bare and insert):
            return []
        return [
            "",
            f"API ticket creation is measured against a durable write: the bare view doing one "
            f"INSERT in its own transaction, on the same database with the same "
            f"`synchronous_commit` ({self.synchronous_commit}), in the same run. "
            f"{run.args.clients} clients: {api.concurrent.rps:.0f} vs "
            f"{insert.concurrent.rps:.0f} req/s = "
            f"{api.concurrent.rps / max(insert.concurrent.rps, 1e-9):.0%}; 1 at a time: "
            f"{api.sequential.rps:.0f} vs {insert.sequential.rps:.0f} req/s = "
            f"{api.sequential.rps / max(insert.sequential.rps, 1e-9):.0%}. "
            f"The earlier comparison, with the bare JSON view that writes nothing, for "
            f"continuity: 1 at a time {api.sequential.rps:.0f} vs {bare.sequential.rps:.0f} "
            f"req/s = {api.sequential.rps / max(bare.sequential.rps, 1e-9):.0%}, "
            f"{run.args.clients} clients {api.concurrent.rps:.0f} vs "
            f"{bare.concurrent.rps:.0f} req/s = "
            f"{api.concurrent.rps / max(bare.concurrent.rps, 1e-9):.0%}.",
        ]

    def _cpu_per_request(self, run: BenchRun) -> list[str]:
        """Where each request's CPU went with N clients, and what API creation would
        need to reach half the bare INSERT view's throughput."""
        measured = [m for m in run.measured if m.concurrent_cpu]
        if not measured:
            return []
        cpus = os.cpu_count() or 1
        lines = [
            "",
            f"CPU per request with {run.args.clients} clients, by process, in ms: the server "
            "(gunicorn's workers), PostgreSQL (the bench database's backends), Redis, and the "
            "load generator (this run's client threads); *CPUs busy*: all of them together, "
            f"as a share of the machine's {cpus}.",
            "",
            f"| request | {SERVER} | {POSTGRES} | {REDIS} | {LOAD} | total | CPUs busy |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        for m in measured:
            ms = m.cpu_ms_per_request()
            busy = sum(m.concurrent_cpu.values()) / max(m.concurrent.elapsed, 1e-9) / cpus
            lines.append(
                f"| {m.target.name} | "
                + " | ".join(f"{ms.get(part, 0.0):.2f}" for part in (SERVER, POSTGRES, REDIS, LOAD))
                + f" | {sum(ms.values()):.2f} | {busy:.0%} |"
            )
        api, insert = run.measured_target(API), run.measured_target(BARE_INSERT)
        if api and insert and api.concurrent_cpu and insert.concurrent_cpu:
            a, b = api.cpu_ms_per_request(), insert.cpu_ms_per_request()
            lines += [
                "",
                f"With the CPUs as busy, half the bare INSERT view's throughput leaves a "
                f"creation about twice its CPU per request: {2 * sum(b.values()):.1f} ms. A "
                f"creation took {sum(a.values()):.1f} ms: the server {a[SERVER]:.1f} ms "
                f"(the bare view's {b[SERVER]:.1f}), PostgreSQL {a[POSTGRES]:.1f} ms "
                f"({b[POSTGRES]:.2f}).",
            ]
        return lines

    def report(self, run: BenchRun) -> list[str]:
        args, fixtures = run.args, run.fixtures
        by_path = {c.path: c for c in run.counts}

        def queries_for(target: loadgen.Target) -> str:
            found = by_path.get(target.path)
            return str(found.queries) if found else "—"

        lines = [
            f"| request | SQL queries | median ms | p95 ms | req/s | req/s, {args.clients} clients "
            f"| median ms, {args.clients} clients | p95 ms, {args.clients} clients | errors "
            "| other processes' CPU |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for m in run.measured:
            s, c = m.sequential, m.concurrent
            again = f" ({m.attempts} attempts)" if m.attempts > 1 else ""
            lines.append(
                f"| {m.target.method} `{m.target.path}` — {m.target.name} "
                f"| {queries_for(m.target)} "
                f"| {_ms(s.median_ms)} | {_ms(s.p95_ms)} | {s.rps:.0f} | {c.rps:.0f} "
                f"| {_ms(c.median_ms)} | {_ms(c.p95_ms)} | {s.errors + c.errors} "
                f"| {m.sequential_other:.0%} / {m.concurrent_other:.0%}{again} |"
            )
        if not fixtures.api_key:
            lines.append(
                f"| POST `{API_PATH}` — API ticket creation | — | not measured | not measured "
                f"| — | — | — | — | — | — |"
            )
        lines += [
            "",
            "Latencies are client-side, from sending the request to reading the last byte. "
            "*req/s* 1 at a time is the timed requests divided by their wall time. "
            "*Other processes' CPU*: the share of the machine's CPUs that processes other than "
            "the benchmark's (this run, gunicorn, PostgreSQL's backends for the bench database) "
            f"used during the measurement, 1 at a time / {args.clients} clients; a target "
            f"disturbed by more than {DISTURBED:.0%} is measured again (within "
            f"{args.retry_budget:g} s for the whole run) and the least disturbed attempt is "
            "shown.",
        ]
        lines += self._continuity(run)
        if run.removed:
            lines.append(
                f"The {run.removed:,} tickets the API created were deleted again after the run "
                "(with their messages, events and outbox rows)."
            )
        if not fixtures.api_key:
            lines.append(
                f"\n**API ticket creation was not measured**: missing {fixtures.api_missing}. "
                "The harness posts `{subject, body, category, priority}` with "
                "`Authorization: Token <key>` from `helpdesk.api_tokens.api_token_create` "
                "and measures it once these exist."
            )
        lines += self._cpu_per_request(run)
        return lines
