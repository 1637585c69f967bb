"""The web server as `make run` starts it (gunicorn with uvicorn workers, helpdesk/asgi.py),
on the test database and the suite's Redis, for tests that need real websockets: a
browser on both sides, two processes, a server killed mid-chat.

People sign in by carrying a session the test made (the server reads sessions from the
same database, signed with the same SECRET_KEY)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from helpdesk import devstack

ROOT = Path(__file__).resolve().parents[2]


class WebServer:
    def __init__(self, log: Path, *, port: int | None = None, processes: int = 2):
        self.port = port or devstack._free_port()
        self.log = log
        self.processes = processes
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        database = connection.settings_dict
        host = quote(database["HOST"], safe="")
        return {
            **os.environ,
            "DATABASE_URL": f"postgres://{database['USER']}@{host}:{database['PORT']}/{database['NAME']}",
            "REDIS_URL": settings.REDIS_URL,  # the suite's: its channel layer is ours
            "DEBUG": "1",
            "BASE_DOMAIN": settings.BASE_DOMAIN,
            "PUBLIC_PORT": str(self.port),
            "WEB_PROCESSES": str(self.processes),
            "PGAPPNAME": "helpdesk-test-web",
        }

    def start(self) -> WebServer:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                devstack.web_command(self.port, host="127.0.0.1"),
                cwd=ROOT, env=self.env(), stdout=output, stderr=subprocess.STDOUT,
                process_group=0,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5):
                    return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the whole group, as the OOM killer or a lost machine would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def url(self, desk, path: str = "/") -> str:
        return f"http://{desk.host}:{self.port}{path}"
