"""How code enters a tenant: the one helper for requests, commands and tasks.

- Requests: `TenantMiddleware` resolves the tenant from the host and wraps the
  whole response in `tenant_scope(tenant)`.
- Management commands: subclass `TenantCommand`; `handle_tenant` runs in scope.
- Celery tasks: decorate with `tenant_task`; the body runs in scope.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from celery import shared_task
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_scopes import get_scope, scope

if TYPE_CHECKING:
    from helpdesk.models import Tenant


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block with queries on tenant-owned models limited to `tenant`."""
    with scope(tenant=tenant):
        yield tenant


def current_tenant() -> Tenant | None:
    """The desk whose scope is open (None outside any, and where scopes are disabled)."""
    state = get_scope()
    return state.get("tenant") if state.get("_enabled") else None


def split_host(host: str) -> str:
    """'Acme.Example.com:8000' -> 'acme.example.com'."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def is_platform_host(host: str) -> bool:
    return split_host(host) == settings.BASE_DOMAIN


def tenant_for_host(host: str) -> Tenant | None:
    """The active tenant served at `host`, or None.

    `<slug>.<BASE_DOMAIN>` is a tenant's own subdomain; any other host must be a
    custom domain mapped in admin.
    """
    from helpdesk.models import Tenant

    hostname = split_host(host)
    suffix = "." + settings.BASE_DOMAIN
    active = Tenant.objects.filter(is_active=True)
    if hostname.endswith(suffix):
        slug = hostname.removesuffix(suffix)
        if "." in slug:
            return None
        return active.filter(slug=slug).first()
    return active.filter(domains__domain=hostname).first()


def tenant_url(tenant: Tenant, path: str = "/", *, port: str | int | None = None) -> str:
    """An absolute URL on the tenant's own subdomain (used in demo output and emails)."""
    scheme = "http" if settings.DEBUG else "https"
    port = port or settings.PUBLIC_PORT
    netloc = f"{tenant.slug}.{settings.BASE_DOMAIN}" + (f":{port}" if port else "")
    return f"{scheme}://{netloc}{path}"


class TenantCommand(BaseCommand):
    """A management command that works on one tenant (`--tenant slug`) or on each in turn."""

    all_tenants_by_default = False

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Slug of the tenant to work on.")

    def handle(self, *args, **options):
        from helpdesk.models import Tenant

        slug = options.pop("tenant", None)
        if slug:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise CommandError(f"No tenant with slug {slug!r}.")
            tenants = [tenant]
        elif self.all_tenants_by_default:
            tenants = list(Tenant.objects.filter(is_active=True))
        else:
            raise CommandError("Name a tenant with --tenant.")
        for tenant in tenants:
            with tenant_scope(tenant):
                self.handle_tenant(tenant, *args, **options)

    def handle_tenant(self, tenant: Tenant, *args, **options) -> None:
        raise NotImplementedError


def tenant_task(*task_args: Any, **task_options: Any) -> Callable:
    """Declare a Celery task whose body runs inside a tenant's scope.

    The task is called with the tenant's id first: `send_email.delay(tenant.id, email_id)`;
    the body receives the `Tenant`: `def send_email(tenant, email_id)`. A tenant
    deleted or deactivated since the task was queued makes it a no-op.
    """

    def decorator(body: Callable) -> Callable:
        @shared_task(
            *task_args,
            name=task_options.pop("name", None) or f"{body.__module__}.{body.__name__}",
            **task_options,
        )
        @functools.wraps(body)
        def run(tenant_id: int, *args: Any, **kwargs: Any) -> Any:
            from helpdesk.models import Tenant

            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                return None
            with tenant_scope(tenant):
                return body(tenant, *args, **kwargs)

        return run

    return decorator


def fan_out(task: Any, tenant_ids: list[int] | None = None, *args: Any) -> int:
    """Queue a `tenant_task` once per tenant (by default each active tenant): how
    beat entry points hand their work to one task per tenant."""
    from helpdesk.models import Tenant

    if tenant_ids is None:
        tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        task.delay(tenant_id, *args)
    return len(tenant_ids)


__all__ = [
    "TenantCommand",
    "current_tenant",
    "fan_out",
    "is_platform_host",
    "tenant_for_host",
    "tenant_scope",
    "tenant_task",
    "tenant_url",
]
