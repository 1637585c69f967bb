"""What the feature apps give the core, without the core importing them.

`helpdesk/` is the project and the tenancy core: the desks, their people, the outbox
and events. Feature apps (plans, tickets, sla, ...) build on it, so it may not import
them. Where the core needs something of theirs, an app's AppConfig offers it as a
method, and the core asks every installed app in `INSTALLED_APPS` order:

- `tenant_defaults(tenant)`: the app's rows a new desk starts with (idempotent). Plans
  come before SLA policies because `plans` is listed before `sla`.
- `demo_data(tenant)`: the app's part of the demo desk (`manage.py seed_demo`).
- `demo_logins()`: lines naming the app's demo logins, for seed_demo's summary.
- `organization_for_email(email)`: the customer organization owning an address, which
  a new customer joins (plans).

The same shape as Django's own `AppConfig.ready()`: nothing to register by hand, and
an app that offers nothing simply has no such method.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps


def _offered(method: str) -> Iterator[Any]:
    for config in apps.get_app_configs():
        function = getattr(config, method, None)
        if function is not None:
            yield function


def tenant_defaults(tenant) -> None:
    for contribute in _offered("tenant_defaults"):
        contribute(tenant)


def demo_data(tenant) -> None:
    for contribute in _offered("demo_data"):
        contribute(tenant)


def demo_logins() -> list[str]:
    return [line for contribute in _offered("demo_logins") for line in contribute()]


def organization_for_email(email: str):
    """The organization of the desk in scope owning this address, or None."""
    for find in _offered("organization_for_email"):
        found = find(email)
        if found is not None:
            return found
    return None
