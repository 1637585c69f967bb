"""Thin Celery wrappers over feedback.services; beat entry points find the work."""

from django.utils import timezone
from django_scopes import scopes_disabled

from feedback.models import CsatSurvey, SurveyStatus
from feedback.services import csat_send_due, nps_send_due
from helpdesk.celery import app
from helpdesk.models import Tenant
from helpdesk.tenancy import tenant_task


@tenant_task()
def send_csat_surveys_for(tenant) -> int:
    return csat_send_due(tenant=tenant)


@app.task(name="feedback.tasks.send_csat_surveys")
def send_csat_surveys() -> int:
    """Beat, every minute: a task per tenant with a survey due (one index probe
    over the scheduled surveys finds them)."""
    with scopes_disabled():
        tenant_ids = sorted(
            set(
                CsatSurvey.objects.filter(
                    status=SurveyStatus.SCHEDULED, send_at__lte=timezone.now()
                ).values_list("tenant_id", flat=True)
            )
        )
    for tenant_id in tenant_ids:
        send_csat_surveys_for.delay(tenant_id)
    return len(tenant_ids)


@tenant_task()
def send_nps_surveys_for(tenant) -> int:
    return nps_send_due(tenant=tenant)


@app.task(name="feedback.tasks.send_nps_surveys")
def send_nps_surveys() -> int:
    """Beat, hourly: each active tenant asks the contacts who are due."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        send_nps_surveys_for.delay(tenant_id)
    return len(tenant_ids)
