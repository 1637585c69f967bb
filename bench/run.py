"""`make bench`: the agent queue, a ticket page and API ticket creation under load.

    python -m bench.run                 # generate the data if missing, measure, write RESULTS.md
    python -m bench.run --regenerate    # drop the bench database and generate it again
    python -m bench.run --only dashboard  # some sections only; RESULTS.md is left alone
    python -m bench.run --tickets 1000000  # also a desk of 1,000,000 tickets, compared (scale)

1. Services: the embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL's
   servers), with a database of its own, `helpdesk_bench`, and Redis database 8
   (BENCH_REDIS_DB): dev and test data are never touched.
2. Data: tenant `bench` with 100,000 tickets and 300,000 messages (bench/generate.py),
   and with `--tickets N` a second desk of N tickets (`bench-1m`, served at
   bench-1m.localhost), generated only when missing.
3. SQL queries per request, in-process with django.test.Client.
4. gunicorn (2 sync workers, DEBUG off, bench.settings) on a free port of 127.0.0.1,
   measured over HTTP by bench/loadgen.py: one request at a time, then 8 clients;
   then what sections measure over HTTP their own way (the two desks' requests taking
   turns, bench/sections/scale.py).
5. Tickets the API created are deleted again, and bench/RESULTS.md is rewritten.

Each step lives in a module of its own: services.py (1), fixtures.py (2),
inprocess.py (3), server.py and http_load.py (4), report.py (5); cpu.py tells
whether other processes are using the CPUs. What is measured and reported is a list
of sections (bench/section.py, bench/sections/): a new one is a Section subclass
listed in bench/sections/__init__.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.common import BASE_DIR, LOG_DIR, RESULTS, STARTED, TICKETS, WORKERS, desk_host, log
from bench.cpu import wait_for_quiet
from bench.fixtures import cleanup, ensure_data, make_fixtures
from bench.http_load import check_pages, measure
from bench.report import write_results
from bench.section import BenchRun
from bench.sections import SECTIONS, section_name
from bench.server import free_port, start_gunicorn, stop
from bench.services import bench_env, manage, prepare_database


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="drop and regenerate the data")
    parser.add_argument("--requests", type=int, default=300, help="timed requests, 1 at a time")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests first")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration with clients")
    parser.add_argument(
        "--retry-budget",
        type=float,
        default=240.0,
        help="seconds, all targets together, for measuring disturbed targets again",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        help="seconds to wait at most for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--chat-seconds",
        type=float,
        default=30.0,
        help="seconds of chat messages (section chat), at least as long as the agent queue "
        "takes to measure meanwhile",
    )
    parser.add_argument(
        "--chat-idle",
        type=int,
        default=2000,
        help="idle customer sockets (section chat), at most 2,000",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="make sure the data exists, then stop"
    )
    parser.add_argument(
        "--tickets",
        type=int,
        default=TICKETS,
        help=f"tickets of a second desk, measured beside the {TICKETS:,} of `bench` "
        "(section scale), e.g. 1000000; generated when missing",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run (bench/sections/<name>.py), e.g. dashboard; "
        "their report goes to .data/bench/results-<names>.md and RESULTS.md is left alone",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.chat_idle <= 2000:
        parser.error("--chat-idle must be between 0 and 2000")
    if not 1 <= args.chat_seconds <= 600:
        parser.error("--chat-seconds must be between 1 and 600")
    if args.tickets < 100:
        parser.error("--tickets must be at least 100")
    args.only = [name for name in args.only.split(",") if name]
    unknown = set(args.only) - {section_name(s) for s in SECTIONS}
    if unknown:
        parser.error(
            f"unknown section {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(section_name(s) for s in SECTIONS)}"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scales = tuple(dict.fromkeys([TICKETS, args.tickets]))  # the bench's desk first
    env = bench_env(hosts=tuple(desk_host(tickets) for tickets in scales))
    os.environ.update(env)
    prepare_database(env, drop=args.regenerate)
    log("collectstatic")
    manage(env, "collectstatic", "--noinput", "-v", "0")

    import django

    django.setup()
    from django.db import connections

    tenant, data_note = ensure_data(env, regenerate=False, scales=scales)
    log(f"data: {data_note}")
    if args.generate_only:
        return 0
    cleanup(tenant, env["REDIS_URL"])  # left over by an interrupted run
    fixtures = make_fixtures(tenant)
    if fixtures.api_missing:
        log(f"API not measured: missing {fixtures.api_missing}")
    run = BenchRun(
        args=args,
        env=env,
        fixtures=fixtures,
        data_note=data_note,
        # With --only, the chosen sections and the summary of their targets.
        sections=[
            section()
            for section in SECTIONS
            if not args.only or section_name(section) in [*args.only, "targets"]
        ],
    )
    wait_for_quiet(args.wait_quiet)
    for section in run.sections:
        section.measure_in_process(run)
    connections.close_all()

    run.busy_before = wait_for_quiet(args.wait_quiet)
    run.load_before = os.getloadavg()
    found = [target for section in run.sections for target in section.http_targets(run)]
    own_way = [section for section in run.sections if section.needs_server(run)]
    if found or own_way:
        port = free_port()
        log(
            f"gunicorn on 127.0.0.1:{port}, {WORKERS} workers "
            f"(CPUs {run.busy_before:.0%} busy before)"
        )
        server = start_gunicorn(env, port)
        try:
            if found:
                check_pages(port, found)
                run.measured = measure(port, found, args)
            for section in own_way:
                section.measure_over_http(run, port)
        finally:
            stop(server)
    run.load_after = os.getloadavg()
    run.removed = cleanup(tenant, env["REDIS_URL"])
    path = LOG_DIR / f"results-{'-'.join(args.only)}.md" if args.only else RESULTS
    write_results(run, seconds=time.monotonic() - STARTED, path=path)
    # The data (and the partial results with it) may live outside the checkout
    # (HELPDESK_DATA_DIR).
    log(f"wrote {path.relative_to(BASE_DIR) if path.is_relative_to(BASE_DIR) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
