from helpdesk.services import EMAIL_MAX_ATTEMPTS, email_deliver
from helpdesk.tenancy import tenant_task


# SMTP errors are OSErrors; each retry claims the row again (see email_deliver).
@tenant_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=EMAIL_MAX_ATTEMPTS - 1)
def deliver_email(tenant, email_id: int) -> bool:
    return email_deliver(email_id=email_id)
