"""gunicorn as in production: 2 sync workers, DEBUG off, bench.settings, on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench import loadgen
from bench.common import BASE_DIR, LOG_DIR, PY, WORKERS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command(port: int) -> list[str]:
    return [
        PY,
        "-m",
        "gunicorn",
        "helpdesk.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
    ]


def start_gunicorn(
    env: dict[str, str], port: int, *, cwd: Path = BASE_DIR, log_name: str = "gunicorn.log"
) -> subprocess.Popen:
    """gunicorn serving the checkout at `cwd` (this one; bench/sections/events.py also
    serves an older one beside it), once it answers /healthz."""
    return start_server(gunicorn_command(port), env, port, cwd=cwd, log_name=log_name)


def start_server(
    command: list[str],
    env: dict[str, str],
    port: int,
    *,
    cwd: Path = BASE_DIR,
    log_name: str,
    timeout: float = 60,
    ready: Callable[[subprocess.Popen], bool] = lambda process: True,
) -> subprocess.Popen:
    """Run `command`, its output in LOG_DIR/`log_name`, and return once it answers
    /healthz on `port` and `ready(process)` holds (the bench exits otherwise)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / log_name
    output = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603 - our own fixed command
        command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    health = loadgen.Target("health", "GET", "/healthz")
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; see {log_path}")
        try:
            status, _ = loadgen.Client(port, "localhost", timeout=5).send(health, 0)
            if status == 200 and ready(process):
                return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            raise SystemExit(f"the server did not answer /healthz; see {log_path}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
