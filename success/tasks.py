"""Thin Celery wrappers over success.services; the beat entry point fans out per desk."""

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from success.services import health_compute_daily
from success.touchpoints import touchpoints_create


@tenant_task()
def compute_health_for(tenant) -> int:
    """Score yesterday for one desk if that is not done yet, then create the
    touchpoints due (scheduled ones, and health drops of newly scored days).
    Returns the number of tasks created."""
    health_compute_daily(tenant=tenant)
    return touchpoints_create(tenant=tenant).total


@app.task(name="success.tasks.compute_health")
def compute_health() -> int:
    """Beat, hourly: every active desk scores yesterday once its day is over and
    creates its touchpoints (a desk with nothing new answers with a few small reads)."""
    return fan_out(compute_health_for)
