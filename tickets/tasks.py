from datetime import timedelta

from django.conf import settings

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from tickets.services import tickets_close_solved


@tenant_task()
def close_solved_tickets_for(tenant) -> int:
    return tickets_close_solved(
        tenant=tenant, older_than=timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS)
    )


@app.task(name="tickets.tasks.close_solved_tickets")
def close_solved_tickets() -> int:
    """Beat entry point: one task per active tenant, each in its own scope."""
    return fan_out(close_solved_tickets_for)
