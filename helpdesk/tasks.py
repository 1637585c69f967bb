from datetime import timedelta

from django.utils import timezone
from django_scopes import scopes_disabled

from helpdesk.celery import app
from helpdesk.models import OutboundEmail
from helpdesk.services import EMAIL_MAX_ATTEMPTS, email_deliver
from helpdesk.tenancy import tenant_task

# A queued email never tried this long after it was stored lost its delivery task.
STALLED_AFTER = timedelta(minutes=5)


# SMTP errors are OSErrors; each retry claims the row again (see email_deliver).
@tenant_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=EMAIL_MAX_ATTEMPTS - 1)
def deliver_email(tenant, email_id: int) -> bool:
    return email_deliver(email_id=email_id)


@app.task(name="helpdesk.tasks.deliver_stalled_emails")
def deliver_stalled_emails() -> int:
    """Beat, every few minutes: queue again the emails whose delivery task never
    reached the broker (a process that died between its commit and the publish).
    Delivery claims each row, so an email whose task was only slow is not sent twice."""
    cutoff = timezone.now() - STALLED_AFTER
    with scopes_disabled():
        stalled = list(
            OutboundEmail.objects.filter(
                status=OutboundEmail.Status.QUEUED, attempts=0, created_at__lt=cutoff
            ).values_list("tenant_id", "pk")[:1000]
        )
    for tenant_id, email_id in stalled:
        deliver_email.delay(tenant_id, email_id)
    return len(stalled)
