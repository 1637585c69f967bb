"""The stack under load: `make run`'s processes on a database and Redis db of their own,
and PostgreSQL's connections to that database."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from bench import loadgen
from bench.common import BASE_DIR, LOG_DIR, ORIGINAL_ENV, PY, log
from helpdesk import devstack

LOAD_DATABASE = "helpdesk_load_bench"
LOAD_REDIS_DB = 9
SAMPLE_EVERY = 0.2  # seconds between looks at pg_stat_activity


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def load_env(port: int) -> dict[str, str]:
    """`make run`'s environment (devstack.run), on the load test's database and Redis db."""
    services = devstack.ensure_services()
    env = dict(ORIGINAL_ENV)  # as the shell gave it, before the rest of the bench changed it
    env.update(
        DATABASE_URL=_with_path(services["DATABASE_URL"], f"/{LOAD_DATABASE}"),
        REDIS_URL=_with_path(services["REDIS_URL"], f"/{LOAD_REDIS_DB}"),
        DEBUG="1",
        PUBLIC_PORT=str(port),
        # make run's DevOutboxBackend writes into .data/mail, which /dev/mail/ lists.
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    return env


def prepare(env: dict[str, str], port: int) -> None:
    import redis

    from bench.services import ensure_database

    ensure_database(env["DATABASE_URL"], drop=True)
    # Cached lists and queued tasks of an earlier run would name rows that are gone.
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    for args in (["migrate", "--noinput", "-v", "0"], ["seed_demo", "--port", str(port)]):
        log(f"manage.py {' '.join(args)}")
        subprocess.run(  # noqa: S603 - our own manage.py
            [PY, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, stdout=subprocess.DEVNULL
        )


def connection_budget(env: dict[str, str]) -> dict:
    """What the settings allow (helpdesk/capacity.py), asked of a process with `env`."""
    code = (
        "import dataclasses, json, django; django.setup(); from django.conf import settings; "
        "from helpdesk.capacity import connection_budget; "
        "b = connection_budget(settings); "
        "print(json.dumps({**dataclasses.asdict(b), 'web': b.web, 'worker': b.worker, "
        "'total': b.total, 'describe': b.describe(), 'threads': settings.WEB_THREADS, "
        "'side_by_side': settings.SIDE_BY_SIDE_THREADS, "
        "'pool_min': getattr(settings, 'DB_POOL_MIN_SIZE', None), "
        "'pool_timeout': getattr(settings, 'DB_POOL_TIMEOUT', None)}))"
    )
    done = subprocess.run(  # noqa: S603 - our own code
        [PY, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def start_stack(env: dict[str, str], port: int):
    from helpdesk.supervisor import Supervisor

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    output = (LOG_DIR / "load-stack.log").open("w")
    commands = devstack.stack_commands(port, beat_schedule=LOG_DIR / "load-celerybeat-schedule")
    stack = Supervisor(devstack.stack_children(commands, env), cwd=BASE_DIR, output=output)
    stack.start()
    health = loadgen.Target("health", "GET", "/healthz")
    deadline = time.monotonic() + 90
    while True:
        try:
            status, _ = loadgen.Client(port, "localhost", timeout=5).send(health, 0)
            if status == 200:
                return stack
        except OSError:
            pass
        dead = [c.name for c in stack.children if c.process.poll() is not None]
        if dead or time.monotonic() > deadline:
            stack.stop()
            raise SystemExit(f"{dead or 'web'} did not start; see {LOG_DIR / 'load-stack.log'}")
        time.sleep(0.3)


@dataclass
class ConnectionSamples:
    """PostgreSQL connections to the load test's database over time."""

    peak_open: int = 0
    peak_busy: int = 0
    peak_by_app: dict[str, int] = field(default_factory=dict)
    samples: int = 0

    def add(self, rows: list[tuple[str, str, int]]) -> None:
        self.samples += 1
        self.peak_open = max(self.peak_open, sum(n for _app, _state, n in rows))
        self.peak_busy = max(self.peak_busy, sum(n for _a, state, n in rows if state != "idle"))
        by_app: dict[str, int] = {}
        for app, _state, n in rows:
            by_app[app] = by_app.get(app, 0) + n
        for app, n in by_app.items():
            self.peak_by_app[app] = max(self.peak_by_app.get(app, 0), n)


def monitor_connection(env: dict[str, str]):
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(env["DATABASE_URL"])
    return psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",  # not the measured database, so this one is not counted
        autocommit=True,
    )


def connections_now(conn) -> list[tuple[str, str, int]]:
    return conn.execute(
        "SELECT coalesce(nullif(application_name, ''), 'other'), coalesce(state, ''), count(*) "
        "FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
        "GROUP BY 1, 2",
        [LOAD_DATABASE],
    ).fetchall()
