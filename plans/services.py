from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from helpdesk.models import Tenant
from plans.models import Organization, OrganizationDomain, Plan, PlanSettings

# The tiers a new tenant starts with (seeds/001): service follows the plan. Their texts
# name no response time: those are written from each plan's SLA targets (sla.display).
DEFAULT_PLANS = [
    {
        "name": "Free",
        "rank": 0,
        "monthly_price": Decimal("0"),
        "help_center_blurb": "Self-service first: the knowledge base answers most questions, "
        "and our team answers every request.",
        "help_center_blurb_zh_hans": "自助优先：知识库能解答大多数问题，"
        "我们的团队会回复每一个工单。",
    },
    {
        "name": "Pro",
        "rank": 1,
        "monthly_price": Decimal("49"),
        "help_center_blurb": "Priority email and web support.",
        "help_center_blurb_zh_hans": "优先处理的邮件和网页支持。",
    },
    {
        "name": "Pro+",
        "rank": 2,
        "monthly_price": Decimal("199"),
        "allows_urgent": True,
        "offers_chat": True,
        "offers_phone": True,
        "phone_number": "+1 800 555 0100",
        "help_center_blurb": "Phone support, urgent requests, and a 1:1 chat with an engineer "
        "who knows your account.",
        "help_center_blurb_zh_hans": "电话支持、紧急工单，以及与熟悉您账户的工程师一对一沟通。",
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


def default_support_email(tenant: Tenant) -> str:
    """support@<slug>.<INBOUND_EMAIL_DOMAIN>: the desk's own host name, as a mail
    gateway for it would receive it, until an admin sets the real address."""
    return f"support@{tenant.slug}.{settings.INBOUND_EMAIL_DOMAIN}"


def plan_settings(*, tenant: Tenant) -> PlanSettings:
    """The desk's plan settings, created with the defaults on first use."""
    found = PlanSettings.objects.filter(tenant=tenant).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return PlanSettings.objects.create(
                tenant=tenant, support_email=default_support_email(tenant)
            )
    except IntegrityError:  # created meanwhile by a request of the same desk
        return PlanSettings.objects.get(tenant=tenant)


def upgrade_url(plan: Plan, settings_row: PlanSettings) -> str:
    """Where a customer buys `plan`: its own page, else the desk's; '' for neither."""
    return plan.upgrade_url or settings_row.upgrade_url
