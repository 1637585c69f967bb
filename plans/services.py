from decimal import Decimal

from django.db import transaction

from helpdesk.models import Tenant
from plans.models import Organization, OrganizationDomain, Plan

# The tiers a new tenant starts with (seeds/001): service follows the plan.
DEFAULT_PLANS = [
    {
        "name": "Free",
        "rank": 0,
        "monthly_price": Decimal("0"),
        "help_center_blurb": "Self-service first: the knowledge base answers most questions, "
        "and our team replies to tickets within 48 hours.",
    },
    {
        "name": "Pro",
        "rank": 1,
        "monthly_price": Decimal("49"),
        "help_center_blurb": "Priority email and web support: a first reply within 24 hours.",
    },
    {
        "name": "Pro+",
        "rank": 2,
        "monthly_price": Decimal("199"),
        "allows_urgent": True,
        "offers_chat": True,
        "offers_phone": True,
        "phone_number": "+1 800 555 0100",
        "chat_details": "1:1 chat with your support engineer from the help center",
        "help_center_blurb": "A first reply within 2 hours, phone support and a 1:1 chat "
        "with an engineer who knows your account.",
    },
]


@transaction.atomic
def plan_create_defaults(*, tenant: Tenant) -> list[Plan]:
    """Give a tenant the default Free / Pro / Pro+ plans (idempotent by rank)."""
    plans = []
    for spec in DEFAULT_PLANS:
        plan, _ = Plan.objects.get_or_create(tenant=tenant, rank=spec["rank"], defaults=spec)
        plans.append(plan)
    return plans


@transaction.atomic
def organization_create(
    *,
    tenant: Tenant,
    name: str,
    plan: Plan,
    email_domains: list[str] = (),
    **fields,
) -> Organization:
    organization = Organization(tenant=tenant, name=name, plan=plan, **fields)
    organization.full_clean()
    organization.save()
    for domain in email_domains:
        OrganizationDomain.objects.create(tenant=tenant, organization=organization, domain=domain)
    return organization
