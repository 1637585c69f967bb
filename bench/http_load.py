"""Measuring over HTTP against gunicorn with bench/loadgen.py: one request at a time,
then N clients; a target disturbed by other processes is measured again."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from bench import loadgen
from bench.chat import servers
from bench.common import BENCH_DATABASE, HOST_NAME, QUEUE_PATH, log
from bench.cpu import DISTURBED, OtherCpu, wait_for_quiet

# Where a request's CPU goes, by process (see `_own_processes`).
SERVER, POSTGRES, REDIS, LOAD = "server", "PostgreSQL", "Redis", "load generator"


@dataclass
class Measured:
    target: loadgen.Target
    sequential: loadgen.Result | None = None
    concurrent: loadgen.Result | None = None
    sequential_other: float = 0.0  # CPU share of other processes meanwhile
    concurrent_other: float = 0.0
    attempts: int = 1
    # CPU seconds of the benchmark's own processes during the N clients, by part.
    concurrent_cpu: dict[str, float] = field(default_factory=dict)

    @property
    def disturbance(self) -> float:
        return max(self.sequential_other, self.concurrent_other)

    def cpu_ms_per_request(self) -> dict[str, float]:
        """With N clients: each part's CPU milliseconds per answered request."""
        answered = max(self.concurrent.count, 1) if self.concurrent else 1
        return {part: used * 1000 / answered for part, used in self.concurrent_cpu.items()}


def _own_processes() -> dict[str, list[int]]:
    """The benchmark's processes by part: gunicorn (this process's other descendants),
    PostgreSQL's backends for the bench database, Redis, and this process, whose
    threads are the load generator's clients."""
    postgres = servers.postgres_backends(BENCH_DATABASE)
    redis = servers.redis_pids(os.environ.get("REDIS_URL", ""))
    # (PostgreSQL and Redis are this process's descendants when it started them.)
    database_or_cache = {*servers.pids_matching("postgres"), *redis}
    server = [p for p in servers.descendants(os.getpid()) if p not in database_or_cache]
    return {SERVER: server, POSTGRES: postgres, REDIS: redis, LOAD: [os.getpid()]}


def check_pages(port: int, found: list[loadgen.Target], host: str = HOST_NAME) -> None:
    """Every target answers as expected before anything is timed (no login redirects)."""
    client = loadgen.Client(port, f"{host}:{port}")
    for target in found:
        status, data = client.send(target, 999_999)
        if status != target.expect:
            raise SystemExit(f"{target.method} {target.path}: HTTP {status}: {data[:500]!r}")
        if target.path.split("?")[0] == QUEUE_PATH:
            rows = data.decode().count('name="selected" value=')
            if rows == 0:
                raise SystemExit(f"{target.path} shows no tickets")
    client.close()


def _measure_once(port: int, target: loadgen.Target, offset: int, args) -> Measured:
    host = f"{HOST_NAME}:{port}"
    m = Measured(target)
    other = OtherCpu()
    m.sequential = loadgen.sequential(
        port, host, target, requests=args.requests, warmup=args.warmup
    )
    m.sequential_other = other.share()
    s = m.sequential
    log(
        f"{target.name}: 1 at a time: median {s.median_ms:.1f} ms, p95 {s.p95_ms:.1f} ms, "
        f"{s.rps:.0f} req/s, errors {s.errors} (other processes: {m.sequential_other:.0%})"
    )
    other = OtherCpu()
    own = servers.CpuUse(_own_processes())
    m.concurrent = loadgen.concurrent(
        port, host, target, clients=args.clients, seconds=args.seconds, offset=offset
    )
    m.concurrent_other = other.share()
    m.concurrent_cpu = own.seconds({POSTGRES: servers.postgres_backends(BENCH_DATABASE)})
    c = m.concurrent
    log(
        f"{target.name}: {args.clients} clients: {c.rps:.0f} req/s, median {c.median_ms:.1f} ms, "
        f"p95 {c.p95_ms:.1f} ms, errors {c.errors} (other processes: {m.concurrent_other:.0%})"
    )
    for error in {s.first_error, c.first_error} - {""}:
        log(f"  first error: {error}")
    return m


def measure(port: int, found, args) -> list[Measured]:
    """Each target 1 at a time, then with clients; again (within a time budget) when
    other processes took more than DISTURBED of the CPUs meanwhile."""
    budget_ends = time.monotonic() + args.retry_budget
    measured = []
    for i, target in enumerate(found):
        attempts = []
        while True:
            offset = (i + 1) * 1_000_000 + len(attempts) * 100_000
            attempts.append(_measure_once(port, target, offset, args))
            if attempts[-1].disturbance <= DISTURBED or time.monotonic() > budget_ends:
                break
            log(f"{target.name}: disturbed by other processes; measuring it again")
            wait_for_quiet(max(min(60.0, budget_ends - time.monotonic()), 0))
        best = min(attempts, key=lambda m: m.disturbance)
        best.attempts = len(attempts)
        measured.append(best)
    return measured
