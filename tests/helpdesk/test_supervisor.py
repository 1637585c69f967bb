"""`make run`'s supervisor (helpdesk/supervisor.py) with real processes.

The supervisor runs in a process of its own, as under `make run`; its children are
small Python processes that each start a grandchild (as gunicorn and Celery start
workers), or the real web, worker and beat of `make run`. What is left running is
read from `ps`, not from the supervisor.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from helpdesk import devstack

ROOT = Path(__file__).resolve().parents[2]

# A child: notes its pid, starts a grandchild in its process group and waits; told to
# stop (SIGTERM), it stops the grandchild first, as gunicorn and Celery stop their workers.
CHILD = (
    "import os, signal, subprocess, sys, time; "
    "open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); "
    "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "signal.signal(signal.SIGTERM, lambda *_: (worker.terminate(), worker.wait(), sys.exit(0))); "
    "time.sleep(600)"
)
# A child that fails at once, as a worker with a wrong broker URL would.
FAILING_CHILD = "import sys; sys.exit(3)"

# The supervisor's process: children from a JSON spec; their pids go to a file once started.
DRIVER = """
import json, os, sys
from pathlib import Path
from helpdesk.supervisor import Supervisor

spec = json.loads(Path(sys.argv[1]).read_text())
children = {name: (command, dict(os.environ, **spec.get("env", {})))
            for name, command in spec["children"].items()}

def announce(supervisor):
    pids = {child.name: child.pid for child in supervisor.children}
    Path(spec["announce"]).write_text(json.dumps(pids))

supervisor = Supervisor(children, cwd=Path(spec["cwd"]), give_up_deaths=spec.get("give_up", 5),
                        first_pause=spec.get("pause", 0.2), stop_grace=spec.get("grace", 20))
sys.exit(supervisor.run(announce=announce))
"""


def wait_for(condition, seconds=60.0, what="the condition"):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return result


def running_in_groups(groups) -> list[str]:
    """`ps` lines of the live (not zombie) processes in these process groups."""
    listing = subprocess.run(
        ["ps", "-eo", "pid=,pgid=,stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in listing.splitlines():
        pid, pgid, stat, *_args = line.split(None, 3)
        if int(pgid) in groups and not stat.startswith("Z"):
            found.append(line.strip())
    return found


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def kill_groups(groups) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


class Supervised:
    """A supervisor process and what it reports about its children."""

    def __init__(self, tmp_path: Path, children: dict, **options):
        self.tmp_path = tmp_path
        self.announce = tmp_path / "pids.json"
        self.log = (tmp_path / "supervisor.log").open("w+")
        spec = {"children": children, "cwd": str(ROOT), "announce": str(self.announce)}
        (tmp_path / "spec.json").write_text(json.dumps({**spec, **options}))
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(tmp_path / "spec.json")],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.groups: set[int] = set()

    def pids(self) -> dict[str, int]:
        pids = json.loads(wait_for(self._announced, what="the children to start"))
        self.groups |= set(pids.values())  # each child leads its own group
        return pids

    def _announced(self):
        return self.announce.exists() and self.announce.read_text()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def kill_everything(self) -> None:
        """Whatever a failed test leaves behind."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        kill_groups(self.groups)


@pytest.fixture
def supervised(tmp_path):
    made = []

    def make(children, **options) -> Supervised:
        made.append(Supervised(tmp_path, children, **options))
        return made[-1]

    yield make
    for supervisor in made:
        supervisor.kill_everything()


def _child(tmp_path: Path, name: str) -> list[str]:
    return [sys.executable, "-c", CHILD, str(tmp_path / f"{name}.pids")]


def _started(tmp_path: Path, name: str) -> list[int]:
    path = tmp_path / f"{name}.pids"
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def test_a_killed_child_is_restarted_and_the_others_keep_running(tmp_path, supervised):
    supervisor = supervised({name: _child(tmp_path, name) for name in ("web", "worker", "beat")})
    pids = supervisor.pids()
    wait_for(lambda: all(_started(tmp_path, n) for n in pids), what="the children's pid files")
    wait_for(lambda: len(running_in_groups({pids["worker"]})) == 2, what="the grandchild")

    os.kill(pids["worker"], signal.SIGKILL)

    restarted = wait_for(
        lambda: _started(tmp_path, "worker")[1:], what="the worker to be started again"
    )[0]
    supervisor.groups.add(restarted)
    assert restarted != pids["worker"]
    for name in ("web", "beat"):
        assert _started(tmp_path, name) == [pids[name]]
        assert is_running(pids[name])
    # What the killed worker had started went with it.
    wait_for(lambda: not running_in_groups({pids["worker"]}), what="the old worker's group")
    assert "worker (pid" in supervisor.output()
    assert "was killed by SIGKILL; restarting it" in supervisor.output()
    assert supervisor.process.poll() is None


def test_sigterm_to_the_supervisor_stops_every_child_and_grandchild(tmp_path, supervised):
    supervisor = supervised({name: _child(tmp_path, name) for name in ("web", "worker", "beat")})
    pids = supervisor.pids()
    wait_for(
        lambda: len(running_in_groups(set(pids.values()))) == 6, what="children and grandchildren"
    )

    supervisor.process.send_signal(signal.SIGTERM)

    assert supervisor.process.wait(timeout=60) == 0
    assert running_in_groups(supervisor.groups) == []
    assert "SIGTERM received; stopping web, worker, beat" in supervisor.output()


def test_a_child_that_keeps_dying_is_given_up_and_everything_stops(tmp_path, supervised):
    supervisor = supervised(
        {"web": _child(tmp_path, "web"), "worker": [sys.executable, "-c", FAILING_CHILD]},
        give_up=3,
        pause=0.05,
    )
    supervisor.pids()

    assert supervisor.process.wait(timeout=60) == 1
    output = supervisor.output()
    assert "worker (pid" in output and "exited with code 3" in output
    assert "it died 3 times within 60 s, so it is not restarted again" in output
    assert running_in_groups(supervisor.groups | set(_started(tmp_path, "web"))) == []


def test_a_supervisor_killed_outright_still_stops_its_children(tmp_path, supervised):
    supervisor = supervised({name: _child(tmp_path, name) for name in ("web", "worker")})
    pids = supervisor.pids()
    wait_for(lambda: len(running_in_groups(set(pids.values()))) == 4, what="the processes")

    supervisor.process.kill()  # no chance to clean up: the children's death signal does

    supervisor.process.wait()
    wait_for(lambda: not running_in_groups(supervisor.groups), what="the children to stop")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_the_make_that_started_it_stops_everything(tmp_path, signum):
    """`make run` is `make` starting python: a signal to make reaches the children too."""
    announce = tmp_path / "pids.json"
    spec = {
        "children": {name: _child(tmp_path, name) for name in ("web", "worker", "beat")},
        "cwd": str(ROOT),
        "announce": str(announce),
    }
    (tmp_path / "driver.py").write_text(DRIVER)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    # No shell in between, as `make run`'s recipe: make starts python itself.
    (tmp_path / "Makefile").write_text("run:\n\t$(PY) driver.py spec.json\n")
    make = subprocess.Popen(
        ["make", "-s", "run", f"PY={sys.executable}"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    groups: set[int] = set()
    try:
        pids = json.loads(
            wait_for(lambda: announce.exists() and announce.read_text(), what="the children")
        )
        groups = set(pids.values())
        wait_for(lambda: len(running_in_groups(groups)) == 6, what="children and grandchildren")

        make.send_signal(signum)

        make.wait(timeout=60)
        wait_for(lambda: not running_in_groups(groups), what="every child to stop")
        supervisor_gone = subprocess.run(
            ["pgrep", "-f", str(tmp_path / "driver.py")], capture_output=True
        )
        assert supervisor_gone.returncode == 1  # no such process
    finally:
        if make.poll() is None:
            make.kill()
        kill_groups(groups)


def _own_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def test_make_runs_stack_restarts_a_killed_worker_and_stops_whole(
    tmp_path, supervised, django_db_setup, settings
):
    """The real web (gunicorn), worker and beat of `make run`, on the test database."""
    from django.db import connection

    port = devstack._free_port()
    database = connection.settings_dict
    host = quote(database["HOST"], safe="")
    env = {
        "DATABASE_URL": f"postgres://{database['USER']}@{host}/{database['NAME']}",
        # A Redis database no test uses: this worker must not take other tests' tasks.
        "REDIS_URL": _own_redis_db(settings.REDIS_URL, 14),
        "DEBUG": "1",
    }
    commands = devstack.stack_commands(port, beat_schedule=tmp_path / "beat-schedule")
    supervisor = supervised(commands, env=env, grace=30)
    pids = supervisor.pids()

    def web_answers():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                return answer.status == 200
        except OSError:
            return False

    wait_for(web_answers, seconds=120, what="gunicorn to answer")
    # gunicorn's and Celery's own workers are in their groups.
    wait_for(lambda: len(running_in_groups({pids["web"]})) == 3, what="gunicorn's 2 workers")
    wait_for(lambda: len(running_in_groups({pids["worker"]})) >= 2, what="Celery's pool")

    os.kill(pids["worker"], signal.SIGKILL)

    wait_for(lambda: "worker restarted (pid" in supervisor.output(), what="the restart")
    restarted = int(supervisor.output().split("worker restarted (pid ")[1].split(")")[0])
    supervisor.groups.add(restarted)
    wait_for(lambda: len(running_in_groups({restarted})) >= 2, what="the new worker's pool")
    assert is_running(pids["web"]) and is_running(pids["beat"])
    assert web_answers()

    supervisor.process.send_signal(signal.SIGTERM)

    assert supervisor.process.wait(timeout=90) == 0
    assert running_in_groups(supervisor.groups) == []
