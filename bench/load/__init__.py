"""`make bench-load`: 50 signed-in clients for 60 s against the stack as `make run` starts it.

    python -m bench.load                          # writes its section of bench/RESULTS.md
    python -m bench.load --clients 10 --seconds 20 --no-write

1. Services: the embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL's servers),
   with a database of its own, `helpdesk_load_bench`, made afresh and filled with the
   demo desk by `manage.py seed_demo` as `make run` does, and Redis database 9
   (LOAD_REDIS_DB), emptied first: dev, test and bench data are never touched.
2. web, worker and beat started with `make run`'s own commands and environment
   (helpdesk/devstack.py: gunicorn with helpdesk/gunicorn_conf.py, DEBUG=1) on a free
   port; the one difference is that outgoing email stays in memory instead of going
   to `make run`'s outbox under .data/mail.
3. Each demo person signs in once through the login form; a person's clients share
   the session (one person, several tabs).
4. The clients send requests back to back on keep-alive connections to 127.0.0.1 for
   --seconds: customers in the help center, agents in the queue and on tickets, and
   customers filing requests through the help-center form with its CSRF token. Every
   answer other than the expected one (200, or the redirect after a form) is an error,
   as is a connection that fails. PostgreSQL's connections to the database are sampled
   every 0.2 s meanwhile, and again a few seconds after the clients stopped.
5. The figures go into the "Under load" section of bench/RESULTS.md (the other
   sections are left as they are) and to the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time

from bench.common import BASE_DIR, RESULTS, log
from bench.cpu import OtherCpu, wait_for_quiet
from bench.load.clients import AGENTS, CUSTOMERS, run_clients, sign_in
from bench.load.report import (
    SECTION_TITLE,
    LoadResult,
    print_summary,
    replace_section,
    report_lines,
    targets,
)
from bench.load.stack import (
    LOAD_DATABASE,
    SAMPLE_EVERY,
    ConnectionSamples,
    connection_budget,
    connections_now,
    load_env,
    monitor_connection,
    prepare,
    start_stack,
)
from bench.server import free_port


def run_load(*, clients: int, seconds: float, settle: float, wait_quiet: float) -> LoadResult:
    port = free_port()
    env = load_env(port)
    prepare(env, port)
    budget = connection_budget(env)
    busy_before = wait_for_quiet(wait_quiet)
    stack = start_stack(env, port)
    try:
        log(f"make run's stack on port {port}: {budget['describe']}")
        people = [*CUSTOMERS, *AGENTS]
        sessions = {email: sign_in(port, email) for email in people}
        log(f"{len(sessions)} people signed in; {clients} clients for {seconds:g} s")
        monitor = monitor_connection(env)
        max_connections = monitor.execute("SHOW max_connections").fetchone()[0]
        during = ConnectionSamples()
        stop_sampling = threading.Event()

        def sample() -> None:
            while not stop_sampling.is_set():
                during.add(connections_now(monitor))
                stop_sampling.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        other = OtherCpu(database=LOAD_DATABASE)
        sampler.start()
        try:
            by_kind, overall, statuses, _counts = run_clients(port, sessions, clients, seconds)
        finally:
            stop_sampling.set()
            sampler.join()
        other_cpu = other.share()
        time.sleep(settle)
        after: dict[str, int] = {}
        for app, _state, n in connections_now(monitor):
            after[app] = after.get(app, 0) + n
        monitor.close()
    finally:
        stack.stop()
    return LoadResult(
        clients=clients,
        seconds=seconds,
        by_kind=by_kind,
        overall=overall,
        statuses=statuses,
        during=during,
        after=after,
        settle=settle,
        budget=budget,
        max_connections=max_connections,
        signed_in=len(sessions),
        busy_before=busy_before,
        other_cpu=other_cpu,
        port=port,
        finished=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (1-200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration (1-600)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before the last look")
    parser.add_argument("--wait-quiet", type=float, default=60.0, help="seconds, at most")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    # Bounded, as every load test here must be.
    if not 1 <= args.clients <= 200:
        parser.error("--clients must be between 1 and 200")
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run_load(
        clients=args.clients, seconds=args.seconds, settle=args.settle, wait_quiet=args.wait_quiet
    )
    print_summary(result)
    if not args.no_write:
        command = "make bench-load" + (f' ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else "")
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        RESULTS.write_text(replace_section(text, SECTION_TITLE, report_lines(result, command)))
        log(f"wrote its section of {RESULTS.relative_to(BASE_DIR)}")
    return 0 if all(ok for _t, _m, ok in targets(result)) else 1
