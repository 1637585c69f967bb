"""Thin Celery wrappers over feedback.services; beat entry points find the work."""

from django.utils import timezone
from django_scopes import scopes_disabled

from feedback import rollups
from feedback.models import CsatSurvey, SurveyStatus
from feedback.services import csat_send_due, nps_send_due
from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task


@tenant_task()
def send_csat_surveys_for(tenant) -> int:
    return csat_send_due(tenant=tenant)


@app.task(name="feedback.tasks.send_csat_surveys")
def send_csat_surveys() -> int:
    """Beat, every minute: a task per tenant with a survey due (one index probe
    over the scheduled surveys finds them)."""
    with scopes_disabled():
        due = CsatSurvey.objects.filter(status=SurveyStatus.SCHEDULED, send_at__lte=timezone.now())
        tenant_ids = sorted(set(due.values_list("tenant_id", flat=True)))
    return fan_out(send_csat_surveys_for, tenant_ids)


@tenant_task()
def send_nps_surveys_for(tenant) -> int:
    return nps_send_due(tenant=tenant)


@app.task(name="feedback.tasks.send_nps_surveys")
def send_nps_surveys() -> int:
    """Beat, hourly: each active tenant asks the contacts who are due."""
    return fan_out(send_nps_surveys_for)


@tenant_task()
def refresh_rollups_for(tenant) -> int:
    return rollups.refresh(tenant)


@app.task(name="feedback.tasks.refresh_rollups")
def refresh_rollups() -> int:
    """Beat, every minute: a task per desk whose dashboard rollups have stale days."""
    return fan_out(refresh_rollups_for, rollups.stale_tenants())
