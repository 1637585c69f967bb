"""How a websocket enters a desk: the one helper for consumers, as `tenant_scope` is for
requests, tasks and commands (helpdesk/tenancy.py).

`DeskSocketMiddleware` wraps every websocket route (helpdesk/asgi.py). From the
handshake it works out what the page middleware works out for a request: the desk from
the Host header, the person from the session cookie (one of that desk's own people, as
DeskAuthenticationBackend restores them), their membership and role, whether they still
owe a second factor, and the language. It puts the answer in `scope["visitor"]`; a host
of no desk, or an Origin that is neither the page's own nor one the route allows, is
refused before any consumer runs.

A consumer touches the database only through `in_desk`, which runs a synchronous
function in a thread inside the desk's scope, language and time zone. A consumer that
went around it would meet django-scopes' ScopeError on the first tenant-owned query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.utils import timezone, translation

from helpdesk.tenancy import tenant_for_host, tenant_scope

# Close codes (4000-4999 are the application's): the browser's script reads them.
CLOSE_UNKNOWN_HOST = 4404
CLOSE_FOREIGN_ORIGIN = 4403


@dataclass(frozen=True)
class Visitor:
    """Who is on the socket, at which desk, in which language."""

    tenant: Any
    user: Any
    membership: Any
    language: str
    second_factor_owed: bool = False
    origin: str = ""

    @property
    def is_staff(self) -> bool:
        return (
            self.membership is not None
            and self.membership.is_staff_member
            and not self.second_factor_owed
        )

    @property
    def is_customer(self) -> bool:
        return (
            self.membership is not None
            and not self.membership.is_staff_member
            and self.membership.organization_id is not None
        )


class _HandshakeRequest:
    """What the session, auth and second-factor helpers read of a request."""

    def __init__(self, *, tenant, session, cookies: dict, headers: dict):
        self.tenant = tenant
        self.session = session
        self.COOKIES = cookies
        self.headers = headers
        self.META = {}
        self.user = AnonymousUser()
        self.membership = None
        self.path_info = "/ws/"


def _headers(scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == host.strip().lower()


def socket_language(scope, *, user, tenant) -> str:
    """The language of the person on a socket, as for their pages (`language_for`)."""
    from helpdesk.middleware import language_for

    headers = _headers(scope)
    return language_for(
        cookie=parse_cookie(headers.get("cookie", "")).get(settings.LANGUAGE_COOKIE_NAME),
        user=user,
        accept_language=headers.get("accept-language", ""),
        tenant=tenant,
    )


def identify(scope) -> Visitor | None:
    """The visitor of a handshake, or None when its host is no desk's."""
    from helpdesk.models import Membership
    from helpdesk.second_factor import Need, second_factor_need

    headers = _headers(scope)
    host = headers.get("host", "")
    tenant = tenant_for_host(host)
    if tenant is None:
        return None
    cookies = parse_cookie(headers.get("cookie", ""))
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(cookies.get(settings.SESSION_COOKIE_NAME))
    request = _HandshakeRequest(tenant=tenant, session=session, cookies=cookies, headers=headers)
    with tenant_scope(tenant):
        user = get_user(request)  # the desk's own people only (auth_backends.py)
        membership = None
        if user.is_authenticated:
            membership = (
                Membership.objects.filter(user=user, is_active=True)
                .select_related("organization__plan")
                .first()
            )
            if membership is not None:
                membership.tenant = tenant  # the same row, already read
        request.user, request.membership = user, membership
        owed = user.is_authenticated and second_factor_need(request) is not Need.NOTHING
    return Visitor(
        tenant=tenant,
        user=user,
        membership=membership,
        language=socket_language(scope, user=user, tenant=tenant),
        second_factor_owed=owed,
        origin=headers.get("origin", ""),
    )


class DeskSocketMiddleware:
    """Refuse a handshake on a host of no desk or from a foreign origin; otherwise put
    the `Visitor` in the scope for the consumer.

    `allowed_origins(tenant)` names the other origins a route accepts (the embeddable
    widget's); by default a socket must come from a page of its own host.
    """

    def __init__(self, inner, *, allowed_origins: Callable[[Any], set[str]] | None = None):
        self.inner = inner
        self.allowed_origins = allowed_origins

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        visitor = await database_sync_to_async(identify)(scope)
        if visitor is None:
            return await _refuse(receive, send, CLOSE_UNKNOWN_HOST)
        host = _headers(scope).get("host", "")
        if not _same_origin(visitor.origin, host):
            others = (
                await database_sync_to_async(self.allowed_origins)(visitor.tenant)
                if self.allowed_origins
                else set()
            )
            if visitor.origin.lower().rstrip("/") not in others:
                return await _refuse(receive, send, CLOSE_FOREIGN_ORIGIN)
        return await self.inner({**scope, "visitor": visitor}, receive, send)


async def _refuse(receive, send, code: int) -> None:
    """Close the handshake: the browser sees the socket close with `code`."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": code})


def in_desk(function: Callable) -> Callable:
    """Run a consumer's synchronous method in a thread, inside the socket's desk: its
    tenant scope, the visitor's language and the desk's time zone."""

    @functools.wraps(function)
    async def run(consumer, *args, **kwargs):
        visitor: Visitor = consumer.scope["visitor"]

        def in_scope():
            with (
                tenant_scope(visitor.tenant),
                translation.override(visitor.language),
                timezone.override(visitor.tenant.tzinfo),
            ):
                return function(consumer, *args, **kwargs)

        return await database_sync_to_async(in_scope)()

    return run


__all__ = [
    "CLOSE_FOREIGN_ORIGIN",
    "CLOSE_UNKNOWN_HOST",
    "DeskSocketMiddleware",
    "Visitor",
    "identify",
    "in_desk",
    "socket_language",
]
