"""Commercial signals for customer success managers: who may be ready to buy more
(upsell) and who may recommend the product (referral). Read-only selectors (not
Django signals), set-based: a fixed handful of queries whatever the number of
organizations.

- Upsell: an organization not on the desk's highest-rank plan showing at least one
  of: many high or urgent tickets lately (it leans on support the higher tiers
  promise faster), seats growing, or heavy use (latest usage frequency and feature
  depth component scores both very high).
  Or it asked: someone clicked an "Upgrade to" link or "Ask us about" button of the
  help center (success/upgrades.py) in the window.
- Referral: a healthy organization (latest band) with a promoter (an NPS answer of 9
  or 10) in the last 180 days.

Windows end at midnight after `today` in the desk's time zone, like the scores'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, OuterRef, Q, Subquery

from feedback.models import PROMOTER_MIN, NpsSurvey
from helpdesk.models import Membership, Role, Tenant
from plans.models import Organization, Plan
from success.models import Band, Component, HealthScore, UpgradeInterest
from success.services import day_end
from tickets.models import Priority, Ticket

# Upsell: at least this many tickets of priority high or urgent created in the window
# (an organization escalating this often needs the faster promises of a higher tier).
UPSELL_URGENT_TICKETS = 3
UPSELL_URGENT_PRIORITIES = (Priority.URGENT, Priority.HIGH)
UPSELL_WINDOW = timedelta(days=30)
# Seat growth: active customer members now against those who were already members at
# the start of the window; both an absolute and a relative rise, so neither a big
# customer adding two people nor a tiny one going from 1 to 2 counts.
UPSELL_SEAT_GROWTH = 3
UPSELL_SEAT_GROWTH_PERCENT = 20
# Heavy use: the latest score's usage frequency and feature depth both at least this
# (0-100): they use the product daily and broadly, and may outgrow their plan.
UPSELL_HEAVY_USE_SCORE = 90

# Referral: answers of this window count, from promoters only (9 or 10).
REFERRAL_WINDOW = timedelta(days=180)

# Workspace lists show this many of each.
SIGNALS_SHOWN = 20


@dataclass
class SeatGrowth:
    before: int
    now: int

    @property
    def added(self) -> int:
        return self.now - self.before

    @property
    def percent(self) -> float | None:
        """None when there were no seats before (any growth is infinite)."""
        if not self.before:
            return None
        return round(100 * self.added / self.before, 1)


@dataclass
class UpsellSignal:
    organization: Organization
    urgent_tickets: int | None = None  # high or urgent tickets in the window
    seats: SeatGrowth | None = None
    usage_score: float | None = None  # set, with depth_score, for heavy use
    depth_score: float | None = None
    upgrade_clicks: int | None = None  # set, with enquiries, when someone asked
    upgrade_enquiries: int = 0
    enquiry_number: int | None = None  # the latest enquiry's ticket

    @property
    def reasons(self) -> list[str]:
        found = []
        if self.urgent_tickets is not None:
            found.append("urgent_tickets")
        if self.seats is not None:
            found.append("seat_growth")
        if self.usage_score is not None:
            found.append("heavy_use")
        if self.upgrade_clicks is not None:
            found.append("asked_to_upgrade")
        return found


def _grows(seats: SeatGrowth) -> bool:
    if seats.added < UPSELL_SEAT_GROWTH:
        return False
    # From no seats at all, three new people are growth enough.
    return seats.percent is None or seats.percent >= UPSELL_SEAT_GROWTH_PERCENT


def upsell_signals(tenant: Tenant, today: date) -> list[UpsellSignal]:
    """Organizations not on the highest-rank plan with at least one upsell reason, most
    reasons first, then by ARR (largest first) and name. Six queries."""
    end = day_end(tenant, today)
    start = end - UPSELL_WINDOW
    top_rank = Plan.objects.aggregate(top=Max("rank"))["top"]
    if top_rank is None:
        return []
    below_top = Q(organization__plan__rank__lt=top_rank)

    urgent = dict(
        Ticket.objects.filter(
            below_top,
            priority__in=UPSELL_URGENT_PRIORITIES,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values("organization_id")
        .annotate(tickets=Count("pk"))
        .filter(tickets__gte=UPSELL_URGENT_TICKETS)
        .order_by()
        .values_list("organization_id", "tickets")
    )

    # Memberships keep no history of deactivation: "then" counts the active members
    # who had already joined at the window's start.
    seat_rows = (
        Membership.objects.filter(
            below_top, role=Role.CUSTOMER, is_active=True, organization__isnull=False
        )
        .values("organization_id")
        .annotate(now=Count("pk"), before=Count("pk", filter=Q(created_at__lt=start)))
        .order_by()
    )
    seats = {}
    for row in seat_rows:
        growth = SeatGrowth(before=row["before"], now=row["now"])
        if _grows(growth):
            seats[row["organization_id"]] = growth

    usage_key = f"components__{Component.USAGE_FREQUENCY}__score"
    depth_key = f"components__{Component.FEATURE_DEPTH}__score"
    latest = (
        HealthScore.objects.filter(below_top, day__lte=today)
        .order_by("organization_id", "-day")
        .distinct("organization_id")
        .values_list("organization_id", usage_key, depth_key)
    )
    heavy = {
        organization_id: (usage, depth)
        for organization_id, usage, depth in latest
        if usage is not None
        and depth is not None
        and usage >= UPSELL_HEAVY_USE_SCORE
        and depth >= UPSELL_HEAVY_USE_SCORE
    }

    # Asked from the help center: clicks on an upgrade link, enquiries filed.
    asked = {
        row["organization_id"]: row
        for row in UpgradeInterest.objects.filter(
            below_top, created_at__gte=start, created_at__lt=end
        )
        .values("organization_id")
        .annotate(
            clicks=Count("pk", filter=Q(kind=UpgradeInterest.Kind.CLICK)),
            enquiries=Count("pk", filter=Q(kind=UpgradeInterest.Kind.ENQUIRY)),
            latest_ticket=Max("ticket__number"),
        )
        .order_by()
    }

    ids = set(urgent) | set(seats) | set(heavy) | set(asked)
    organizations = Organization.objects.filter(pk__in=ids, churned_on__isnull=True).select_related(
        "plan", "success_manager"
    )
    signals = []
    for organization in organizations:
        usage, depth = heavy.get(organization.pk, (None, None))
        interest = asked.get(organization.pk)
        signals.append(
            UpsellSignal(
                organization=organization,
                urgent_tickets=urgent.get(organization.pk),
                seats=seats.get(organization.pk),
                usage_score=usage,
                depth_score=depth,
                upgrade_clicks=interest["clicks"] if interest else None,
                upgrade_enquiries=interest["enquiries"] if interest else 0,
                enquiry_number=interest["latest_ticket"] if interest else None,
            )
        )
    signals.sort(key=lambda s: (-len(s.reasons), -s.organization.arr, s.organization.name))
    return signals


@dataclass
class ReferralSignal:
    organization: Organization
    score: int  # the organization's latest health score
    # Each promoter's latest answer (NpsSurvey, with its recipient), newest first.
    promoters: list[NpsSurvey] = field(default_factory=list)


def referral_signals(tenant: Tenant, today: date) -> list[ReferralSignal]:
    """Healthy organizations (latest band) with promoters in the last 180 days, each
    with its promoters' latest answers (newest first); organizations with the most
    recent answer first. One query."""
    end = day_end(tenant, today)
    latest = HealthScore.objects.filter(organization=OuterRef("organization_id"), day__lte=today)
    latest = latest.order_by("-day")
    answers = (
        NpsSurvey.objects.filter(
            score__gte=PROMOTER_MIN,
            responded_at__gte=end - REFERRAL_WINDOW,
            responded_at__lt=end,
            organization__isnull=False,
            organization__churned_on__isnull=True,
        )
        .annotate(
            health_band=Subquery(latest.values("band")[:1]),
            health_score=Subquery(latest.values("score")[:1]),
        )
        .filter(health_band=Band.HEALTHY)
        .select_related("organization__plan", "recipient")
        .order_by("-responded_at", "-pk")
    )
    signals: dict[int, ReferralSignal] = {}
    seen = set()
    for answer in answers:
        signal = signals.setdefault(
            answer.organization_id,
            ReferralSignal(organization=answer.organization, score=answer.health_score),
        )
        # One line per person: their latest answer.
        if (answer.organization_id, answer.recipient_id) in seen:
            continue
        seen.add((answer.organization_id, answer.recipient_id))
        signal.promoters.append(answer)
    return list(signals.values())
