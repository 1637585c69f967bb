"""The servers of the chat benchmark and what /proc says about their processes.

- `start_web`: the server as `make run` starts it (helpdesk/devstack.py `web_command`:
  gunicorn, helpdesk/gunicorn_conf.py, uvicorn workers, helpdesk/asgi.py), with the
  bench's settings (DEBUG off, bench.settings) and the database pool the settings give
  it in production (the bench's other server keeps one connection per sync worker).
- `start_echo`: the same command with the bare echo app (bench/chat/echo.py).
- `start_stored_echo`: the same command with the echo that stores and publishes each
  line first (bench/chat/stored_echo.py).
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import WORKERS
from bench.server import start_server
from helpdesk import devstack

ECHO_APP = "bench.chat.echo:application"
STORED_ECHO_APP = "bench.chat.stored_echo:application"
# Sockets: 2,100 customers and the consoles, and the files every process has open.
FILES_NEEDED = 8192


def raise_file_limit(least: int = FILES_NEEDED) -> tuple[int, int]:
    """Raise this process's soft limit of open files towards the hard one (children
    inherit it); returns (soft, hard) as they are now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = hard if hard != resource.RLIM_INFINITY else max(least, soft)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def web_env(env: dict[str, str]) -> dict[str, str]:
    """The bench's environment with the production pool: DB_POOL and DB_CONN_MAX_AGE
    are the sync server's (bench/services.py), not the settings' defaults."""
    found = {k: v for k, v in env.items() if k not in ("DB_POOL", "DB_CONN_MAX_AGE")}
    found["WEB_PROCESSES"] = str(WORKERS)
    found["PGAPPNAME"] = "helpdesk-bench-web"
    return found


def web_command(port: int, app: str = "helpdesk.asgi:application") -> list[str]:
    command = devstack.web_command(port, host="127.0.0.1")
    return [app if part == "helpdesk.asgi:application" else part for part in command]


def _start(command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
    port = int(command[command.index("--bind") + 1].rsplit(":", 1)[1])
    return start_server(
        command,
        env,
        port,
        log_name=log_name,
        timeout=90,
        ready=lambda process: len(worker_pids(process.pid)) >= WORKERS,
    )


def start_web(env: dict[str, str], port: int) -> subprocess.Popen:
    return _start(web_command(port), web_env(env), "chat-web.log")


def start_echo(env: dict[str, str], port: int) -> subprocess.Popen:
    return _start(web_command(port, ECHO_APP), web_env(env), "chat-echo.log")


def start_stored_echo(env: dict[str, str], port: int) -> subprocess.Popen:
    return _start(web_command(port, STORED_ECHO_APP), web_env(env), "chat-stored-echo.log")


# -- /proc ---------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def worker_pids(master: int) -> list[int]:
    """gunicorn's workers: the children of its master process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[1]) == master:
                found.append(int(entry.name))
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """The children of `pid`, theirs, and so on."""
    found, parents = [], [pid]
    while parents:
        children = [child for parent in parents for child in worker_pids(parent)]
        found += children
        parents = children
    return sorted(found)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, KiB (VmRSS in /proc/<pid>/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def cpu_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0


def pids_matching(text: str) -> list[int]:
    """Processes whose command line contains `text` (PostgreSQL's backends name their
    database there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL's backends for `database` (their command line names it): of the
    embedded server when it runs, else of any server on this machine."""
    found = pids_matching(f" {database} ")
    pid_file = devstack.PG_DIR / "postmaster.pid"
    try:
        postmaster = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return found
    ours = [pid for pid in found if (_stat(pid) or ["", "0"])[1] == str(postmaster)]
    return ours or found


@dataclass
class Memory:
    """The workers' resident memory and open files at one moment."""

    rss_kib: dict[int, int]
    files: dict[int, int]

    @classmethod
    def of(cls, pids: list[int]) -> Memory:
        return cls({pid: rss_kib(pid) for pid in pids}, {pid: open_files(pid) for pid in pids})

    @property
    def total_kib(self) -> int:
        return sum(self.rss_kib.values())


class CpuUse:
    """CPU time of named groups of processes over a window, as a share of all CPUs."""

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = groups
        self.started = time.monotonic()
        self.before = {name: {p: cpu_ticks(p) for p in pids} for name, pids in groups.items()}

    def seconds(self, late: dict[str, list[int]] | None = None) -> dict[str, float]:
        """Each group's CPU seconds since the start; `late` adds processes that started
        during the window (PostgreSQL backends opened meanwhile), counted from zero."""
        found = {}
        for name, pids in self.groups.items():
            pids = sorted({*pids, *(late or {}).get(name, [])})
            ticks = sum(max(cpu_ticks(p) - self.before[name].get(p, 0), 0) for p in pids)
            found[name] = ticks / os.sysconf("SC_CLK_TCK")
        return found

    def shares(self, late: dict[str, list[int]] | None = None) -> dict[str, float]:
        """Each group's share of all CPUs since the start (`late` as for `seconds`)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        scale = elapsed * (os.cpu_count() or 1)
        return {name: used / scale for name, used in self.seconds(late).items()}


def redis_pids(redis_url: str) -> list[int]:
    """The redis-server listening on `redis_url`'s port."""
    port = urlsplit(redis_url).port
    return [p for p in pids_matching("redis-server") if p in pids_matching(f":{port}")]
