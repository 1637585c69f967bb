"""Measuring in-process, without HTTP or gunicorn: query counts and timings.

`timed(call)` is what any in-process section uses: the median of IN_PROCESS_RUNS
calls, the part of it spent waiting for PostgreSQL, and the slowest single query.
`measure_request` applies it to a request through django.test.Client.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import HOST_NAME
from bench.fixtures import Fixtures

IN_PROCESS_RUNS = 7


class SqlTimer:
    """Times each query precisely (CaptureQueriesContext rounds to milliseconds)."""

    def __init__(self):
        self.times: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append(time.perf_counter() - started)


@dataclass
class Timing:
    total_ms: float  # median of the calls
    sql_ms: float  # of which waiting for the database (median)
    slowest_ms: float  # the slowest single query (median)


def timed(call: Callable[[int], object], runs: int = IN_PROCESS_RUNS) -> Timing:
    """Time `call(n)` for n in 0..runs-1 (each call warm: make a first call untimed)."""
    from django.db import connection

    totals, sql, slowest = [], [], []
    for n in range(runs):
        timer = SqlTimer()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            call(n)
        totals.append(time.perf_counter() - started)
        sql.append(sum(timer.times))
        slowest.append(max(timer.times, default=0.0))
    return Timing(
        total_ms=statistics.median(totals) * 1000,
        sql_ms=statistics.median(sql) * 1000,
        slowest_ms=statistics.median(slowest) * 1000,
    )


@dataclass
class QueryCount:
    label: str
    path: str
    queries: int
    rows: str
    status: int
    total_ms: float  # in-process, median of IN_PROCESS_RUNS requests
    sql_ms: float  # of which waiting for the database (median)
    slowest_ms: float  # the slowest single query (median)


def send(client, method: str, path: str, fixtures: Fixtures, n: int):
    extra = {"HTTP_HOST": HOST_NAME}
    if method == "POST":
        body = json.dumps({**fixtures.api_payload, "subject": f"Query count {n}"})
        extra["HTTP_AUTHORIZATION"] = f"Token {fixtures.api_key}"
        return client.post(path, body, content_type="application/json", **extra)
    return client.get(path, **extra)


def measure_request(label, path, client, fixtures, *, method="GET", kind="") -> QueryCount:
    """Query count of one request, then in-process timings of a few more."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send(client, method, path, fixtures, 0)  # warm
    with CaptureQueriesContext(connection) as captured:
        response = send(client, method, path, fixtures, 1)
    # Read now: captured_queries slices connection.queries_log, which the next request clears.
    queries = len(captured.captured_queries)
    body = response.content.decode()
    rows = "–"
    if kind == "rows":
        rows = str(body.count('name="selected" value='))
    elif kind == "messages":
        rows = str(body.count('class="message-item'))
    timing = timed(lambda n: send(client, method, path, fixtures, n + 2))
    return QueryCount(
        label=label,
        path=path,
        queries=queries,
        rows=rows,
        status=response.status_code,
        total_ms=timing.total_ms,
        sql_ms=timing.sql_ms,
        slowest_ms=timing.slowest_ms,
    )
