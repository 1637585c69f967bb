from django.db.models import Count, Sum

from helpdesk.models import Membership
from plans.models import Organization, Plan


def organization_for_email(email: str) -> Organization | None:
    """The current tenant's organization that owns the email's domain, if any."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    if not domain:
        return None
    return Organization.objects.filter(domains__domain=domain).select_related("plan").first()


def plan_for_membership(membership: Membership) -> Plan | None:
    """The plan whose service a customer gets: their organization's, else the entry tier."""
    if membership.organization_id:
        return membership.organization.plan
    return Plan.objects.order_by("rank").first()


def plans_above(plan: Plan) -> list[Plan]:
    """Higher tiers, shown to a customer as what upgrading would give them."""
    return list(Plan.objects.filter(rank__gt=plan.rank).order_by("rank"))


def plans_with_organizations() -> list[Plan]:
    """Every plan with its organizations (and their member counts), for the agent overview."""
    from django.db.models import Prefetch

    organizations = Organization.objects.annotate(
        member_total=Count("memberships", distinct=True)
    ).select_related("success_manager")
    return list(
        Plan.objects.order_by("rank")
        .annotate(
            organization_total=Count("organizations", distinct=True),
            arr_total=Sum("organizations__arr"),
        )
        .prefetch_related(Prefetch("organizations", queryset=organizations))
    )
