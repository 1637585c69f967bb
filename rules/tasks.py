from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task
from rules.services import automations_run, tenants_with_automations


@tenant_task()
def run_automations_for(tenant) -> int:
    return automations_run(tenant=tenant)


@app.task(name="rules.tasks.run_automations")
def run_automations() -> int:
    """Beat entry point, every minute: one task per desk with active automations."""
    return fan_out(run_automations_for, tenants_with_automations())
