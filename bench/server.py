"""gunicorn as in production: 2 sync workers, DEBUG off, bench.settings, on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
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
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_file = (LOG_DIR / log_name).open("w")
    process = subprocess.Popen(  # noqa: S603 - our own fixed command
        gunicorn_command(port), cwd=cwd, env=env, stdout=log_file, stderr=log_file
    )
    health = loadgen.Target("health", "GET", "/healthz")
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {LOG_DIR / log_name}")
        try:
            status, _ = loadgen.Client(port, "localhost", timeout=5).send(health, 0)
            if status == 200:
                return process
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            raise SystemExit(f"gunicorn did not answer /healthz; see {LOG_DIR / log_name}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
