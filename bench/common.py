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
HOST_NAME = "bench.localhost"
API_PATH = "/api/v1/tickets/"
BARE_PATH = "/bench/bare-json/"
BARE_INSERT_PATH = "/bench/bare-insert/"
QUEUE_PATH = "/agent/"
FILTERED_PATH = "/agent/?priority=1&status=open"
WORKERS = 2
PY = sys.executable

STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:6.1f}s] {message}", flush=True)
