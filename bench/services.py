"""The services and the bench's own database.

The embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL's servers), with a
database of its own, `helpdesk_bench`, and Redis database 8 (BENCH_REDIS_DB): dev
and test data are never touched.
"""

from __future__ import annotations

import subprocess
from urllib.parse import urlsplit, urlunsplit

from bench.common import BASE_DIR, BENCH_DATABASE, BENCH_REDIS_DB, HOST_NAME, PY, log
from helpdesk import devstack


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def bench_env(hosts: tuple[str, ...] = (HOST_NAME,)) -> dict[str, str]:
    """The environment of every process of the benchmark (this one included); `hosts`:
    the desks' (bench/common.py desk_host)."""
    env = devstack.ensure_services()
    env.update(
        DATABASE_URL=_with_path(env["DATABASE_URL"], f"/{BENCH_DATABASE}"),
        REDIS_URL=_with_path(env["REDIS_URL"], f"/{BENCH_REDIS_DB}"),
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="0",
        SECRET_KEY="bench",
        BASE_DOMAIN="localhost",
        ALLOWED_HOSTS=",".join([*hosts, "localhost", "127.0.0.1"]),
        # The setup the figures in RESULTS.md were measured with: gunicorn's sync workers
        # (bench/server.py), one thread each keeping its connection. The server as
        # `make run` and the Dockerfile run it (threads, pool) is bench/load's.
        DB_POOL="0",
        DB_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        CELERY_TASK_ALWAYS_EAGER="0",
        SECURE_SSL_REDIRECT="0",
        # The API's per-user throttle (120/min by default) would answer most of the
        # benchmark's requests with 429: raised so the server's capacity is measured
        # (the throttle itself still runs on every request).
        API_RATE_USER="1000000/min",
        API_RATE_ANON="1000000/min",
        BEHIND_TLS_PROXY="0",
        PYTHONUNBUFFERED="1",
    )
    for name in ("PUBLIC_PORT", "EMAIL_BACKEND", "ACCOUNT_EMAIL_VERIFICATION", "PASSWORD_HASHERS"):
        env.pop(name, None)
    return env


def _maintenance_connection(url: str):
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    return config["NAME"], psycopg.connect(
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def ensure_database(url: str, *, drop: bool) -> None:
    from psycopg import sql

    name, conn = _maintenance_connection(url)
    if not name.endswith("_bench"):  # never drop anything but the bench's own database
        raise SystemExit(f"refusing to use database {name!r}: not a *_bench database")
    with conn:
        if drop:
            log(f"dropping database {name}")
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)  # noqa: S603 - our own manage.py


def prepare_database(env: dict[str, str], *, drop: bool) -> None:
    ensure_database(env["DATABASE_URL"], drop=drop)
    log("migrate")
    manage(env, "migrate", "--noinput", "-v", "0")
