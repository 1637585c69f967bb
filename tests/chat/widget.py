"""The chat widget in tests: a desk's widget turned on for some sites, identity tokens
signed as a tenant's backend signs them, and widget tickets as the exchange gives them."""

from __future__ import annotations

from datetime import timedelta

import jwt
from django.utils import timezone

from chat import services, widget
from chat.models import ChatSettings

# The tenant's product, where the widget is embedded.
ORIGIN = "https://app.acme.example"


def widget_on(desk, *origins: str, enabled: bool = True) -> ChatSettings:
    with desk.scope():
        rules = services.chat_settings(desk.tenant)
        rules.widget_enabled = enabled
        rules.widget_origins = list(origins or (ORIGIN,))
        rules.save()
        return rules


def secret_of(desk) -> str:
    with desk.scope():
        return services.chat_settings(desk.tenant).widget_secret


def identity_token(
    desk, email: str, *, secret: str | None = None, lifetime=timedelta(minutes=10), **claims
) -> str:
    """What the tenant's backend signs for a customer signed in to its product."""
    now = timezone.now()
    payload = {"email": email, "iat": now, "exp": now + lifetime, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, secret or secret_of(desk), algorithm="HS256")


def widget_ticket(desk, user, origin: str = ORIGIN) -> str:
    """A widget session for `user`, as the exchange opens one."""
    with desk.scope():
        return widget.widget_session_start(
            tenant=desk.tenant, token=identity_token(desk, user.email), origin=origin
        ).ticket
