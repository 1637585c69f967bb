"""The clients: signed-in customers and agents, each on a keep-alive connection."""

from __future__ import annotations

import http.client
import itertools
import re
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from bench import loadgen

TENANT_HOST = "acme.localhost"
PASSWORD = "helpdesk-demo"  # every demo person's (helpdesk/management/commands/seed_demo.py)
CUSTOMERS = [
    "bella@brightside.example",
    "noah@nimbus.example",
    "olivia@orbit.example",
    "omar@orbit.example",
    "liu@lumen.example",
    "grace@globex.example",
    "george@globex.example",
    "ivy@initech.example",
]
AGENTS = ["admin@acme.example", "mei@acme.example", "sam@acme.example", "lena@acme.example"]
# Shares of the clients: help center, agents, filing requests.
MIX = {"help center": 0.4, "agents": 0.4, "new requests": 0.2}

# -- a signed-in client -------------------------------------------------------------------


class Browser:
    """One keep-alive connection to 127.0.0.1 with the tenant's Host and a cookie jar."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None):
        self.port = port
        self.host = f"{TENANT_HOST}:{port}"
        self.cookies = dict(cookies or {})
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """(status, body, Location header)."""
        headers = {"Host": self.host, "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://{self.host}"  # what a browser sends with a form
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for line in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()
        return response.status, data.decode(errors="replace"), response.getheader("Location", "")

    def close(self) -> None:
        self.connection.close()


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(page: str) -> str:
    found = _CSRF.search(page)
    if not found:
        raise RuntimeError("no CSRF token in the page")
    return found.group(1)


def sign_in(port: int, email: str) -> dict[str, str]:
    """The cookies of a session signed in through the login form."""
    browser = Browser(port)
    status, page, _ = browser.request("GET", "/accounts/login/")
    if status != 200:
        raise SystemExit(f"login page: HTTP {status}")
    form = {"csrfmiddlewaretoken": csrf_token(page), "login": email, "password": PASSWORD}
    status, page, location = browser.request("POST", "/accounts/login/", form)
    browser.close()
    if status != 302 or "sessionid" not in browser.cookies:
        raise SystemExit(f"signing in {email}: HTTP {status} to {location!r}")
    return browser.cookies


def _options(page: str, select: str) -> list[str]:
    """The option values of a <select name=...> in a page."""
    found = re.search(rf'<select name="{select}"[^>]*>(.*?)</select>', page, re.DOTALL)
    return re.findall(r'<option value="([^"]+)"', found.group(1)) if found else []


# -- what each kind of client does --------------------------------------------------------


@dataclass
class Step:
    method: str
    path: str
    expect: int = 200
    form: dict | None = None


def help_center_steps(browser: Browser) -> itertools.cycle:
    """A customer: home, their requests, one of them, the knowledge base and a search."""
    _status, page, _ = browser.request("GET", "/tickets/")
    numbers = re.findall(r'href="/tickets/(\d+)/"', page) or ["1"]
    paths = ["/", "/tickets/", f"/tickets/{numbers[0]}/", "/kb/", "/kb/search/?q=export"]
    return itertools.cycle([Step("GET", path) for path in paths])


def agent_steps(browser: Browser) -> itertools.cycle:
    """An agent: the queue, two of its views, a ticket from it, the customers page."""
    _status, page, _ = browser.request("GET", "/agent/")
    numbers = re.findall(r'href="/agent/tickets/(\d+)/"', page) or ["1"]
    paths = [
        "/agent/",
        "/agent/?view=unassigned",
        f"/agent/tickets/{numbers[0]}/",
        "/agent/?view=open&priority=1",
        f"/agent/tickets/{numbers[-1]}/",
        "/agent/customers/",
    ]
    return itertools.cycle([Step("GET", path) for path in paths])


class NewRequests:
    """A customer filing requests: the form, the form posted with its token, the new request."""

    def __init__(self, browser: Browser, client: int):
        self.browser = browser
        self.client = client
        self.filed = 0
        self.pending: list[Step] = []

    def __iter__(self):
        return self

    def __next__(self) -> Step:
        if not self.pending:
            self.pending = [Step("GET", "/tickets/new/")]
        return self.pending.pop(0)

    def answered(self, step: Step, status: int, page: str, location: str) -> None:
        """Plan the next step from this answer (a form page, a redirect)."""
        if step.path == "/tickets/new/" and step.method == "GET" and status == 200:
            if not _CSRF.search(page):
                return  # an error was counted; the next step asks for the form again
            self.filed += 1
            form = {
                "csrfmiddlewaretoken": csrf_token(page),
                "subject": f"Load test {self.client}-{self.filed}: export times out",
                "category": (_options(page, "category") or [""])[0],
                "priority": (_options(page, "priority") or ["2"])[-1],
                "body": "The CSV export stops after a minute. Steps: open Reports, export.",
            }
            self.pending = [Step("POST", "/tickets/new/", expect=302, form=form)]
        elif step.method == "POST" and status == 302 and location:
            self.pending = [Step("GET", urlsplit(location).path)]


def run_clients(port: int, sessions: dict[str, dict], clients: int, seconds: float):
    """`clients` threads for `seconds`; their results by kind, overall and unexpected answers."""
    counts = {kind: round(clients * share) for kind, share in MIX.items()}
    counts["help center"] += clients - sum(counts.values())
    results = {kind: loadgen.Result([], 0.0) for kind in MIX}
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def work(kind: str, number: int, email: str) -> None:
        browser = Browser(port, sessions[email])
        result = results[kind]
        try:
            if kind == "help center":
                steps = help_center_steps(browser)
            elif kind == "agents":
                steps = agent_steps(browser)
            else:
                steps = NewRequests(browser, number)
        except (OSError, http.client.HTTPException) as error:
            with lock:
                result.errors += 1
                statuses["connection"] = statuses.get("connection", 0) + 1
                result.first_error = result.first_error or f"first page: {error!r}"
            return
        finally:
            gate.wait()
        while time.perf_counter() < deadline[0]:
            step = next(steps)
            started = time.perf_counter()
            try:
                status, page, location = browser.request(step.method, step.path, step.form)
            except (OSError, http.client.HTTPException) as error:
                status, page, location = -1, repr(error), ""
            took = time.perf_counter() - started
            with lock:
                if status == step.expect:
                    result.latencies.append(took)
                else:
                    result.errors += 1
                    key = "connection" if status == -1 else str(status)
                    statuses[key] = statuses.get(key, 0) + 1
                    if not result.first_error:
                        result.first_error = f"{step.method} {step.path}: {status} {page[:300]!r}"
            if isinstance(steps, NewRequests):
                steps.answered(step, status, page, location)
        browser.close()

    threads = []
    customers, agents = itertools.cycle(CUSTOMERS), itertools.cycle(AGENTS)
    for kind, count in counts.items():
        people = agents if kind == "agents" else customers
        for number in range(count):
            threads.append(
                threading.Thread(target=work, args=(kind, number, next(people)), daemon=True)
            )
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for result in results.values():
        result.elapsed = elapsed
    overall = loadgen.Result(
        [t for r in results.values() for t in r.latencies],
        elapsed,
        errors=sum(r.errors for r in results.values()),
        first_error=next((r.first_error for r in results.values() if r.first_error), ""),
    )
    return results, overall, statuses, counts
