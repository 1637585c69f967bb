"""Demo customer success for `seed_demo`: ninety days of usage and payment events for
the demo organizations, each with a story, and the health history computed from them
together with the demo's tickets, SLA outcomes and survey answers.

- Globex Corporation, Orbit Logistics and Lumen Health use the product nearly every
  day, more of it over time, and pay on time: healthy (Globex only just, held back by
  the SLA breaches its 2-hour targets suffer in the demo's tickets).
- Brightside Bakery (Free) uses the product well, but its SLA record and its one
  satisfaction rating pull it down: at risk.
- Initech, in its last 90 days before renewal, uses a little less of the product and
  its latest invoice is overdue: at risk, with the drop visible in its history.
- Nimbus Notes (Free) faded out over the last two months: a login now and then, no
  new data: critical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from helpdesk.models import Tenant
from plans.models import Organization
from success.models import HealthSettings, Metric, UsageEvent
from success.services import (
    NewEvent,
    events_record,
    health_compute_range,
    health_settings,
)

DAYS = 90
FEATURES = [
    "dashboards",
    "reports",
    "alerts",
    "csv_export",
    "sql_editor",
    "scheduled_emails",
    "sso",
    "api",
]


@dataclass(frozen=True)
class Story:
    # Chance of a login on a day, 90 days ago and today (linear in between).
    login_then: float
    login_now: float
    # Features used, 90 days ago and today.
    features_then: int
    features_now: int
    # Records created on an active day, 90 days ago and today.
    records_then: int
    records_now: int
    pays: bool = True
    overdue_days_ago: int | None = None  # the latest invoice went overdue this long ago


STORIES = {
    "Globex Corporation": Story(0.85, 0.95, 5, 8, 20, 60),
    "Orbit Logistics": Story(0.75, 0.85, 4, 6, 30, 40),
    "Lumen Health": Story(0.7, 0.8, 4, 5, 25, 30),
    "Brightside Bakery": Story(0.6, 0.7, 3, 5, 6, 10, pays=False),
    "Initech": Story(0.8, 0.65, 6, 5, 30, 36, overdue_days_ago=12),
    "Nimbus Notes": Story(0.6, 0.05, 3, 1, 12, 0, pays=False),
}

# The demo's ten registered customers file 200 tickets in two months, far more per seat
# than a real desk (where seats are every customer member): its ticket-load thresholds
# are set to match, the way a desk would tune them in admin.
DEMO_TICKET_LOAD = (Decimal("40"), Decimal("10"))


def _events(tenant: Tenant, organization: Organization, story: Story, rng, today) -> list:
    events = []
    tz = tenant.tzinfo
    for days_ago in range(DAYS, 0, -1):
        day = today - timedelta(days=days_ago)
        progress = (DAYS - days_ago) / DAYS
        at = datetime.combine(day, time(9), tzinfo=tz) + timedelta(minutes=rng.randint(0, 480))
        key = f"demo-{organization.pk}-{day:%Y%m%d}"
        login_chance = story.login_then + (story.login_now - story.login_then) * progress
        if rng.random() < login_chance:
            events.append(
                NewEvent(
                    organization.pk,
                    Metric.LOGIN,
                    at,
                    f"{key}-login",
                    value=Decimal(rng.randint(1, 12)),
                )
            )
            features = round(
                story.features_then + (story.features_now - story.features_then) * progress
            )
            for feature in rng.sample(
                FEATURES[: max(features, 1)], rng.randint(1, max(features, 1))
            ):
                events.append(
                    NewEvent(
                        organization.pk,
                        Metric.FEATURE_USED,
                        at + timedelta(minutes=5),
                        f"{key}-{feature}",
                        feature=feature,
                    )
                )
            records = story.records_then + (story.records_now - story.records_then) * progress
            if records >= 1:
                events.append(
                    NewEvent(
                        organization.pk,
                        Metric.RECORDS_CREATED,
                        at + timedelta(minutes=30),
                        f"{key}-records",
                        value=Decimal(max(1, round(rng.gauss(records, records / 5)))),
                    )
                )
        unpaid = story.overdue_days_ago is not None and days_ago <= story.overdue_days_ago
        if story.pays and not unpaid and day.day == organization.contract_start.day:
            # Invoiced and paid on the contract's day of the month.
            events.append(
                NewEvent(
                    organization.pk,
                    Metric.INVOICE_PAID,
                    at,
                    f"{key}-invoice",
                    value=(organization.arr / 12).quantize(Decimal("0.01")),
                )
            )
    if story.overdue_days_ago is not None:
        overdue_day = today - timedelta(days=story.overdue_days_ago)
        events.append(
            NewEvent(
                organization.pk,
                Metric.INVOICE_OVERDUE,
                datetime.combine(overdue_day, time(18), tzinfo=tz),
                f"demo-{organization.pk}-{overdue_day:%Y%m%d}-overdue",
                value=(organization.arr / 12).quantize(Decimal("0.01")),
            )
        )
    return events


def seed_health(tenant: Tenant, seed: int = 2026) -> int:
    """Create the demo's usage history and score its 90 days; nothing if it has events."""
    if UsageEvent.objects.exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    settings = health_settings(tenant)
    HealthSettings.objects.filter(pk=settings.pk).update(
        ticket_load_zero=DEMO_TICKET_LOAD[0], ticket_load_full=DEMO_TICKET_LOAD[1]
    )
    today = timezone.localtime(timezone.now(), tenant.tzinfo).date()
    events = []
    for organization in Organization.objects.filter(name__in=STORIES).order_by("name"):
        events += _events(tenant, organization, STORIES[organization.name], rng, today)
    recorded = events_record(tenant=tenant, events=events)
    yesterday = today - timedelta(days=1)
    health_compute_range(tenant=tenant, first=today - timedelta(days=DAYS), last=yesterday)
    HealthSettings.objects.filter(pk=settings.pk).update(daily_through=yesterday)
    return recorded.created


# -- touchpoints, renewals and notes ---------------------------------------------------------

# Each demo organization's current contract started on its last renewal date (rank ≥ 1),
# at this ARR before: Orbit downgraded, Lumen and Initech grew, Globex stayed.
PAST_RENEWALS = {
    "Globex Corporation": "240000",
    "Orbit Logistics": "24000",
    "Lumen Health": "36000",
    "Initech": "110000",
}
# A customer that left, for the renewal-rate report.
CHURNED = ("Vandelay Imports", 1, "15000", 100)  # name, plan rank, ARR, days ago
TASKS_LEFT_OPEN_DAYS = 5  # tasks due within this many days before today stay open...
DROPS_LEFT_OPEN_DAYS = 14  # ...and health drops of the last two weeks
NOTES = {
    "Initech": "Budget review in their Q1; the CFO asked for a usage summary before renewal.",
    "Globex Corporation": "Expanding to the APAC team next quarter: 40 more seats expected.",
}


def seed_touchpoints(tenant: Tenant, seed: int = 2026) -> int:
    """The demo's success work: past renewals (one churn, a downgrade, two upgrades),
    the touchpoints the daily run made over the scored history (health drops at the
    days they happened), the older ones done by the CSMs, and a few notes. Nothing if
    the desk has tasks already. Returns the number of tasks."""
    from helpdesk.models import Membership, Role
    from plans.models import Plan
    from success.models import Renewal, RenewalOutcome, SuccessNote, SuccessTask
    from success.touchpoints import touchpoints_create

    if SuccessTask.objects.exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    today = timezone.localtime(timezone.now(), tenant.tzinfo).date()
    staff = list(
        Membership.objects.filter(role__in=[Role.AGENT, Role.ADMIN])
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    for organization in Organization.objects.filter(name__in=PAST_RENEWALS):
        Renewal.objects.get_or_create(
            tenant=tenant,
            organization=organization,
            renewal_date=organization.contract_start,
            defaults={
                "outcome": RenewalOutcome.RENEWED,
                "arr_before": Decimal(PAST_RENEWALS[organization.name]),
                "arr_after": organization.arr,
                "plan_before": organization.plan,
                "plan_after": organization.plan,
                "recorded_by_id": organization.success_manager_id,
            },
        )
    name, rank, arr, days_ago = CHURNED
    churned_on = today - timedelta(days=days_ago)
    gone = Organization.objects.filter(name=name).first() or Organization.objects.create(
        tenant=tenant,
        name=name,
        plan=Plan.objects.get(rank=rank),
        arr=Decimal(0),
        contract_start=churned_on - timedelta(days=365),
        churned_on=churned_on,
    )
    Renewal.objects.get_or_create(
        tenant=tenant,
        organization=gone,
        renewal_date=churned_on,
        defaults={
            "outcome": RenewalOutcome.CHURNED,
            "arr_before": Decimal(arr),
            "arr_after": Decimal(0),
            "plan_before": gone.plan,
        },
    )

    # Replay the daily run over the scored history, as the beat would have done it,
    # with the CSMs working through their tasks as they go.
    settings = health_settings(tenant)
    scored_through = settings.daily_through
    HealthSettings.objects.filter(pk=settings.pk).update(drops_through=None)
    day = today - timedelta(days=DAYS)
    while day <= today:
        yesterday = day - timedelta(days=1)
        HealthSettings.objects.filter(pk=settings.pk).update(
            daily_through=min(yesterday, scored_through) if scored_through else None
        )
        started = timezone.now()
        touchpoints_create(tenant=tenant, today=day)
        # Created that morning, as the beat would have, not now.
        SuccessTask.objects.filter(created_at__gte=started).update(
            created_at=datetime.combine(day, time(6), tzinfo=tenant.tzinfo)
        )
        _work_through(tenant, day, today, rng, staff)
        day += timedelta(days=1)
    HealthSettings.objects.filter(pk=settings.pk).update(daily_through=scored_through)
    for organization in Organization.objects.filter(name__in=NOTES):
        SuccessNote.objects.create(
            tenant=tenant,
            organization=organization,
            author_id=organization.success_manager_id,
            body=NOTES[organization.name],
        )
    return SuccessTask.objects.count()


def _work_through(tenant: Tenant, day, today, rng, staff) -> None:
    """Complete the open tasks that were due some days before `day`: mostly on time,
    now and then late, the pool's by one of the staff. Renewal conversations stay
    open: they close with the renewal's outcome (Initech's is the demo's overdue one)."""
    from success.models import SuccessTask, TaskKind, TaskStatus

    tasks = (
        SuccessTask.objects.filter(
            status=TaskStatus.OPEN, due_date__lt=day - timedelta(days=TASKS_LEFT_OPEN_DAYS)
        )
        .exclude(
            kind=TaskKind.HEALTH_DROP,
            trigger_date__gte=today - timedelta(days=DROPS_LEFT_OPEN_DAYS),
        )
        .exclude(kind=TaskKind.RENEWAL)
    )
    for task in tasks:
        done_on = task.due_date + timedelta(days=rng.choice([-3, -1, 0, 0, 1, 4]))
        task.status = TaskStatus.DONE
        task.owner_id = task.owner_id or rng.choice(staff)
        task.completed_by_id = task.owner_id
        task.completed_at = datetime.combine(min(done_on, day), time(15), tzinfo=tenant.tzinfo)
        task.notes = "Call held; summary sent to the customer."
        if task.kind == TaskKind.CHECK_IN_90:
            task.answers = {
                "problem": "Monthly reporting for the operations team.",
                "goal": "Mostly: reports take hours instead of days.",
                "improve": "Faster CSV exports and a Chinese interface for the warehouse.",
            }
        task.save()
