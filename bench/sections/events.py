"""Domain events' cost: API ticket creation and reply with the event machinery (this
checkout) against the code before it, in the same run, on the same database.

The code before it is a git worktree of BASELINE (main before issue 18: services called
notifications and surveys directly) under .data/bench/baseline, served by the same
gunicorn command beside this checkout's, one after the other, twice each in turn (A B A
B) so that a drift of the machine does not favour either; each keeps its better round.
The baseline runs against today's schema: it never writes the columns added since
(all nullable or unused by these two requests).

Target (issue 18): no more than 10% slower with 8 clients, for both requests.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from bench import loadgen
from bench.common import API_PATH, BASE_DIR, LOG_DIR, log
from bench.http_load import Measured, check_pages, measure
from bench.section import BenchRun, Section, TargetRow
from bench.server import free_port, start_gunicorn, stop

# main just before domain events: "Merge rating" (the widget's chat rating).
BASELINE = "d77ed40"
BASELINE_DIR = LOG_DIR / "baseline"
ROUNDS = 2
SLOWER_AT_MOST = 0.10
CREATE = "API ticket creation"
REPLY = "API reply to a ticket"


def _git(*args: str) -> None:
    git = shutil.which("git")
    if git is None:
        raise OSError("git is not installed")
    subprocess.run([git, *args], check=True, capture_output=True)  # noqa: S603 - fixed


def _baseline_checkout() -> str | None:
    """The baseline's worktree, made or moved to BASELINE; None, or why git could not."""
    try:
        if (BASELINE_DIR / ".git").exists():
            _git("-C", str(BASELINE_DIR), "checkout", "-q", "--detach", BASELINE)
        else:
            _git("-C", str(BASE_DIR), "worktree", "prune")
            _git(
                "-C", str(BASE_DIR), "worktree", "add", "-q", "--force", "--detach",
                str(BASELINE_DIR), BASELINE,
            )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return f"no git checkout of {BASELINE}: {error} {detail.decode(errors='replace')}"
    return None


class EventsCost(Section):
    title = "Domain events"

    def __init__(self):
        self.results: dict[str, dict[str, Measured]] = {}  # "baseline"/"events" -> name -> best
        self.missing = ""

    def _targets(self, run: BenchRun, ticket_number: int) -> list[loadgen.Target]:
        fixtures = run.fixtures
        headers = fixtures.api_headers

        def reply_body(i: int) -> bytes:
            return json.dumps({"body": f"One more detail, number {i}."}).encode()

        return [
            loadgen.Target(
                CREATE, "POST", API_PATH, headers, body=fixtures.api_creation_body, expect=201
            ),
            loadgen.Target(
                REPLY,
                "POST",
                f"{API_PATH}{ticket_number}/messages/",
                headers,
                body=reply_body,
                expect=201,
            ),
        ]

    def measure_in_process(self, run: BenchRun) -> None:
        fixtures = run.fixtures
        if not fixtures.api_key:
            self.missing = f"the API fixtures ({fixtures.api_missing})"
            return
        self.missing = _baseline_checkout() or ""
        if self.missing:
            log(f"Domain events not measured: {self.missing}")
            return
        from django.db import connections

        from helpdesk.tenancy import tenant_scope
        from tickets.services import ticket_create

        # The ticket the replies go to: the API user's own (deleted after the run, as
        # every ticket past the generated ones is).
        with tenant_scope(fixtures.tenant):
            ticket = ticket_create(
                tenant=fixtures.tenant,
                requester=fixtures.api_user,
                subject="Replies measured by the bench",
                body="The bench replies here.",
            )
        connections.close_all()
        targets = self._targets(run, ticket.number)
        for _round in range(ROUNDS):
            for label, directory in (("baseline", BASELINE_DIR), ("events", BASE_DIR)):
                port = free_port()
                log(f"Domain events: {label} ({directory.name}) on 127.0.0.1:{port}")
                server = start_gunicorn(run.env, port, cwd=directory, log_name=f"{label}.log")
                try:
                    check_pages(port, targets)
                    for measured in measure(port, targets, run.args):
                        best = self.results.setdefault(label, {}).get(measured.target.name)
                        if best is None or measured.concurrent.rps > best.concurrent.rps:
                            self.results[label][measured.target.name] = measured
                finally:
                    stop(server)

    def _pair(self, name: str) -> tuple[Measured, Measured] | None:
        if not self.results:
            return None
        before, after = self.results["baseline"].get(name), self.results["events"].get(name)
        return (before, after) if before and after else None

    def targets(self, run: BenchRun) -> list[TargetRow]:
        rows = []
        for name in (CREATE, REPLY):
            label = (
                f"{name} with domain events, {run.args.clients} clients: at most "
                f"{SLOWER_AT_MOST:.0%} slower than before them (same run)"
            )
            pair = self._pair(name)
            if pair is None:
                rows.append((label, "—", None))
                continue
            before, after = pair
            ratio = after.concurrent.rps / max(before.concurrent.rps, 1e-9)
            errors = before.concurrent.errors + after.concurrent.errors
            shown = f"{after.concurrent.rps:.0f} vs {before.concurrent.rps:.0f} req/s = {ratio:.0%}"
            rows.append((label, shown, ratio >= 1 - SLOWER_AT_MOST and not errors))
        return rows

    def report(self, run: BenchRun) -> list[str]:
        if self.missing:
            return [f"Not measured: {self.missing}."]
        clients = run.args.clients
        lines = [
            f"| request | code | req/s, 1 at a time | p95 ms, 1 at a time | req/s, {clients} "
            f"clients | p95 ms, {clients} clients | errors |",
            "|---|---|--:|--:|--:|--:|--:|",
        ]
        for name in (CREATE, REPLY):
            for label, code in (("baseline", f"before events (`{BASELINE}`)"), ("events", "now")):
                m = self.results.get(label, {}).get(name)
                if m is None:
                    continue
                s, c = m.sequential, m.concurrent
                lines.append(
                    f"| {name} | {code} | {s.rps:.0f} | {s.p95_ms:.1f} | {c.rps:.0f} "
                    f"| {c.p95_ms:.1f} | {s.errors + c.errors} |"
                )
        lines += [
            "",
            f"Both served by the same gunicorn command, one after the other, {ROUNDS} rounds "
            "in turn; each row is its better round. *Before events* is a git worktree of "
            f"`{BASELINE}` (main before issue 18) at `.data/bench/baseline`, on the same "
            "database: its services call the notifications and surveys directly. *Now* "
            "publishes domain events (docs/events.md): one outbox row per event wanted by a "
            "worker, as the notification job was; routing rules are read once per creation "
            "(none exist in the bench data).",
        ]
        return lines
