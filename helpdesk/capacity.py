"""How many PostgreSQL connections the app's processes hold at most (docs/operations.md).

- web: each gunicorn process has WEB_THREADS request threads, SIDE_BY_SIDE_THREADS
  dashboard threads and SOCKET_THREADS (1) for websocket consumers, each holding at most
  one connection at a time. With the pool
  (DB_POOL) they borrow from the process's pool of at most DB_POOL_MAX_SIZE
  (at least those threads together); without it each thread keeps its own.
- worker: each Celery process (WORKER_CONCURRENCY, prefork) runs one task at a time
  on one connection, which Celery closes after the task. The worker runs without the
  pool (DB_POOL=0 in its environment: helpdesk/devstack.py, docker-compose.yml), since
  Celery also closes a process's pool after every task: a pool would start its threads
  and DB_POOL_MIN_SIZE + 1 connections anew for each task.
- beat only sends messages to Redis: no connection.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionBudget:
    web_processes: int
    per_web_process: int
    worker_processes: int
    per_worker_process: int
    pooled: bool

    @property
    def web(self) -> int:
        return self.web_processes * self.per_web_process

    @property
    def worker(self) -> int:
        return self.worker_processes * self.per_worker_process

    @property
    def total(self) -> int:
        return self.web + self.worker

    def describe(self) -> str:
        source = "from each process's pool" if self.pooled else "one per thread"
        return (
            f"at most {self.total} database connections: web {self.web_processes} x "
            f"{self.per_web_process} ({source}), worker {self.worker_processes} x "
            f"{self.per_worker_process}, beat none"
        )


def connection_budget(settings) -> ConnectionBudget:
    threads = settings.WEB_THREADS + settings.SIDE_BY_SIDE_THREADS + settings.SOCKET_THREADS
    return ConnectionBudget(
        web_processes=settings.WEB_PROCESSES,
        per_web_process=settings.DB_POOL_MAX_SIZE if settings.DB_POOL else threads,
        worker_processes=settings.CELERY_WORKER_CONCURRENCY,
        per_worker_process=1,
        pooled=settings.DB_POOL,
    )
