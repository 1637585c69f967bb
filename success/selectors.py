"""Reading health: the raw figures a day's scores are made of, the scores themselves, and
the organizations events are about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Lower, TruncDate

from feedback.selectors import csat_by_organization, nps_by_organization
from helpdesk.models import Membership, Role, Tenant
from plans.models import Organization
from sla.models import SLAOutcome
from success import scoring
from success.models import PAYMENT_METRICS, USAGE_METRICS, HealthScore, Metric, UsageEvent
from tickets.models import UNSOLVED, Ticket

# Look-back windows, ending with the scored day.
USAGE_WINDOW = timedelta(days=30)  # usage frequency, feature depth, data growth (x2)
TICKET_WINDOW = timedelta(days=30)
SLA_WINDOW = timedelta(days=90)
CSAT_WINDOW = timedelta(days=90)
NPS_WINDOW = timedelta(days=180)
# A usage metric counts as reported by the desk's product when any organization had
# an event of it in this window; otherwise the component is left out for everyone.
REPORTED_WINDOW = timedelta(days=90)


@dataclass
class DayFigures:
    """The raw figures of every organization for one day, read set-based."""

    reported: set[str]
    usage: dict[int, dict]
    payment: dict[int, str]
    tickets: dict[int, dict]
    seats: dict[int, int]
    sla: dict[int, dict]
    nps: dict
    csat: dict


def day_figures(tenant: Tenant, end: datetime, organization_ids=None) -> DayFigures:
    """Every raw figure of the desk's organizations (or those given) for the day ending
    at `end`: one aggregate query per source, GROUP BY organization, whatever their
    number (plus a probe per usage metric for whether the desk reports it at all)."""

    def for_orgs(queryset, path="organization_id"):
        if organization_ids is None:
            return queryset
        return queryset.filter(**{f"{path}__in": organization_ids})

    reported = {
        metric
        for metric in USAGE_METRICS
        if UsageEvent.objects.filter(
            metric=metric, occurred_at__gte=end - REPORTED_WINDOW, occurred_at__lt=end
        ).exists()
    }

    recent = Q(occurred_at__gte=end - USAGE_WINDOW)
    usage_rows = (
        for_orgs(
            UsageEvent.objects.filter(
                metric__in=USAGE_METRICS,
                occurred_at__gte=end - 2 * USAGE_WINDOW,
                occurred_at__lt=end,
            )
        )
        .values("organization_id")
        .annotate(
            active_days=Count(
                TruncDate("occurred_at", tzinfo=tenant.tzinfo),
                distinct=True,
                filter=recent & Q(metric=Metric.LOGIN, value__gt=0),
            ),
            features=Count("feature", distinct=True, filter=recent & Q(metric=Metric.FEATURE_USED)),
            records_recent=Sum("value", filter=recent & Q(metric=Metric.RECORDS_CREATED)),
            records_before=Sum("value", filter=~recent & Q(metric=Metric.RECORDS_CREATED)),
        )
        .order_by()
    )
    usage = {row.pop("organization_id"): row for row in usage_rows}

    # The latest payment event of each organization decides its status.
    payment = dict(
        for_orgs(UsageEvent.objects.filter(metric__in=PAYMENT_METRICS, occurred_at__lt=end))
        .order_by("organization_id", "-occurred_at", "-pk")
        .distinct("organization_id")
        .values_list("organization_id", "metric")
    )
    payment = {org: PAYMENT_METRICS[metric] for org, metric in payment.items()}

    opened = Q(created_at__gte=end - TICKET_WINDOW)
    # Open at the end of the day: unsolved now, or solved (closed) only after it.
    open_then = (
        Q(status__in=UNSOLVED)
        | Q(solved_at__gte=end)
        | Q(solved_at__isnull=True, closed_at__gte=end)
    )
    ticket_rows = (
        for_orgs(Ticket.objects.filter(organization__isnull=False, created_at__lt=end))
        .filter(opened | open_then)
        .values("organization_id")
        .annotate(opened=Count("pk", filter=opened), open=Count("pk", filter=open_then))
        .order_by()
    )
    tickets = {row.pop("organization_id"): row for row in ticket_rows}

    seats = dict(
        for_orgs(
            # Seats as they are now (memberships keep no history of their changes).
            Membership.objects.filter(
                role=Role.CUSTOMER, is_active=True, organization__isnull=False
            )
        )
        .values("organization_id")
        .annotate(seats=Count("pk"))
        .order_by()
        .values_list("organization_id", "seats")
    )

    sla_rows = (
        for_orgs(
            SLAOutcome.objects.filter(
                due_at__gte=end - SLA_WINDOW, due_at__lt=end, ticket__organization__isnull=False
            ),
            "ticket__organization_id",
        )
        .values("ticket__organization_id")
        .annotate(
            clocks=Count("pk"), breached=Count("pk", filter=Q(result=SLAOutcome.Result.BREACHED))
        )
        .order_by()
    )
    sla = {row.pop("ticket__organization_id"): row for row in sla_rows}

    return DayFigures(
        reported=reported,
        usage=usage,
        payment=payment,
        tickets=tickets,
        seats=seats,
        sla=sla,
        nps=nps_by_organization(start=end - NPS_WINDOW, end=end, organization_ids=organization_ids),
        csat=csat_by_organization(
            start=end - CSAT_WINDOW, end=end, organization_ids=organization_ids
        ),
    )


def latest_scores(organization_ids=None) -> dict[int, HealthScore]:
    """Each organization's most recent score (DISTINCT ON over the (organization, day)
    unique index)."""
    scores = HealthScore.objects.order_by("organization_id", "-day").distinct("organization_id")
    if organization_ids is not None:
        scores = scores.filter(organization_id__in=organization_ids)
    return {score.organization_id: score for score in scores}


def score_history(organization: Organization, *, days: int = 30) -> list[HealthScore]:
    """The organization's last `days` scores, newest first."""
    return list(HealthScore.objects.filter(organization=organization).order_by("-day")[:days])


def with_latest_health(organizations: QuerySet[Organization]) -> QuerySet[Organization]:
    """Organizations annotated with `health_score`, `health_band` and `health_day` of
    their latest score (None before the first)."""
    latest = HealthScore.objects.filter(organization=OuterRef("pk")).order_by("-day")
    return organizations.annotate(
        health_score=Subquery(latest.values("score")[:1]),
        health_band=Subquery(latest.values("band")[:1]),
        health_day=Subquery(latest.values("day")[:1]),
    )


def health_trend(history: list[HealthScore], *, days: int = 7):
    """How the latest score compares with the one `days` earlier (or the oldest in
    `history`): (previous score or None, [(component, points moved)], biggest fall first)."""
    if len(history) < 2:
        return None, []
    latest = history[0]
    older = [score for score in history[1:] if (latest.day - score.day).days >= days]
    previous = older[0] if older else history[-1]
    return previous, scoring.change_reasons(latest.components, previous.components)


def organizations_by_reference(references) -> tuple[dict, set]:
    """The desk's organizations that events name: an integer is an organization's id, a
    string its name (any case). Returns ({reference: organization id}, unknown references),
    in two queries at most whatever the number of references."""
    ids = {ref for ref in references if isinstance(ref, int)}
    names = {ref.strip().lower() for ref in references if isinstance(ref, str)}
    found: dict = {}
    if ids:
        found.update(
            (pk, pk) for pk in Organization.objects.filter(pk__in=ids).values_list("pk", flat=True)
        )
    if names:
        by_name = dict(
            Organization.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=names)
            .values_list("lower_name", "pk")
        )
        for ref in references:
            if isinstance(ref, str) and ref.strip().lower() in by_name:
                found[ref] = by_name[ref.strip().lower()]
    unknown = {ref for ref in references if ref not in found}
    return found, unknown
