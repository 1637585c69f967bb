"""Thin Celery wrappers over success.services; the beat entry point fans out per desk."""

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from success.services import health_compute_daily


@tenant_task()
def compute_health_for(tenant) -> int:
    """Score yesterday for one desk if that is not done yet (days scored)."""
    return len(health_compute_daily(tenant=tenant))


@app.task(name="success.tasks.compute_health")
def compute_health() -> int:
    """Beat, hourly: every active desk scores yesterday once its day is over (a desk
    already done answers with one small read)."""
    return fan_out(compute_health_for)
