from django.utils import timezone
from django.utils.dateparse import parse_datetime

from helpdesk.celery import app
from helpdesk.tenancy import tenant_task
from sla.services import sla_sweep, tenants_with_sla_work


@tenant_task()
def sweep_tenant(tenant, now: str) -> dict[str, int]:
    result = sla_sweep(tenant=tenant, now=parse_datetime(now))
    return vars(result)


@app.task(name="sla.tasks.sweep")
def sweep() -> int:
    """Beat entry point, every minute: a task per tenant with something due.

    Finding those tenants is one range scan of the `ticket_sla_check` index, so a
    minute with nothing due costs one index probe, whatever the number of tickets.
    """
    now = timezone.now()
    tenant_ids = tenants_with_sla_work(now)
    for tenant_id in tenant_ids:
        sweep_tenant.delay(tenant_id, now.isoformat())
    return len(tenant_ids)
