"""RESULTS.md: the machine and setup, then each section's part (bench/section.py)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

from bench.common import BASE_DIR, BENCH_DATABASE, HOST_NAME, RESULTS
from bench.section import BenchRun
from bench.server import gunicorn_command


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else memory
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()  # noqa: S607
    return {"nproc": nproc or str(os.cpu_count()), "cpu": cpu, "memory": memory}


def versions() -> str:
    import django
    import gunicorn
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"gunicorn {gunicorn.__version__}, PostgreSQL {postgres}"
    )


def code_version() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True)  # noqa: S603, S607
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " with uncommitted changes in the work tree" if git("status", "--porcelain") else ""
    return f"git {commit}{dirty}"


def _setup_lines(run: BenchRun) -> list[str]:
    args, sizes = run.args, run.fixtures.sizes
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    box = machine()
    command = "make bench" + (f' ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else "")
    server_command = " ".join(["python", *gunicorn_command(0)[1:]]).replace(":0", ":<free port>")
    return [
        "# Benchmark results",
        "",
        f"Written by `{command}` (`.venv/bin/python -m bench.run`, see bench/run.py) on {now};",
        "every run rewrites this file.",
        "",
        "## Machine and setup",
        "",
        f"- Machine: {box['nproc']} CPUs (`nproc`), {box['cpu']}, {box['memory']} memory.",
        f"- Software: {versions()}; code at {code_version()}.",
        f"- Data: tenant `bench` in its own database `{BENCH_DATABASE}`: "
        f"{sizes['tickets']:,} tickets ({sizes['unsolved']:,} unsolved), "
        f"{sizes['messages']:,} messages, {sizes['events']:,} audit events, "
        f"{sizes['organizations']:,} organizations, {sizes['customers']:,} customers, "
        f"{sizes['staff']} agents and admins; {run.data_note}.",
        f"- Server: `{server_command}`"
        " (sync workers, as the Dockerfile ran it before live chat; the server `make run` "
        "and the Dockerfile start now is measured beside it in the live chat section) "
        "with DEBUG=0, "
        "DJANGO_SETTINGS_MODULE=bench.settings (the app's settings; cookies not Secure, "
        "URLs plus `/bench/bare-json/`), Celery tasks queued to Redis (no worker running).",
        f"- Load: bench/loadgen.py (threads, http.client) on the same {box['nproc']} CPUs, "
        f"`Host: {HOST_NAME}:<port>`, an agent's session cookie for the pages, "
        "an API token of a Pro+ customer for the API (its per-user throttle raised from "
        "120/min with `API_RATE_USER`, so that capacity rather than the limit is measured). "
        "*1 at a time*: "
        f"{args.warmup} warm-up requests, then {args.requests} timed ones. "
        f"*{args.clients} clients*: "
        f"{args.clients} threads sending back to back for {args.seconds:g} s.",
        f"- Other load: the CPUs were {run.busy_before:.0%} busy during the 3 s before the server "
        f"started; load average {run.load_before[0]:.2f} then, {run.load_after[0]:.2f} after "
        "the HTTP measurements."
        + (
            " **The machine was not idle: other processes shared the CPUs, so these "
            "figures are pessimistic.**"
            if run.busy_before > 0.15
            else ""
        ),
    ]


def render_results(run: BenchRun, *, seconds: float) -> str:
    lines = _setup_lines(run)
    for section in run.sections:
        body = section.report(run)
        while body and not body[-1]:
            body.pop()
        lines += ["", f"## {section.title}", "", *body]
    lines += ["", f"Whole run: {seconds / 60:.1f} minutes."]
    return "\n".join(lines) + "\n"


def write_results(run: BenchRun, *, seconds: float, path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_results(run, seconds=seconds))
