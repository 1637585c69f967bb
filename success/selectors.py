"""Reading health: the raw figures a day's scores are made of, the scores themselves, and
the organizations events are about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Lower, TruncDate
from django.http import Http404

from feedback.models import CsatSurvey, NpsSurvey
from feedback.selectors import csat_by_organization, nps_by_organization
from helpdesk.models import Membership, Role, Tenant
from plans.models import Organization
from sla.models import SLAOutcome
from success import scoring
from success.models import (
    PAYMENT_METRICS,
    USAGE_METRICS,
    HealthScore,
    Metric,
    SuccessNote,
    SuccessTask,
    SuccessTaskEvent,
    TaskStatus,
    UsageEvent,
)
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


# -- the CSM workspace -----------------------------------------------------------------------

SPARKLINE_DAYS = 30
HISTORY_DAYS = 90
WHY_MOVED_DAYS = 14  # "why the score moved": the latest score against this many days before
POOL_SHOWN = 50
RECENT_TICKETS = 10
RECENT_FEEDBACK = 5


def organization_for_agent(pk: int) -> Organization:
    """The desk's organization (404 alike for none and another desk's: the query runs
    in the tenant scope)."""
    try:
        return Organization.objects.select_related("plan", "success_manager").get(pk=pk)
    except Organization.DoesNotExist:
        raise Http404 from None


def task_for_agent(pk: int) -> SuccessTask:
    try:
        return SuccessTask.objects.select_related(
            "organization__plan", "organization__success_manager", "owner", "completed_by"
        ).get(pk=pk)
    except SuccessTask.DoesNotExist:
        raise Http404 from None


def dedicated_without_manager(tenant) -> list[Organization]:
    """Current customers in the dedicated segment (ARR at or above the desk's
    threshold) with no success manager: their tasks fall to the shared pool until an
    admin assigns one. Largest ARR first, with their latest health."""
    from success.services import health_settings

    threshold = health_settings(tenant).dedicated_csm_min_arr
    return list(
        with_latest_health(
            Organization.objects.filter(
                arr__gte=threshold, success_manager__isnull=True, churned_on__isnull=True
            )
        )
        .select_related("plan")
        .order_by("-arr", "name")
    )


def task_history(task: SuccessTask) -> list[SuccessTaskEvent]:
    """What was done to the task, oldest first, with who did it."""
    return list(task.events.select_related("actor"))


def open_tasks_of(user) -> list[SuccessTask]:
    """Open tasks owned by `user`, soonest due first."""
    return list(
        SuccessTask.objects.filter(owner=user, status=TaskStatus.OPEN)
        .select_related("organization")
        .order_by("due_date", "pk")
    )


def open_owned_tasks() -> list[SuccessTask]:
    """Every open task someone owns, soonest due first, with its owner: what the desk's
    success managers owe (an admin's view; the pool is apart)."""
    return list(
        SuccessTask.objects.filter(owner__isnull=False, status=TaskStatus.OPEN)
        .select_related("organization", "owner")
        .order_by("due_date", "pk")
    )


def pool_tasks(limit: int = POOL_SHOWN) -> tuple[list[SuccessTask], int]:
    """The first `limit` open tasks nobody owns (soonest due first), and how many there are."""
    pool = SuccessTask.objects.filter(owner__isnull=True, status=TaskStatus.OPEN)
    shown = list(pool.select_related("organization").order_by("due_date", "pk")[:limit])
    total = len(shown) if len(shown) < limit else pool.count()
    return shown, total


def score_lines(organization_ids, *, first: date, last: date) -> dict[int, list]:
    """{organization id: [(day, score)], oldest first} for days first..last: one query."""
    lines: dict[int, list] = {pk: [] for pk in organization_ids}
    rows = (
        HealthScore.objects.filter(organization_id__in=organization_ids, day__range=(first, last))
        .order_by("organization_id", "day")
        .values_list("organization_id", "day", "score")
    )
    for organization_id, day, score in rows:
        lines[organization_id].append((day, score))
    return lines


def managed_organizations(user, today: date) -> list[Organization]:
    """Current customers whose success manager is `user`, those at most risk first (see
    `organizations_by_risk`)."""
    return organizations_by_risk(
        Organization.objects.filter(success_manager=user, churned_on__isnull=True), today
    )


def all_organizations(today: date) -> list[Organization]:
    """Every current customer of the desk, those at most risk first: an admin's view."""
    return organizations_by_risk(
        Organization.objects.filter(churned_on__isnull=True).select_related("success_manager"),
        today,
    )


def organizations_by_risk(organizations: QuerySet[Organization], today: date):
    """`organizations` with their latest health (`health_score`, `health_band`),
    `open_tasks` and `score_line` (the last 30 days' [(day, score)]); the lowest score
    first, the unscored last. Two queries."""
    rows = list(
        with_latest_health(organizations)
        .select_related("plan")
        .annotate(
            open_tasks=Count(
                "success_tasks", filter=Q(success_tasks__status=TaskStatus.OPEN), distinct=True
            )
        )
    )
    lines = score_lines(
        [o.pk for o in rows],
        first=today - timedelta(days=SPARKLINE_DAYS - 1),
        last=today,
    )
    for organization in rows:
        organization.score_line = lines[organization.pk]
    rows.sort(key=lambda o: (o.health_score is None, o.health_score or 0, o.name.lower()))
    return rows


def latest_score(organization_id: int | None) -> HealthScore | None:
    """The organization's latest score; one query even without an organization, so a
    page costs the same either way."""
    return HealthScore.objects.filter(organization_id=organization_id).order_by("-day").first()


@dataclass
class OrganizationPage:
    """What a CSM reads about one organization (success/views/workspace.py
    `organization_detail`)."""

    history: list[HealthScore]  # the last HISTORY_DAYS days' scores, oldest first
    latest: HealthScore | None
    previous: HealthScore | None  # the score WHY_MOVED_DAYS before the latest (or the oldest)
    moves: list[tuple[str, float]]  # components that moved the score since, biggest fall first
    open_tickets: list[Ticket]
    recent_tickets: list[Ticket]
    csat: object  # feedback.selectors.CsatFigure or None
    ratings: list  # recent CsatSurvey rows with a rating
    nps: object  # feedback.selectors.NpsFigure or None
    nps_answers: list  # recent NpsSurvey answers
    tasks: list[SuccessTask]  # open ones first (by due date), then the closed, newest first
    notes: list


def organization_page(organization: Organization, *, today: date, now: datetime):
    """Everything the organization page shows: a fixed number of queries."""
    history = list(
        HealthScore.objects.filter(
            organization=organization,
            day__range=(today - timedelta(days=HISTORY_DAYS - 1), today),
        ).order_by("day")
    )
    latest = history[-1] if history else latest_score(organization.pk)
    previous, moves = health_trend(history[::-1], days=WHY_MOVED_DAYS)
    tickets = Ticket.objects.filter(organization=organization).only(
        "number", "subject", "status", "priority", "created_at", "organization_id"
    )
    pk = [organization.pk]
    tasks = list(
        SuccessTask.objects.filter(organization=organization).select_related(
            "owner", "completed_by"
        )
    )
    open_tasks = sorted((t for t in tasks if t.is_open), key=lambda t: (t.due_date, t.pk))
    closed = sorted(
        (t for t in tasks if not t.is_open),
        key=lambda t: t.completed_at or t.created_at,
        reverse=True,
    )
    return OrganizationPage(
        history=history,
        latest=latest,
        previous=previous,
        moves=moves,
        open_tickets=list(tickets.filter(status__in=UNSOLVED).order_by("-created_at")[:20]),
        recent_tickets=list(tickets.order_by("-created_at")[:RECENT_TICKETS]),
        csat=csat_by_organization(start=now - CSAT_WINDOW, end=now, organization_ids=pk).get(
            organization.pk
        ),
        ratings=list(
            CsatSurvey.objects.filter(ticket__organization=organization, rating__isnull=False)
            .select_related("ticket", "recipient")
            .order_by("-rated_at")[:RECENT_FEEDBACK]
        ),
        nps=nps_by_organization(start=now - NPS_WINDOW, end=now, organization_ids=pk).get(
            organization.pk
        ),
        nps_answers=list(
            NpsSurvey.objects.filter(organization=organization, score__isnull=False)
            .select_related("recipient")
            .order_by("-responded_at")[:RECENT_FEEDBACK]
        ),
        tasks=open_tasks + closed,
        notes=list(
            SuccessNote.objects.filter(organization=organization)
            .select_related("author")
            .order_by("-created_at")[:50]
        ),
    )
