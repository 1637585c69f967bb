from helpdesk.tenancy import tenant_scope
from plans.models import Organization, Plan
from plans.services import organization_create


def make_organization(
    tenant, *, name: str, plan: Plan | None = None, domain: str | None = None, **fields
) -> Organization:
    with tenant_scope(tenant):
        plan = plan or Plan.objects.order_by("rank").first()
        return organization_create(
            tenant=tenant, name=name, plan=plan, email_domains=[domain] if domain else [], **fields
        )
