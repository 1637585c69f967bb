from helpdesk.services import email_deliver
from helpdesk.tenancy import tenant_task


@tenant_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=8)
def deliver_email(tenant, email_id: int) -> bool:
    return email_deliver(email_id=email_id)
