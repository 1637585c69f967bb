"""What every part of the benchmark shares: where things are, what is requested, the log."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from helpdesk import devstack

# The environment as the shell gave it, before bench.run sets the bench's own values.
ORIGINAL_ENV = dict(os.environ)
BASE_DIR = devstack.BASE_DIR
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
LOG_DIR = devstack.DATA_DIR / "bench"
BENCH_DATABASE = "helpdesk_bench"
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "8"))
TENANT_SLUG = "bench"
TICKETS = 100_000  # the bench desk's; `--tickets N` adds a desk of N beside it
HOST_NAME = "bench.localhost"
API_PATH = "/api/v1/tickets/"
BARE_PATH = "/bench/bare-json/"
BARE_INSERT_PATH = "/bench/bare-insert/"
QUEUE_PATH = "/agent/"
FILTERED_PATH = "/agent/?priority=1&status=open"
WORKERS = 2
PY = sys.executable

STARTED = time.monotonic()


def desk_slug(tickets: int) -> str:
    """The desk of `tickets` generated tickets: `bench` for the bench's 100,000, else
    `bench-1m`, `bench-250k`, `bench-50`."""
    if tickets == TICKETS:
        return TENANT_SLUG
    for size, unit in ((1_000_000, "m"), (1_000, "k")):
        if tickets % size == 0:
            return f"{TENANT_SLUG}-{tickets // size}{unit}"
    return f"{TENANT_SLUG}-{tickets}"


def desk_host(tickets: int) -> str:
    """Where the desk is served: its subdomain of BASE_DOMAIN (bench/services.py), as
    helpdesk/tenancy.py finds a desk by its host."""
    return HOST_NAME if tickets == TICKETS else f"{desk_slug(tickets)}.localhost"


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)
