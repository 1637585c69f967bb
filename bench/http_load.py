"""Measuring over HTTP against gunicorn with bench/loadgen.py: one request at a time,
then N clients; a target disturbed by other processes is measured again."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import loadgen
from bench.common import HOST_NAME, QUEUE_PATH, log
from bench.cpu import DISTURBED, OtherCpu, wait_for_quiet


@dataclass
class Measured:
    target: loadgen.Target
    sequential: loadgen.Result | None = None
    concurrent: loadgen.Result | None = None
    sequential_other: float = 0.0  # CPU share of other processes meanwhile
    concurrent_other: float = 0.0
    attempts: int = 1

    @property
    def disturbance(self) -> float:
        return max(self.sequential_other, self.concurrent_other)


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
    m.concurrent = loadgen.concurrent(
        port, host, target, clients=args.clients, seconds=args.seconds, offset=offset
    )
    m.concurrent_other = other.share()
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
