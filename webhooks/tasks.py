"""Thin Celery wrappers over webhooks.services."""

from helpdesk.celery import app
from helpdesk.tenancy import tenant_task
from webhooks.services import webhook_deliver, webhook_sweep


@tenant_task()
def deliver_webhook(tenant, delivery_id: int) -> bool:
    return webhook_deliver(delivery_id=delivery_id)


@app.task(name="webhooks.tasks.sweep_webhooks")
def sweep_webhooks() -> dict[str, int]:
    """Beat, every minute: due deliveries, and those of workers that died (webhook_sweep)."""
    return webhook_sweep()
