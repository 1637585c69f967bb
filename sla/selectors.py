"""Reading the SLA rules: which policy applies to a ticket, and its calendar.

Every ticket action needs the tenant's policies and calendars; they change
rarely, so they are loaded once into a `PolicyBook` and kept in the cache
until an admin edits any of them (see `sla.apps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING

from django.core.cache import cache

from sla.business_time import Schedule
from sla.models import BusinessCalendar, SLAPolicy

if TYPE_CHECKING:
    from tickets.models import Ticket

CACHE_SECONDS = 3600


def _cache_key(tenant_id: int) -> str:
    # v2: policies are keyed by (plan, priority, category, channel).
    return f"sla:book:v2:{tenant_id}"


# Which of (category, plan, priority, channel) a policy names, most specific first: the
# most named, then category before plan before priority before channel (see SLAPolicy).
SPECIFICITY = sorted(
    product((True, False), repeat=4), key=lambda named: (-sum(named), [not n for n in named])
)


@dataclass
class PolicyBook:
    """A tenant's SLA policies by (plan, priority), and each calendar's schedule."""

    tenant_id: int
    policies: dict[tuple[int | None, int | None], SLAPolicy]
    schedules: dict[int, Schedule]
    calendars: dict[int, BusinessCalendar]
    default_calendar_id: int | None
    lowest_plan_id: int | None
    time_zone: str = "UTC"
    _by_id: dict[int, SLAPolicy] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_id = {policy.pk: policy for policy in self.policies.values()}

    def policy(
        self,
        plan_id: int | None,
        priority: int | None,
        category_id: int | None = None,
        channel: str = "",
    ) -> SLAPolicy | None:
        """The most specific policy for a ticket of this kind (see SLAPolicy)."""
        plan_id = plan_id or self.lowest_plan_id
        values = (category_id, plan_id, priority, channel or None)
        for named in SPECIFICITY:
            category, plan, priority_, channel_ = (
                value if use else None for value, use in zip(values, named, strict=True)
            )
            key = (plan, priority_, category, channel_)
            if key in self.policies:
                return self.policies[key]
        return None

    def policy_by_id(self, policy_id: int | None) -> SLAPolicy | None:
        return self._by_id.get(policy_id)

    def policy_for_ticket(self, ticket: Ticket) -> SLAPolicy | None:
        plan_id = ticket.organization.plan_id if ticket.organization_id else None
        return self.policy(plan_id, ticket.priority, ticket.category_id, ticket.channel)

    def calendar(self, policy: SLAPolicy | None) -> BusinessCalendar | None:
        calendar_id = (policy.calendar_id if policy else None) or self.default_calendar_id
        return self.calendars.get(calendar_id)

    def schedule(self, policy: SLAPolicy | None) -> Schedule:
        """The hours `policy` counts in; a desk without calendars counts every hour."""
        calendar = self.calendar(policy)
        if calendar is None:
            return Schedule.around_the_clock(self.time_zone)
        return self.schedules[calendar.pk]


def _load(tenant) -> PolicyBook:
    from plans.models import Plan

    calendars = list(BusinessCalendar.objects.prefetch_related("hours", "dates"))
    policies = list(
        SLAPolicy.objects.select_related("plan", "calendar", "escalation_agent", "category")
    )
    default = next((c for c in calendars if c.is_default), None)
    lowest_plan = Plan.objects.order_by("rank").values_list("pk", flat=True).first()
    return PolicyBook(
        tenant_id=tenant.pk,
        policies={(p.plan_id, p.priority, p.category_id, p.channel or None): p for p in policies},
        schedules={c.pk: c.schedule() for c in calendars},
        calendars={c.pk: c for c in calendars},
        default_calendar_id=default.pk if default else None,
        lowest_plan_id=lowest_plan,
        time_zone=tenant.time_zone,
    )


def policy_book(tenant) -> PolicyBook:
    """The tenant's rules (a `Tenant` or its id, in its scope), from the cache when
    nothing changed since they were loaded."""
    from helpdesk.models import Tenant

    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    key = _cache_key(tenant_id)
    book = cache.get(key)
    if book is None:
        if isinstance(tenant, int):
            tenant = Tenant.objects.get(pk=tenant_id)
        book = _load(tenant)
        cache.set(key, book, CACHE_SECONDS)
    return book


def forget_policy_book(tenant_id: int) -> None:
    cache.delete(_cache_key(tenant_id))


@dataclass
class PlanServiceLevel:
    """One plan's column on the service-levels page."""

    plan: object
    policy: SLAPolicy | None
    calendar: BusinessCalendar | None
    overrides: list[SLAPolicy]  # per-priority policies that differ from the plan's own


def service_levels(tenant) -> list[PlanServiceLevel]:
    """Every plan with what it promises, cheapest first."""
    from plans.models import Plan

    book = policy_book(tenant)
    columns = []
    for plan in Plan.objects.order_by("rank"):
        policy = book.policy(plan.pk, None)
        # What differs from the plan's own targets: its priorities and kinds of request,
        # and the desk-wide ones for kinds of request (which apply on every plan).
        overrides = sorted(
            (
                p
                for (plan_id, priority, category, channel), p in book.policies.items()
                if (plan_id == plan.pk and (priority or category or channel))
                or (plan_id is None and (category or channel))
            ),
            key=lambda p: (
                p.category.position if p.category_id else -1,
                p.channel,
                p.priority or 0,
            ),
        )
        columns.append(PlanServiceLevel(plan, policy, book.calendar(policy), overrides))
    return columns
