"""Thin Celery wrappers over the outbox (helpdesk/outbox.py) and email delivery."""

from helpdesk.celery import app
from helpdesk.outbox import outbox_run, outbox_sweep
from helpdesk.services import email_deliver
from helpdesk.tenancy import tenant_task


@tenant_task()
def deliver_email(tenant, email_id: int) -> bool:
    return email_deliver(email_id=email_id)


@tenant_task()
def run_outbox_job(tenant, job_id: int) -> bool:
    return outbox_run(job_id=job_id)


@app.task(name="helpdesk.tasks.sweep_outbox")
def sweep_outbox() -> dict[str, int]:
    """Beat, every minute: what lost wake-ups and failed attempts left (outbox_sweep)."""
    return outbox_sweep()
