"""The load test's figures: for the terminal, the targets and its section of RESULTS.md."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench import loadgen
from bench.common import log
from bench.load.clients import MIX
from bench.load.stack import LOAD_DATABASE, SAMPLE_EVERY, ConnectionSamples
from helpdesk import devstack

SECTION_TITLE = "Under load: signed-in clients against `make run`'s server"


@dataclass
class LoadResult:
    clients: int
    seconds: float
    by_kind: dict[str, loadgen.Result]
    overall: loadgen.Result
    statuses: dict[str, int]  # unexpected answers by status ("connection" for failures)
    during: ConnectionSamples
    after: dict[str, int]  # connections by application a few seconds after the clients
    settle: float
    budget: dict
    max_connections: str
    signed_in: int
    busy_before: float
    other_cpu: float
    port: int
    finished: str

    @property
    def after_total(self) -> int:
        return sum(self.after.values())


KIND_LABELS = {
    "help center": "help center (customers: home, requests, a request, knowledge base, search)",
    "agents": "agent queue (agents: queue views, tickets, customers)",
    "new requests": "new requests (customers: form, POST with its CSRF token, the new request)",
}


def _apps(counts: dict[str, int]) -> str:
    return ", ".join(f"{app} {n}" for app, n in sorted(counts.items())) or "none"


def targets(result: LoadResult) -> list[tuple[str, str, bool]]:
    return [
        (
            f"{result.clients} clients against `make run`'s server: no errors",
            f"{result.overall.errors} errors in {result.overall.count + result.overall.errors}"
            " requests",
            result.overall.errors == 0,
        ),
        (
            "PostgreSQL connections after the load: at most what the settings allow",
            f"{result.after_total} (allowed {result.budget['total']})",
            result.after_total <= result.budget["total"],
        ),
    ]


def report_lines(result: LoadResult, command: str) -> list[str]:
    b = result.budget
    web_cmd = " ".join(["python", *devstack.web_command("<free port>")[1:]])
    lines = [
        f"Written by `{command}` on {result.finished}.",
        "",
        "- Server: web, worker and beat started with `make run`'s own commands and "
        f"environment (helpdesk/devstack.py): `{web_cmd}` with DEBUG=1, "
        f"{b['web_processes']} processes x {b['threads']} threads (+ {b['side_by_side']} "
        f"side-by-side threads) each with a pool of {b['pool_min']}-{b['per_web_process']} "
        f"connections (wait at most {b['pool_timeout']:g} s); the Celery worker "
        f"({b['worker_processes']} processes) and beat. Data: the demo desk of "
        f"`manage.py seed_demo`, in a database of its own (`{LOAD_DATABASE}`); outgoing "
        "email kept in memory instead of `make run`'s outbox.",
        f"- Clients: {result.clients} threads (bench/load/, http.client, keep-alive) on the "
        f"same machine, for {result.seconds:g} s, each sending its next request as soon as "
        f"the last one answered. {result.signed_in} demo people signed in through the "
        "login form first; clients of one person share its session. An error is any "
        "answer but the expected 200 (or 302 after posting the form), or a failed "
        "connection.",
        f"- Other load: the CPUs were {result.busy_before:.0%} busy before the server "
        f"started; other processes used {result.other_cpu:.0%} of them during the run.",
        "",
        "| clients | requests | errors | p50 ms | p95 ms | req/s |",
        "|---|---|---|---|---|---|",
    ]
    counts = {kind: round(result.clients * share) for kind, share in MIX.items()}
    counts["help center"] += result.clients - sum(counts.values())
    for kind, r in result.by_kind.items():
        lines.append(
            f"| {counts[kind]} {KIND_LABELS[kind]} | {r.count + r.errors:,} | {r.errors} | "
            f"{r.median_ms:.0f} | {r.p95_ms:.0f} | {r.rps:.1f} |"
        )
    o = result.overall
    lines.append(
        f"| **all {result.clients}** | {o.count + o.errors:,} | {o.errors} | {o.median_ms:.0f} "
        f"| {o.p95_ms:.0f} | {o.rps:.1f} |"
    )
    if result.statuses:
        found = ", ".join(f"{n} x {status}" for status, n in sorted(result.statuses.items()))
        lines += ["", f"Unexpected answers: {found}; the first: `{o.first_error[:200]}`."]
    during = result.during
    lines += [
        "",
        f"PostgreSQL connections to the database (pg_stat_activity, every {SAMPLE_EVERY:g} s, "
        f"{during.samples} samples): at the peak **{during.peak_open} open** (the highest of each: "
        f"{_apps(during.peak_by_app)}), at most {during.peak_busy} running a statement at "
        f"once; {result.settle:g} s after the clients stopped, **{result.after_total} open** "
        f"({_apps(result.after)}). The settings allow {b['describe']}; PostgreSQL's "
        f"max_connections is {result.max_connections}.",
    ]
    return lines


def replace_section(text: str, title: str, lines: list[str]) -> str:
    """`text` (RESULTS.md) with the section `## title` replaced by `lines`, or added
    before the closing "Whole run" line; every other section is kept as it is."""
    block = f"## {title}\n\n" + "\n".join(lines).rstrip("\n") + "\n"
    heading = f"## {title}\n"
    start = text.find("\n" + heading)
    if start >= 0:
        start += 1
        following = re.search(r"^(## |Whole run:)", text[start + len(heading) :], re.MULTILINE)
        end = start + len(heading) + following.start() if following else len(text)
        return text[:start] + block + "\n" + text[end:]
    closing = re.search(r"^Whole run:", text, re.MULTILINE)
    if closing:
        return text[: closing.start()] + block + "\n" + text[closing.start() :]
    return text.rstrip("\n") + "\n\n" + block


def print_summary(result: LoadResult) -> None:
    for kind, r in [*result.by_kind.items(), ("all", result.overall)]:
        log(
            f"{kind}: {r.count + r.errors} requests, {r.errors} errors, p50 {r.median_ms:.0f} ms, "
            f"p95 {r.p95_ms:.0f} ms, {r.rps:.1f} req/s"
        )
    if result.overall.first_error:
        log(f"first error: {result.overall.first_error}")
    log(
        f"connections: peak {result.during.peak_open} open ({_apps(result.during.peak_by_app)}), "
        f"{result.during.peak_busy} busy; after {result.settle:g} s: {result.after_total} "
        f"({_apps(result.after)}); allowed {result.budget['total']}"
    )
