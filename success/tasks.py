"""Thin Celery wrappers over success.services; the beat entry point fans out per desk."""

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from success.services import health_compute_daily, health_compute_now


@tenant_task()
def compute_health_for(tenant) -> int:
    """Score yesterday for one desk if that is not done yet (days scored)."""
    return len(health_compute_daily(tenant=tenant))


@tenant_task()
def compute_health_now_for(tenant, organization_ids: list[int] | None = None) -> int:
    """On demand: today's provisional scores (organizations scored)."""
    return health_compute_now(tenant=tenant, organization_ids=organization_ids).scored


@app.task(name="success.tasks.compute_health")
def compute_health() -> int:
    """Beat, hourly: every active desk scores yesterday once its day is over (a desk
    already done answers with one small read)."""
    return fan_out(compute_health_for)
