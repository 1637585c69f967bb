"""bench/sections/chat.py and bench/chat/: the chat section's report and targets, the
load generator against the echo app, and the sessions it signs people in with."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench import loadgen
from bench.http_load import Measured
from bench.report import render_results
from bench.sections import SECTIONS, section_name
from bench.sections.chat import LiveChat, Round, SocketRun, percentile
from bench.sections.targets import Targets
from tests.bench.test_report import _run

ROOT = Path(__file__).resolve().parents[2]


def _result(ms: float, n: int = 20) -> loadgen.Result:
    return loadgen.Result(latencies=[ms / 1000] * n, elapsed=n * ms / 1000)


def _figures(latencies: list[float], *, lost: int = 0, duplicated: int = 0) -> dict:
    return {
        "event": "round",
        "seconds": 30.0,
        "sent": len(latencies) + lost,
        "delivered": len(latencies),
        "lost": lost,
        "duplicated": duplicated,
        "latency_ms": latencies,
        "acked": len(latencies),
        "ack_ms": latencies,
        "replies_sent": 10,
        "replies_delivered": 10,
        "reply_ms": [5.0] * 10,
        "errors": {},
        "closed": 0,
        "lag_ms": [0.4, 1.2],
        "lag_samples": 3000,
        "by_second": [[0, 100, 10.0, 12.0], [1, 100, 30.0, 90.0]],
    }


def _socket_run(mode: str, latencies: list[float], queue=None, **figures) -> SocketRun:
    cpu = {"server": 0.4, "generators": 0.1, "postgres": 0.2, "redis": 0.03}
    found = SocketRun(
        mode,
        idle_opened=2000,
        idle_seconds=12.0,
        active_opened=110,
        memory_before={1: 100 * 1024, 2: 100 * 1024},
        memory_idle={1: 120 * 1024, 2: 110 * 1024},  # 30 MiB for 2,000 sockets
        memory_all={1: 121 * 1024, 2: 111 * 1024},
        files_idle={1: 1020, 2: 1000},
        files_all={1: 1100, 2: 1030},
    )
    found.rounds = [
        Round(_figures(latencies, **figures), 0.3, cpu),  # disturbed
        Round(_figures(latencies, **figures), 0.02, cpu),
    ]
    if queue is not None:
        found.with_queue = Round(_figures([v * 2 for v in latencies]), 0.05, cpu, queue)
    return found


def _section(chat_ms: float, echo_ms: float, queue_ms: float, **figures) -> LiveChat:
    section = LiveChat()
    section.note = "reused, made by an earlier run"
    section.files_limit = (20000, 20000)
    section.idle, section.active, section.seconds = 2000, 100, 30.0
    queue = loadgen.Target("Agent queue, default view", "GET", "/agent/")
    ticket = loadgen.Target("Ticket page (#75, 5 messages)", "GET", "/agent/tickets/75/")
    section.wsgi = [
        Measured(queue, _result(20), _result(80)),
        Measured(ticket, _result(21), _result(90)),
    ]
    section.asgi = [
        Measured(queue, _result(22), _result(85)),
        Measured(ticket, _result(35), _result(95)),
    ]
    section.chat = _socket_run("chat", [chat_ms] * 100, queue=_result(queue_ms), **figures)
    section.echo = _socket_run("echo", [echo_ms] * 100)
    return section


def test_the_section_can_run_alone_and_comes_before_the_load_test():
    from bench.run import parse_args

    assert [section_name(s) for s in SECTIONS][-2:] == ["chat", "load"]
    args = parse_args(["--only", "chat", "--chat-seconds", "5", "--chat-idle", "100"])
    assert (args.only, args.chat_seconds, args.chat_idle) == (["chat"], 5.0, 100)
    with pytest.raises(SystemExit):
        parse_args(["--chat-idle", "2001"])


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 1.0)) == (
        50,
        95,
        100,
    )
    assert percentile([], 0.95) != percentile([], 0.95)  # nan


def test_targets_met_and_the_figures_reported(db):
    section = _section(chat_ms=12.0, echo_ms=5.0, queue_ms=24.0)
    text = render_results(_run([Targets(), section]), seconds=60)
    assert (
        "| Chat delivery, a customer's send to the agent's console, p95 < 50 ms (2,000 idle "
        "customer sockets, 100 chats x 1 line/s), none lost or duplicated | p95 12.0 ms "
        "(p50 12.0); 100 lines, 0 lost, 0 duplicated | **met** |"
    ) in text
    assert "| 12.0 vs 5.0 ms = 2.4 x | **met** |" in text
    assert "| p95 24.0 ms with them, 22.0 ms without (+2.0 ms) | **met** |" in text
    assert "| p95 22.0 ms (WSGI sync workers, same run: 20.0 ms) | **met** |" in text
    assert "Ticket page, p95 < 30 ms, 1 at a time, under `make run`'s server" in text
    # 30 MiB over 2,000 sockets; the least disturbed round is the one shown.
    assert "| chat (`make run`'s) | 2,000 | 0 | 12.0 | 200 | 230 | 15.4 | 1,020 / 1,000 |" in text
    row = "| Chat: customer's send → agent's console | 100 | 12.0 | 12.0 | 12.0 | 12.0 | 0 | 0 "
    assert row in text
    assert "| 2% (2 rounds) |" in text
    assert (
        "| Chat: customer's send → agent's console, while the agent queue is measured (below) "
        "| 100 | 24.0 | 24.0 |"
    ) in text
    assert "| chat, with the agent queue | 40% | 10% | 20% | 3% | 5% |" in text
    assert "by worker process, from their open files: 80 / 30 (gunicorn's" in text
    assert "Median delivery by second of the chat round (ms): 10, 30; the worst second (1) " in text
    assert "| GET `/agent/` — Agent queue, default view | WSGI, sync | 20.0 |" in text
    assert "| GET `/agent/` — Agent queue, default view | ASGI, uvicorn | 22.0 |" in text


def test_a_slow_or_lossy_chat_and_a_slow_queue_are_not_met(db):
    section = _section(chat_ms=60.0, echo_ms=10.0, queue_ms=31.0, lost=1)
    text = render_results(_run([Targets(), section]), seconds=60)
    assert "p95 60.0 ms (p50 60.0); 101 lines, 1 lost, 0 duplicated | **not met** |" in text
    assert "| 60.0 vs 10.0 ms = 6.0 x | **not met** |" in text
    assert "| p95 31.0 ms with them, 22.0 ms without (+9.0 ms) | **not met** |" in text
    assert "| p95 35.0 ms (WSGI sync workers, same run: 21.0 ms) | **not met** |" in text


def test_the_stored_echo_is_reported_beside_the_bare_one(db):
    section = _section(chat_ms=12.0, echo_ms=5.0, queue_ms=24.0)
    section.stored_echo = _socket_run("echo", [8.0] * 100)
    text = render_results(_run([Targets(), section]), seconds=60)
    assert "| Stored echo: send → stored, published, the frame back | 100 | 8.0 | 8.0 |" in text
    assert "Chat delivery against the stored echo, p95: 12.0 vs 8.0 ms = 1.5 x" in text
    assert "(against the bare echo: 2.4 x)" in text
    assert "| stored echo | 2,000 | 0 |" in text  # its memory row


def test_not_measured_reports_so():
    assert LiveChat().report(None) == ["Not measured in this run."]
    assert LiveChat().targets(None) == []


# -- the load generator against the echo app ----------------------------------------------------


def _serve(app: str, env: dict | None = None):
    """uvicorn serving one of our bench apps on a free port, once it answers."""
    import os

    from helpdesk.devstack import _free_port

    port = _free_port()
    server = subprocess.Popen(  # our own app
        [sys.executable, "-m", "uvicorn", app, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server, port
        except OSError:
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.1)


@pytest.fixture
def echo_port():
    server, port = _serve("bench.chat.echo:application")
    yield port
    server.terminate()
    server.wait(timeout=10)


def _generator(tmp_path, config: dict) -> subprocess.Popen:
    path = tmp_path / f"{config['role']}.json"
    path.write_text(json.dumps(config))
    return subprocess.Popen(  # our own module
        [sys.executable, "-m", "bench.chat.client", str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _event(process) -> dict:
    return json.loads(process.stdout.readline())


def _a_second_of_lines(tmp_path, base: dict, *, sockets: int):
    """A generator sending 10 lines a second on each of `sockets` sockets for about a
    second: the process, and the round's figures."""
    active = _generator(
        tmp_path, {**base, "role": "active", "chats": [["k", "s", 0]] * sockets, "rate": 10.0}
    )
    assert _event(active)["opened"] == sockets
    active.stdin.write("go\n")
    active.stdin.flush()
    time.sleep(1.0)
    active.stdin.write("stop\n")
    active.stdin.flush()
    return active, _event(active)


def test_the_generator_measures_the_echo_and_holds_idle_sockets(tmp_path, echo_port):
    base = {"mode": "echo", "port": echo_port, "host": f"bench.localhost:{echo_port}"}
    idle = _generator(tmp_path, {**base, "role": "idle", "idle": [["/ws/x/", "s"]] * 20})
    ready = _event(idle)
    assert (ready["event"], ready["opened"], ready["failed"]) == ("ready", 20, 0)

    active, figures = _a_second_of_lines(tmp_path, base, sockets=5)
    assert figures["event"] == "round"
    assert figures["sent"] >= 40  # 5 sockets x 10 a second for about a second
    assert figures["delivered"] == figures["sent"] and figures["lost"] == 0
    assert figures["duplicated"] == 0 and len(figures["latency_ms"]) == figures["sent"]

    for process in (active, idle):
        process.stdin.write("quit\n")
        process.stdin.flush()
        assert _event(process)["event"] == "done"
        assert process.wait(timeout=30) == 0
    assert ready["seconds"] < 30


@pytest.mark.django_db(transaction=True)
def test_the_stored_echo_stores_and_publishes_every_line_before_sending_it_back(tmp_path):
    from django.conf import settings
    from django.db import connection

    from bench.chat.stored_echo import TABLE

    db = connection.settings_dict
    url = f"postgresql://{db['USER']}@/{db['NAME']}?host={db['HOST']}"
    if db.get("PORT"):
        url += f"&port={db['PORT']}"
    server, port = _serve(
        "bench.chat.stored_echo:application",
        {"DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL},
    )
    try:
        base = {"mode": "echo", "port": port, "host": f"bench.localhost:{port}"}
        active, figures = _a_second_of_lines(tmp_path, base, sockets=3)
        assert figures["sent"] >= 20 and figures["delivered"] == figures["sent"]
        assert figures["lost"] == 0 and figures["duplicated"] == 0
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            # Each line stored once, and each socket's hello.
            assert cursor.fetchone()[0] == figures["sent"] + 3
        active.stdin.write("quit\n")
        active.stdin.flush()
        assert _event(active)["event"] == "done"
    finally:
        server.terminate()
        server.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


# -- the sessions it signs people in with ----------------------------------------------------------


def test_bulk_sessions_sign_people_in_as_force_login_does(acme):
    from django.conf import settings
    from django.test import Client

    from bench.chat.data import sessions

    key, other = sessions([acme.agent, acme.customer])
    client = Client(HTTP_HOST=acme.host)
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get("/agent/").status_code == 200
    customer = Client(HTTP_HOST=acme.host)
    customer.cookies[settings.SESSION_COOKIE_NAME] = other
    assert customer.get("/agent/").status_code in (302, 403, 404)
