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

Each task is unique by (organization, kind, trigger date) (a constraint), and runs
of one desk are serialized by an advisory lock held to commit, each inserting only
the tasks not there yet: however often or concurrently the beat runs, each trigger
makes one task. Owners follow the ARR segmentation: an organization at or above the desk's
threshold gets its success manager; the others' tasks go to the shared pool. Each
owner gets one email per run listing their new tasks (success/notifications.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.models import Tenant
from plans.models import Organization
from success import notifications, scoring
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


def due_touchpoints(start: date, renewal: date | None, today: date):
    """(kind, trigger date, due date) of each contract and renewal touchpoint that
    should exist on `today` for an organization with these dates."""
    for kind, (after, lead) in CONTRACT_TOUCHPOINTS.items():
        due = start + timedelta(days=after)
        if due - timedelta(days=lead) <= today <= due + timedelta(days=STALE_DAYS):
            yield kind, start, due
    if renewal is not None:
        due = renewal - timedelta(days=RENEWAL_LEAD_DAYS)
        if due - timedelta(days=RENEWAL_CREATE_DAYS) <= today <= renewal:
            yield TaskKind.RENEWAL, renewal, due


def scheduled_tasks(
    tenant: Tenant, settings: HealthSettings, today: date, organizations
) -> list[SuccessTask]:
    """The contract and renewal touchpoints due to exist on `today` (unsaved); one
    created after its due date is due on `today`."""
    return [
        SuccessTask(
            tenant=tenant,
            organization=organization,
            owner_id=task_owner_id(organization, settings),
            kind=kind,
            trigger_date=trigger_date,
            due_date=max(due_date, today),
        )
        for organization in organizations
        for kind, trigger_date, due_date in due_touchpoints(
            _contract_start(tenant, organization), organization.renewal_date, today
        )
    ]


def _candidates(tenant: Tenant, today: date):
    """Organizations that may have a scheduled touchpoint on `today`, narrowed in SQL
    to the contract starts and renewal dates `due_touchpoints` could accept."""
    first_start = today - timedelta(
        days=max(after for after, _lead in CONTRACT_TOUCHPOINTS.values()) + STALE_DAYS
    )
    last_start = today - timedelta(
        days=min(after - lead for after, lead in CONTRACT_TOUCHPOINTS.values())
    )
    renewal_horizon = today + timedelta(days=RENEWAL_LEAD_DAYS + RENEWAL_CREATE_DAYS)
    added_since = datetime.combine(first_start, time.min, tzinfo=tenant.tzinfo)
    return (
        Organization.objects.filter(churned_on__isnull=True)
        .filter(
            Q(contract_start__range=(first_start, last_start))
            | Q(contract_start__isnull=True, created_at__gte=added_since)
            | Q(renewal_date__range=(today, renewal_horizon))
        )
        .only("pk", "arr", "contract_start", "renewal_date", "created_at", "success_manager_id")
    )


@dataclass(frozen=True)
class Drop:
    day: date
    score: int
    band: str
    entered_critical: bool
    peak: tuple[date, int] | None  # the highest score of the window before, and its day


def _fell(history: list[tuple[date, int, str]], index: int) -> tuple[date, int] | None:
    """The peak the score at `index` fell DROP_POINTS or more below, within the
    DROP_WINDOW_DAYS days before it; None if it did not fall that far."""
    day, score, _band = history[index]
    window = [(d, s) for d, s, _b in history[:index] if day - timedelta(days=DROP_WINDOW_DAYS) <= d]
    peak = max(window, key=lambda entry: entry[1], default=None)
    return peak if peak is not None and score <= peak[1] - DROP_POINTS else None


def find_drop(history: list[tuple[date, int, str]], day: date) -> Drop | None:
    """Whether the scored `day` of an organization's (day, score, band) history, oldest
    first, is a health drop: entering the critical band from a better one the scored
    day before, or the first day of a fall of DROP_POINTS within DROP_WINDOW_DAYS."""
    days = [entry[0] for entry in history]
    if day not in days:
        return None
    index = days.index(day)
    _day, score, band = history[index]
    # A first score that is critical is not "entering" the band: a new organization
    # has its onboarding task, and a history's first day has short windows.
    entered_critical = (
        band == Band.CRITICAL and index > 0 and history[index - 1][2] != Band.CRITICAL
    )
    peak = _fell(history, index)
    fell = peak is not None and (index == 0 or _fell(history, index - 1) is None)
    if not (entered_critical or fell):
        return None
    window = [(d, s) for d, s, _b in history[:index] if day - timedelta(days=DROP_WINDOW_DAYS) <= d]
    return Drop(day, score, band, entered_critical, max(window, key=lambda e: e[1], default=None))


def drop_reason(drop: Drop, components: dict, peak_components: dict | None) -> dict:
    """What a health-drop task keeps of its drop: the score and band, where it fell
    from, and the three components that cost the most points."""
    reasons = scoring.change_reasons(components, peak_components) if peak_components else []
    return {
        "score": drop.score,
        "band": drop.band,
        "entered_critical": drop.entered_critical,
        "fell_points": drop.peak[1] - drop.score if drop.peak else 0,
        "from_score": drop.peak[1] if drop.peak else None,
        "from_day": drop.peak[0].isoformat() if drop.peak else None,
        "reasons": [[name, points] for name, points in reasons if points < 0][:3],
    }


def drop_tasks(tenant: Tenant, settings: HealthSettings, days: list[date]) -> list[SuccessTask]:
    """Health-drop tasks for the scored `days` (unsaved): the first drop of each
    organization without an open health-drop task."""
    if not days:
        return []
    rows = (
        HealthScore.objects.filter(
            day__range=(min(days) - timedelta(days=DROP_WINDOW_DAYS + 1), max(days))
        )
        .order_by("organization_id", "day")
        .values_list("organization_id", "day", "score", "band")
    )
    histories = defaultdict(list)
    for organization_id, *entry in rows:
        histories[organization_id].append(tuple(entry))
    busy = set(
        SuccessTask.objects.filter(kind=TaskKind.HEALTH_DROP, status=TaskStatus.OPEN).values_list(
            "organization_id", flat=True
        )
    )
    drops: dict[int, Drop] = {}
    for organization_id, history in histories.items():
        if organization_id in busy:
            continue
        for day in sorted(days):
            drop = find_drop(history, day)
            if drop is not None:
                drops[organization_id] = drop
                break
    if not drops:
        return []
    # The components only of the days the reasons compare (not of the whole window).
    wanted = {(pk, drop.day) for pk, drop in drops.items()}
    wanted |= {(pk, drop.peak[0]) for pk, drop in drops.items() if drop.peak}
    components = {
        (pk, day): parts
        for pk, day, parts in HealthScore.objects.filter(
            organization_id__in=drops, day__in={day for _pk, day in wanted}
        ).values_list("organization_id", "day", "components")
        if (pk, day) in wanted
    }
    organizations = Organization.objects.filter(pk__in=drops, churned_on__isnull=True).only(
        "pk", "arr", "success_manager_id"
    )
    tasks = []
    for organization in organizations:
        drop = drops[organization.pk]
        peak_components = components.get((organization.pk, drop.peak[0])) if drop.peak else None
        tasks.append(
            SuccessTask(
                tenant=tenant,
                organization=organization,
                owner_id=task_owner_id(organization, settings),
                kind=TaskKind.HEALTH_DROP,
                trigger_date=drop.day,
                due_date=drop.day + timedelta(days=DROP_DUE_DAYS),
                reason=drop_reason(
                    drop, components.get((organization.pk, drop.day), {}), peak_components
                ),
            )
        )
    return tasks


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
        # No ignore_conflicts: under the lock a conflict cannot happen (and would fail
        # the run loudly, the unique constraint still holding), and the ids come back
        # for the CSMs' emails.
        SuccessTask.objects.bulk_create(new)
        if drop_days:
            HealthSettings.objects.filter(pk=settings.pk).update(drops_through=drop_days[-1])
        notifications.tasks_assigned(tenant, new)
    counts: dict[str, int] = defaultdict(int)
    for task in new:
        counts[task.kind] += 1
    return TouchpointRun(created=dict(counts))
