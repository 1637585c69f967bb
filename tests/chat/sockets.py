"""Websockets in tests: the project's ASGI app (helpdesk/asgi.py) in-process, on the
suite's real Redis channel layer, reached as a browser would (Host, Origin, the session
cookie), through asgiref's ApplicationCommunicator (channels' own test communicator
imports daphne, which we do not run). Tests that use it need `transactional_db`: the
consumers' database work runs in threads of their own."""

from __future__ import annotations

import asyncio
import json
import threading

from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.test import Client

from helpdesk.asgi import application
from helpdesk.models import Role
from tests.helpdesk.factories import make_member
from tests.plans.factories import make_organization

# One event loop, in a thread of its own, runs every socket's application for the whole
# suite: an application task must live on a loop that keeps running between the test's
# calls (async_to_sync would start and stop a loop per call).
_loop = asyncio.new_event_loop()
threading.Thread(target=_loop.run_forever, name="test-sockets", daemon=True).start()


def _run(coroutine, timeout: float = 30):
    return asyncio.run_coroutine_threadsafe(coroutine, _loop).result(timeout)


async def _communicator(scope) -> ApplicationCommunicator:
    return ApplicationCommunicator(application, scope)


def session_cookie(host: str, user) -> str:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class Socket:
    """A browser's websocket on the ASGI app, for synchronous tests."""

    def __init__(self, path: str, *, host: str, user=None, origin: str | None = None, cookie=None):
        headers = [(b"host", host.encode())]
        origin = f"http://{host}" if origin is None else origin
        if origin:
            headers.append((b"origin", origin.encode()))
        if cookie is None and user is not None:
            cookie = session_cookie(host, user)
        if cookie:
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        self.communicator = _run(_communicator(scope))
        self.close_code = None
        _run(self.communicator.send_input({"type": "websocket.connect"}))
        first = self._output(10)
        self.connected = first["type"] == "websocket.accept"
        if not self.connected:
            self.close_code = first.get("code")

    def _output(self, timeout: float) -> dict:
        return _run(self.communicator.receive_output(timeout=timeout), timeout + 5)

    def send(self, **message) -> None:
        self.send_text(json.dumps(message))

    def send_text(self, text: str) -> None:
        """A frame as it comes, JSON or not."""
        _run(self.communicator.send_input({"type": "websocket.receive", "text": text}))

    def receive(self, timeout: float = 10) -> dict:
        output = self._output(timeout)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            raise AssertionError(f"the server closed the socket ({self.close_code})")
        return json.loads(output["text"])

    def receive_until(self, kind: str, timeout: float = 10, **matching) -> dict:
        """The next message of `kind` (matching the given fields), skipping others."""
        while True:
            message = self.receive(timeout)
            if message.get("type") == kind and all(
                message.get(k) == v for k, v in matching.items()
            ):
                return message

    def closed(self, timeout: float = 10) -> int | None:
        """The code the server closed with, skipping what it said before."""
        if self.close_code is not None:
            return self.close_code
        output = self._output(timeout)
        while output["type"] != "websocket.close":
            output = self._output(timeout)
        self.close_code = output.get("code")
        return self.close_code

    def nothing_within(self, seconds: float = 0.5) -> bool:
        return _run(self.communicator.receive_nothing(timeout=seconds), seconds + 5)

    def close(self) -> None:
        _run(self.communicator.send_input({"type": "websocket.disconnect", "code": 1000}))
        _run(self.communicator.wait(timeout=5), 10)


def pro_plus_customer(desk, email: str = "pat@plus.example", name: str = "Pat Plus"):
    """A customer of an organization on Pro+ (the plan that offers chat)."""
    organization = make_organization(desk.tenant, name=f"{name}'s company", plan=desk.pro_plus)
    return make_member(desk.tenant, email, Role.CUSTOMER, organization=organization, full_name=name)
