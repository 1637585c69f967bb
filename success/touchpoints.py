"""Touchpoints: the tasks customer success owes each organization, created once each.

Scheduled touchpoints come from an organization's dates (its contract start, or the
day it was added when no contract start is set, and its renewal date):

| kind            | due                          | created from        |
|-----------------|------------------------------|---------------------|
| onboarding      | contract start + 7 days      | the contract start  |
| 30-day check-in | contract start + 30 days     | 14 days before due  |
| 90-day check-in | contract start + 90 days     | 14 days before due  |
| 365-day check-in| contract start + 365 days    | 14 days before due  |
| renewal         | renewal date − 90 days       | 14 days before due  |

A scheduled touchpoint whose due date passed more than `STALE_DAYS` ago is not
created (a desk that starts using this with old customers gets no backlog of
long-gone check-ins); one created after its due date is due the day it is created.
A renewal conversation is created as long as the renewal date has not passed.

A health drop is read from the daily scores: on a scored day the organization
entered the critical band (from a better one the scored day before), or its score
fell 15 points or more below its highest of the 14 days before. Only the first day
of such a fall counts (the next day of the same fall is not a new drop), and not
while a health-drop task is still open.

Each task is unique by (organization, kind, trigger date), inserted with ON
CONFLICT DO NOTHING, and runs of one desk are serialized by an advisory lock held
to commit: however often or concurrently the beat runs, each trigger makes one
task. Owners follow the ARR segmentation: an organization at or above the desk's
threshold gets its success manager; the others' tasks go to the shared pool.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.models import Tenant
from plans.models import Organization
from success import scoring
from success.models import Band, HealthScore, HealthSettings, SuccessTask, TaskKind, TaskStatus

# kind: (days after the contract start it is due, days before due it is created)
CONTRACT_TOUCHPOINTS = {
    TaskKind.ONBOARDING: (7, 7),
    TaskKind.CHECK_IN_30: (30, 14),
    TaskKind.CHECK_IN_90: (90, 14),
    TaskKind.CHECK_IN_365: (365, 14),
}
RENEWAL_LEAD_DAYS = 90  # the conversation is due this long before the renewal date
RENEWAL_CREATE_DAYS = 14  # ...and created this long before it is due
STALE_DAYS = 30

DROP_POINTS = 15  # a fall of at least this many points...
DROP_WINDOW_DAYS = 14  # ...below the highest score of this many days before
DROP_DUE_DAYS = 2
DROP_CATCH_UP_DAYS = 7


@dataclass
class TouchpointRun:
    created: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.created.values())


def task_owner_id(organization: Organization, settings: HealthSettings) -> int | None:
    """The success manager of an organization in the dedicated segment; None (the
    shared pool) for the others, or when no success manager is set."""
    if organization.arr >= settings.dedicated_csm_min_arr:
        return organization.success_manager_id
    return None


def _contract_start(tenant: Tenant, organization: Organization) -> date:
    return (
        organization.contract_start
        or timezone.localtime(organization.created_at, tenant.tzinfo).date()
    )


def scheduled_tasks(
    tenant: Tenant, settings: HealthSettings, today: date, organizations
) -> list[SuccessTask]:
    """The contract and renewal touchpoints due to exist on `today` (unsaved)."""
    tasks = []
    for organization in organizations:
        owner_id = task_owner_id(organization, settings)

        def task(kind, trigger_date, due_date, organization=organization, owner_id=owner_id):
            tasks.append(
                SuccessTask(
                    tenant=tenant,
                    organization=organization,
                    owner_id=owner_id,
                    kind=kind,
                    trigger_date=trigger_date,
                    due_date=max(due_date, today),
                )
            )

        start = _contract_start(tenant, organization)
        for kind, (after, lead) in CONTRACT_TOUCHPOINTS.items():
            due = start + timedelta(days=after)
            if due - timedelta(days=lead) <= today <= due + timedelta(days=STALE_DAYS):
                task(kind, start, due)
        renewal = organization.renewal_date
        if renewal is not None:
            due = renewal - timedelta(days=RENEWAL_LEAD_DAYS)
            if due - timedelta(days=RENEWAL_CREATE_DAYS) <= today <= renewal:
                task(TaskKind.RENEWAL, renewal, due)
    return tasks


def _candidates(tenant: Tenant, today: date):
    """Organizations that may have a scheduled touchpoint on `today`, narrowed in SQL."""
    first_start = today - timedelta(days=365 + STALE_DAYS)
    last_start = today + timedelta(days=14)
    renewal_horizon = today + timedelta(days=RENEWAL_LEAD_DAYS + RENEWAL_CREATE_DAYS)
    created_after = timezone.make_aware(
        timezone.datetime.combine(first_start - timedelta(days=1), timezone.datetime.min.time()),
        tenant.tzinfo,
    )
    return (
        Organization.objects.filter(churned_on__isnull=True)
        .filter(
            Q(contract_start__range=(first_start, last_start))
            | Q(contract_start__isnull=True, created_at__gte=created_after)
            | Q(renewal_date__range=(today, renewal_horizon))
        )
        .only("pk", "arr", "contract_start", "renewal_date", "created_at", "success_manager_id")
    )


def _falls(history: list[tuple[date, int, str]]) -> dict[date, bool]:
    """For each scored day, whether its score is DROP_POINTS or more below the
    highest of the DROP_WINDOW_DAYS days before it."""
    falls = {}
    for index, (day, score, _band) in enumerate(history):
        window_start = day - timedelta(days=DROP_WINDOW_DAYS)
        before = [s for d, s, _b in history[:index] if window_start <= d < day]
        falls[day] = bool(before) and score <= max(before) - DROP_POINTS
    return falls


def drop_reason(organization_id: int, day: date, history) -> dict | None:
    """Why `day` is a health drop for the organization (None if it is not): the score,
    where it fell from, and the components that moved it most."""
    days = [entry[0] for entry in history]
    if day not in days:
        return None
    index = days.index(day)
    _day, score, band = history[index][:3]
    earlier = history[:index]
    previous = earlier[-1] if earlier else None
    # A first score that is critical is not "entering" the band: a new organization
    # has its onboarding task, and a history's first day has short windows.
    entered_critical = (
        band == Band.CRITICAL and previous is not None and previous[2] != Band.CRITICAL
    )
    falls = _falls([entry[:3] for entry in history])
    fell = falls[day] and not (previous is not None and falls.get(previous[0]))
    if not (entered_critical or fell):
        return None
    window = [e for e in earlier if day - timedelta(days=DROP_WINDOW_DAYS) <= e[0] < day]
    peak = max(window, key=lambda e: e[1]) if window else None
    reasons = scoring.change_reasons(history[index][3], peak[3]) if peak else []
    return {
        "score": score,
        "band": band,
        "entered_critical": entered_critical,
        "fell_points": (peak[1] - score) if peak else 0,
        "from_score": peak[1] if peak else None,
        "from_day": peak[0].isoformat() if peak else None,
        "reasons": [[name, points] for name, points in reasons if points < 0][:3],
    }


def drop_tasks(tenant: Tenant, settings: HealthSettings, days: list[date]) -> list[SuccessTask]:
    """Health-drop tasks for the scored `days` (unsaved)."""
    if not days:
        return []
    rows = (
        HealthScore.objects.filter(
            day__range=(min(days) - timedelta(days=DROP_WINDOW_DAYS + 1), max(days))
        )
        .order_by("organization_id", "day")
        .values_list("organization_id", "day", "score", "band", "components")
    )
    history = defaultdict(list)
    for organization_id, *entry in rows:
        history[organization_id].append(tuple(entry))
    busy = set(
        SuccessTask.objects.filter(kind=TaskKind.HEALTH_DROP, status=TaskStatus.OPEN).values_list(
            "organization_id", flat=True
        )
    )
    found = {}
    for organization_id, entries in history.items():
        if organization_id in busy:
            continue
        for day in sorted(days):
            reason = drop_reason(organization_id, day, entries)
            if reason is not None:
                found[organization_id] = (day, reason)
                break
    organizations = Organization.objects.filter(pk__in=found, churned_on__isnull=True).only(
        "pk", "arr", "success_manager_id"
    )
    return [
        SuccessTask(
            tenant=tenant,
            organization=organization,
            owner_id=task_owner_id(organization, settings),
            kind=TaskKind.HEALTH_DROP,
            trigger_date=found[organization.pk][0],
            due_date=found[organization.pk][0] + timedelta(days=DROP_DUE_DAYS),
            reason=found[organization.pk][1],
        )
        for organization in organizations
    ]


def touchpoints_create(*, tenant: Tenant, today: date | None = None) -> TouchpointRun:
    """Create every touchpoint due to exist on `today` (the desk's time zone) that is
    not there yet. Safe to run again or concurrently: see the module's docstring."""
    from success.services import health_settings

    today = today or timezone.localtime(timezone.now(), tenant.tzinfo).date()
    settings = health_settings(tenant)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('success.touchpoints'), %s)", [tenant.pk]
            )
        settings.refresh_from_db(fields=["drops_through", "daily_through"])
        tasks = scheduled_tasks(tenant, settings, today, _candidates(tenant, today))
        drop_days = []
        if settings.daily_through is not None:
            first = settings.daily_through - timedelta(days=DROP_CATCH_UP_DAYS - 1)
            if settings.drops_through is not None:
                first = max(first, settings.drops_through + timedelta(days=1))
            drop_days = [
                first + timedelta(days=n) for n in range((settings.daily_through - first).days + 1)
            ]
        tasks += drop_tasks(tenant, settings, drop_days)
        # Under the lock nobody else is inserting: what is not there yet is new.
        existing = set(
            SuccessTask.objects.filter(
                organization_id__in={task.organization_id for task in tasks}
            ).values_list("organization_id", "kind", "trigger_date")
        )
        new = [t for t in tasks if (t.organization_id, t.kind, t.trigger_date) not in existing]
        SuccessTask.objects.bulk_create(new, ignore_conflicts=True)
        if drop_days:
            HealthSettings.objects.filter(pk=settings.pk).update(drops_through=drop_days[-1])
    counts: dict[str, int] = defaultdict(int)
    for task in new:
        counts[task.kind] += 1
    return TouchpointRun(created=dict(counts))
