"""A small HTTP load generator: threads, http.client, one connection per client.

Connections are kept alive when the server allows it; gunicorn's sync workers
(the production setting) answer `Connection: close`, and http.client then opens
a new connection for the next request, which is timed as part of it.
Only 127.0.0.1 is ever contacted; the tenant is chosen by the Host header.
"""

from __future__ import annotations

import http.client
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Target:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Callable[[int], bytes] | None = None  # request index -> body
    expect: int = 200


@dataclass
class Result:
    latencies: list[float]  # seconds, of the successful requests
    elapsed: float  # wall-clock seconds of the whole run
    errors: int = 0
    first_error: str = ""

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def p95_ms(self) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)  # nearest-rank percentile
        return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] * 1000

    @property
    def rps(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


class Client:
    """One keep-alive connection to 127.0.0.1:port (reopened when the server closes it)."""

    def __init__(self, port: int, host: str, timeout: float = 30.0):
        self.host = host
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def send(self, target: Target, index: int) -> tuple[int, bytes]:
        body = target.body(index) if target.body else None
        headers = {"Host": self.host, "Connection": "keep-alive", **target.headers}
        try:
            self.connection.request(target.method, target.path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        if response.will_close:
            self.connection.close()
        return response.status, data

    def close(self) -> None:
        self.connection.close()


def _timed(client: Client, target: Target, index: int, result: Result, lock) -> None:
    started = time.perf_counter()
    try:
        status, data = client.send(target, index)
    except (OSError, http.client.HTTPException) as error:
        status, data = -1, repr(error).encode()
    took = time.perf_counter() - started
    with lock:
        if status == target.expect:
            result.latencies.append(took)
        else:
            result.errors += 1
            if not result.first_error:
                result.first_error = f"HTTP {status}: {data[:300]!r}"


def sequential(port: int, host: str, target: Target, *, requests: int, warmup: int) -> Result:
    """One request at a time: `warmup` untimed requests, then `requests` timed ones."""
    client = Client(port, host)
    lock = threading.Lock()
    throwaway = Result([], 0.0)
    for i in range(warmup):
        _timed(client, target, i, throwaway, lock)
    result = Result([], 0.0, errors=throwaway.errors, first_error=throwaway.first_error)
    started = time.perf_counter()
    for i in range(warmup, warmup + requests):
        _timed(client, target, i, result, lock)
    result.elapsed = time.perf_counter() - started
    client.close()
    return result


def alternating(
    port: int,
    targets: list[tuple[str, Target]],
    *,
    requests: int,
    warmup: int,
    seconds: float = math.inf,
    least: int = 1,
) -> list[Result]:
    """One request at a time, taking turns between `targets` (host, target): A, B, A, B...
    so that each sees the same state of the machine. `warmup` untimed rounds, then
    `requests` timed ones, or fewer (never under `least`) once `seconds` have passed."""
    clients = [Client(port, host) for host, _target in targets]
    lock = threading.Lock()
    warm = [Result([], 0.0) for _ in targets]
    for i in range(warmup):
        for client, (_host, target), result in zip(clients, targets, warm, strict=True):
            _timed(client, target, i, result, lock)
    results = [Result([], 0.0, errors=w.errors, first_error=w.first_error) for w in warm]
    started = time.perf_counter()
    for n, i in enumerate(range(warmup, warmup + requests)):
        if n >= least and time.perf_counter() - started > seconds:
            break
        for client, (_host, target), result in zip(clients, targets, results, strict=True):
            _timed(client, target, i, result, lock)
    elapsed = time.perf_counter() - started
    for client, result in zip(clients, results, strict=True):
        result.elapsed = elapsed  # every target's turns together
        client.close()
    return results


def concurrent(
    port: int, host: str, target: Target, *, clients: int, seconds: float, offset: int
) -> Result:
    """`clients` threads, each sending its next request as soon as the last one answered."""
    result = Result([], 0.0)
    lock = threading.Lock()
    counter = iter(range(offset, offset + 10_000_000))
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def work() -> None:
        client = Client(port, host)
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            with lock:
                index = next(counter)
            _timed(client, target, index, result, lock)
        client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result
