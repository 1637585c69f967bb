from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled

from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from tickets.models import SuspendedEmail
from tickets.services import suspended_emails_purge, tickets_close_solved


@tenant_task()
def close_solved_tickets_for(tenant) -> int:
    return tickets_close_solved(
        tenant=tenant, older_than=timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS)
    )


@app.task(name="tickets.tasks.close_solved_tickets")
def close_solved_tickets() -> int:
    """Beat entry point: one task per active tenant, each in its own scope."""
    return fan_out(close_solved_tickets_for)


@tenant_task()
def purge_suspended_emails_for(tenant) -> int:
    return suspended_emails_purge()


@app.task(name="tickets.tasks.purge_suspended_emails")
def purge_suspended_emails() -> int:
    """Beat entry point, hourly: one task per desk that has suspended mail past its
    expiry (found by one range scan across desks), each purging its own."""
    with scopes_disabled():
        tenant_ids = list(
            SuspendedEmail.objects.filter(expires_at__lte=timezone.now())
            .order_by()
            .values_list("tenant_id", flat=True)
            .distinct()
        )
    return fan_out(purge_suspended_emails_for, tenant_ids)
