"""The 503 page with PostgreSQL really stopped, behind gunicorn as `make run` starts it.

The suite's own PostgreSQL keeps running: this module starts a second cluster of its
own (pgserver, in a temporary directory), migrates it, adds a desk with a customer,
and serves it with `make run`'s web command (helpdesk/devstack.py). Then: pages
answer -> the cluster is stopped -> pages, an API route and /healthz answer 503 ->
the cluster is started again -> the same server answers again, with no restart.

initdb, start, migrate and the desk take about 12 s here (more on a busy machine), so
the cluster and the server are made once for the module.
"""

import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import pytest

from helpdesk import devstack
from helpdesk.outage import RETRY_AFTER_SECONDS

# pgserver keeps its lock file under XDG_RUNTIME_DIR, and says so when it is not set.
pytestmark = pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "helpdesk_outage"
HOST = "acme.localhost"
CUSTOMER, PASSWORD = "carol@acme-co.example", "a-long-test-password"
API_MESSAGE = "The service is briefly unavailable. Please try again in a minute."

# A desk and a customer who can sign in (email verified), made with the app's services.
SEED = f"""
from allauth.account.models import EmailAddress
from helpdesk.models import Role, User
from helpdesk.services import membership_create, tenant_create
from helpdesk.tenancy import tenant_scope
tenant = tenant_create(slug="acme", name="Acme")
user = User.objects.create_user(email="{CUSTOMER}", password="{PASSWORD}", tenant=tenant)
EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
with tenant_scope(tenant):
    membership_create(tenant=tenant, user=user, role=Role.CUSTOMER)
"""


@dataclass
class OwnPostgres:
    server: object  # pgserver's handle
    url: str

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user="pgserver")

    def start(self) -> None:
        self.server.ensure_postgres_running()  # same data, same socket directory


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    def pids(self) -> set[int]:
        """gunicorn's master and its workers."""
        listing = subprocess.run(
            ["ps", "-eo", "pid=,pgid="], capture_output=True, text=True, check=True
        ).stdout
        return {
            int(pid) for pid, pgid in (line.split() for line in listing.splitlines())
            if int(pgid) == self.process.pid
        }  # fmt: skip


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def own_postgres():
    import pgserver

    started = time.monotonic()
    # Not under pytest's temporary directory: PostgreSQL runs as another user (pgserver),
    # and every pytest run as root makes /tmp/pytest-of-root private again.
    home = Path(tempfile.mkdtemp(prefix="helpdesk-outage-"))
    server = pgserver.get_server(home / "data", "delete")
    server.psql(f"CREATE DATABASE {DATABASE};")
    socket_dir = quote(str(server.get_postmaster_info().socket_dir), safe="")
    cluster = OwnPostgres(server, f"postgres://postgres@{socket_dir}/{DATABASE}")
    env = {**os.environ, "DATABASE_URL": cluster.url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", SEED],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    print(
        f"own PostgreSQL: initdb, start, migrate and seed took {time.monotonic() - started:.0f} s"
    )
    yield cluster
    server.cleanup()  # stops it and deletes its data
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def make_run_server(own_postgres, tmp_path_factory):
    """gunicorn started as `make run` starts it, on the module's own cluster."""
    port = devstack._free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": own_postgres.url,
        # Redis stays up; a database of it that no other test uses.
        "REDIS_URL": _with_database(os.environ["REDIS_URL"], "13"),
        "DEBUG": "1",  # as make run: Django's technical 500 page must not show
        "PUBLIC_PORT": str(port),
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            devstack.web_command(port),
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, process_group=0,
        )  # fmt: skip
    server = Server(port, process, log)
    try:
        wait_until(lambda: get(server, "/healthz").status == 200, "gunicorn to answer")
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def wait_until(condition, what: str, seconds: float = 90.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def json(self):
        return json.loads(self.body)


def get(server: Server, path: str, *, host: str = HOST, cookies: dict | None = None, **headers):
    return request(server, "GET", path, host=host, cookies=cookies, headers=headers)


def request(server, method, path, *, host=HOST, cookies=None, headers=None, form=None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    sent = {"Host": f"{host}:{server.port}", **(headers or {})}
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        answer = Answer(response.status, response.headers, response.read().decode())
    finally:
        connection.close()
    if cookies is not None:
        for line in answer.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(line)
            cookies.update({name: morsel.value for name, morsel in jar.items()})
    return answer


def sign_in(server: Server) -> dict:
    cookies: dict = {}
    page = get(server, "/accounts/login/", cookies=cookies)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    form = {"csrfmiddlewaretoken": token, "login": CUSTOMER, "password": PASSWORD}
    answer = request(server, "POST", "/accounts/login/", cookies=cookies, form=form)
    assert answer.status == 302, answer.body[:500]
    return cookies


def assert_unavailable(answer: Answer, title: str) -> None:
    assert answer.status == 503, answer.body[:500]
    assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert f"<h1>{title}</h1>" in answer.body
    assert "Traceback" not in answer.body


def test_pages_answer_503_while_postgresql_is_stopped_and_recover_without_a_restart(
    own_postgres, make_run_server
):
    server = make_run_server
    customer = sign_in(server)
    assert get(server, "/tickets/", cookies=customer).status == 200
    assert get(server, "/kb/").status == 200
    assert get(server, "/api/v1/tickets/", cookies=customer).status == 200
    pids = server.pids()

    own_postgres.stop()
    try:
        # At once, as visitors would: each waits for the pool's timeout before its answer.
        asks = {
            "anonymous": lambda: get(server, "/kb/"),
            "anonymous, Chinese": lambda: get(server, "/kb/", **{"Accept-Language": "zh-hans"}),
            "signed in": lambda: get(server, "/tickets/", cookies=dict(customer)),
            "api": lambda: get(server, "/api/v1/tickets/", cookies=dict(customer)),
            "health": lambda: get(server, "/healthz", host="localhost"),
        }
        with concurrent.futures.ThreadPoolExecutor(len(asks)) as pool:
            futures = {name: pool.submit(ask) for name, ask in asks.items()}
            answers = {name: future.result() for name, future in futures.items()}
    finally:
        own_postgres.start()

    assert_unavailable(answers["anonymous"], "Service briefly unavailable")
    assert answers["anonymous"].headers["Content-Language"] == "en"
    assert_unavailable(answers["anonymous, Chinese"], "服务暂时不可用")
    assert answers["anonymous, Chinese"].headers["Content-Language"] == "zh-hans"
    assert_unavailable(answers["signed in"], "Service briefly unavailable")
    api = answers["api"]
    assert api.status == 503 and api.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert api.json() == {
        "detail": "The service is briefly unavailable. Please try again in a minute."
    }
    health = answers["health"]
    assert health.status == 503 and health.json()["database"] == "down"

    # Back by itself: same processes, same session.
    wait_until(lambda: get(server, "/kb/").status == 200, "pages to answer again")
    assert get(server, "/tickets/", cookies=customer).status == 200
    assert get(server, "/api/v1/tickets/", cookies=customer).status == 200
    assert server.pids() == pids
    log = server.log.read_text()
    assert "Worker exiting" not in log and "Booting worker" in log
