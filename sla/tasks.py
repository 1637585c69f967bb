from django.utils import timezone
from django.utils.dateparse import parse_datetime

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from sla.services import sla_notices_deliver, sla_sweep, tenants_with_sla_work


@tenant_task()
def sweep_tenant(tenant, now: str) -> dict[str, int]:
    result = sla_sweep(tenant=tenant, now=parse_datetime(now))
    # Notices the sweep wrote queue their own delivery; this also picks up any
    # left behind by a worker that died before delivering them.
    sla_notices_deliver(tenant=tenant)
    return vars(result)


@tenant_task()
def deliver_notices(tenant) -> int:
    return sla_notices_deliver(tenant=tenant)


@app.task(name="sla.tasks.sweep")
def sweep() -> int:
    """Beat entry point, every minute: a task per tenant with something due.

    Finding those tenants is one query over two small index ranges, so a minute
    with nothing due costs one index probe, whatever the number of tickets.
    """
    now = timezone.now()
    return fan_out(sweep_tenant, tenants_with_sla_work(now), now.isoformat())
