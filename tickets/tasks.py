from datetime import timedelta

from django.conf import settings

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from tickets import notifications
from tickets.services import tickets_close_solved


@tenant_task(autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def notify_ticket_event(tenant, event: str, ticket_id: int, message_id, occurrence: str) -> int:
    return notifications.deliver(
        event=event, ticket_id=ticket_id, message_id=message_id, occurrence=occurrence
    )


@tenant_task()
def close_solved_tickets_for(tenant) -> int:
    return tickets_close_solved(
        tenant=tenant, older_than=timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS)
    )


@app.task(name="tickets.tasks.close_solved_tickets")
def close_solved_tickets() -> int:
    """Beat entry point: one task per active tenant, each in its own scope."""
    return fan_out(close_solved_tickets_for)
