"""Every write of customer success: usage events in, health scores out.

Health scores are computed for a whole desk at once, set-based: a handful of
aggregate queries (GROUP BY organization, success/selectors.py `day_figures`) read
every component's raw figure, the scores are worked out in Python (success/scoring.py),
and one upsert per batch of rows writes them (`INSERT ... ON CONFLICT (tenant,
organization, day) DO UPDATE`). So computing a day twice leaves one row per
organization, holding the second result, and the cost grows with the data, not with a
query per organization.

A day is scored "as of its end" in the desk's time zone: every window (the last 30,
60, 90 or 180 days) ends at midnight after that day, so yesterday and any past day
can be scored again with the same result, and today's score (on demand) is
provisional until the daily run scores the day once it is over.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Tenant
from plans.models import Organization
from success import scoring
from success.models import (
    CHECK_IN_QUESTIONS,
    DEFAULT_WEIGHTS,
    Component,
    HealthScore,
    HealthSettings,
    Metric,
    Renewal,
    RenewalOutcome,
    Stage,
    SuccessNote,
    SuccessTask,
    SuccessTaskEvent,
    TaskKind,
    TaskStatus,
    WeightProfile,
)
from success.selectors import DayFigures, day_figures

# The daily run catches up on at most this many missed days (beat down for a while).
DAILY_CATCH_UP_DAYS = 7
UPSERT_BATCH = 2000

# Events sent with a time further ahead than this are refused (clock skew allowed).
EVENT_FUTURE_TOLERANCE = timedelta(hours=1)
EVENTS_PER_REQUEST = 1000


# -- settings -----------------------------------------------------------------------------


def health_settings(tenant: Tenant) -> HealthSettings:
    """The desk's settings with a weight profile per stage, created with the defaults
    on first use (deleting the settings in admin resets them)."""
    settings, _created = HealthSettings.objects.get_or_create(tenant=tenant)
    have = set(
        WeightProfile.objects.filter(health_settings=settings).values_list("stage", flat=True)
    )
    missing = [stage for stage in Stage.values if stage not in have]
    if missing:
        WeightProfile.objects.bulk_create(
            [
                WeightProfile(
                    tenant=tenant,
                    health_settings=settings,
                    stage=stage,
                    **dict(zip(Component.values, DEFAULT_WEIGHTS[stage], strict=True)),
                )
                for stage in missing
            ],
            ignore_conflicts=True,  # another process created them meanwhile
        )
    return settings


def weight_profiles(settings: HealthSettings) -> dict[str, dict[str, int]]:
    """{stage: {component: weight}}."""
    return {
        profile.stage: profile.weights
        for profile in WeightProfile.objects.filter(health_settings=settings)
    }


# -- usage events -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    organization_id: int
    metric: str
    occurred_at: datetime
    event_id: str
    value: Decimal = Decimal(1)
    feature: str = ""


@dataclass(frozen=True)
class EventsRecorded:
    created: int
    duplicates: int


def event_problems(
    *, metric: str, value: Decimal, feature: str, occurred_at: datetime, now: datetime
) -> dict[str, list[str]]:
    """What is wrong with an event: {field: [message]}, empty when nothing is."""
    problems = {}
    if metric not in Metric.values:
        problems["metric"] = [_("Unknown metric.")]
    if value < 0:
        problems["value"] = [_("Ensure this value is greater than or equal to 0.")]
    if metric == Metric.FEATURE_USED and not feature.strip():
        problems["feature"] = [_("Name the feature that was used.")]
    if metric != Metric.FEATURE_USED and feature:
        problems["feature"] = [_("Only feature_used events name a feature.")]
    if occurred_at > now + EVENT_FUTURE_TOLERANCE:
        problems["timestamp"] = [_("This time is in the future.")]
    return problems


# One statement for the whole batch: arrays in, the rows that were new out. The unique
# constraint (tenant, event_id) makes a retried or repeated event a no-op.
_INSERT_EVENTS = """
    INSERT INTO success_usageevent
        (tenant_id, organization_id, metric, value, feature, occurred_at, event_id, received_at)
    SELECT %s, organization_id, metric, value, feature, occurred_at, event_id, %s
      FROM unnest(%s::bigint[], %s::varchar[], %s::numeric[], %s::varchar[],
                  %s::timestamptz[], %s::varchar[])
           AS e(organization_id, metric, value, feature, occurred_at, event_id)
    ON CONFLICT (tenant_id, event_id) DO NOTHING
    RETURNING 1
"""


@transaction.atomic
def events_record(
    *, tenant: Tenant, events: list[NewEvent], now: datetime | None = None
) -> EventsRecorded:
    """Store usage and payment events; an event id the desk already has is a duplicate
    and changes nothing (the first report of an event wins).

    Organizations must be the tenant's (callers resolve them in its scope).
    """
    now = now or timezone.now()
    for index, event in enumerate(events):
        problems = event_problems(
            metric=event.metric,
            value=event.value,
            feature=event.feature,
            occurred_at=event.occurred_at,
            now=now,
        )
        if problems:
            name, messages = next(iter(problems.items()))
            raise ValidationError(
                _("Event %(index)d, %(field)s: %(message)s")
                % {"index": index, "field": name, "message": messages[0]}
            )
    if not events:
        return EventsRecorded(0, 0)
    organization_ids = {event.organization_id for event in events}
    known = set(Organization.objects.filter(pk__in=organization_ids).values_list("pk", flat=True))
    if organization_ids - known:
        raise ValidationError({"organization": [_("Unknown organization.")]})
    columns = (
        [event.organization_id for event in events],
        [event.metric for event in events],
        [event.value for event in events],
        [event.feature.strip() for event in events],
        [event.occurred_at for event in events],
        [event.event_id for event in events],
    )
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_EVENTS, [tenant.pk, now, *columns])
        created = len(cursor.fetchall())
    return EventsRecorded(created=created, duplicates=len(events) - created)


# -- health scores ------------------------------------------------------------------------


@dataclass
class HealthRun:
    day: date
    scored: int = 0
    bands: Counter = field(default_factory=Counter)


def day_end(tenant: Tenant, day: date) -> datetime:
    """Midnight after `day` in the desk's time zone: where every window of that day ends."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tenant.tzinfo)


def _growth(recent: Decimal | None, before: Decimal | None) -> float:
    """% change of records created, recent 30 days against the 30 before. Nothing
    before and something now counts as +100%; nothing in either as −100%."""
    recent, before = float(recent or 0), float(before or 0)
    if before:
        return round(100 * (recent - before) / before, 1)
    return 100.0 if recent else -100.0


def organization_parts(
    organization_id: int, figures: DayFigures, settings: HealthSettings, weights: dict[str, int]
) -> dict[str, scoring.Part]:
    """Every component of one organization: raw figure, 0-100 score (None: left out),
    the stage's weight, and the figures behind the raw value."""

    def linear(component, raw, detail=None):
        if raw is None:
            return scoring.Part(None, None, weights[component], detail or {})
        thresholds = scoring.Thresholds.of(*settings.thresholds_of(component))
        return scoring.Part(
            raw, scoring.linear_score(raw, thresholds), weights[component], detail or {}
        )

    usage = figures.usage.get(organization_id, {})
    parts = {}
    parts[Component.USAGE_FREQUENCY] = linear(
        Component.USAGE_FREQUENCY,
        usage.get("active_days", 0) if Metric.LOGIN in figures.reported else None,
    )
    parts[Component.FEATURE_DEPTH] = linear(
        Component.FEATURE_DEPTH,
        usage.get("features", 0) if Metric.FEATURE_USED in figures.reported else None,
    )
    records_recent, records_before = usage.get("records_recent"), usage.get("records_before")
    parts[Component.DATA_GROWTH] = linear(
        Component.DATA_GROWTH,
        _growth(records_recent, records_before)
        if Metric.RECORDS_CREATED in figures.reported
        else None,
        {"recent": float(records_recent or 0), "before": float(records_before or 0)},
    )

    tickets = figures.tickets.get(organization_id, {"opened": 0, "open": 0})
    seats = figures.seats.get(organization_id, 0)
    parts[Component.TICKET_LOAD] = linear(
        Component.TICKET_LOAD,
        # No registered customers yet counts as one seat.
        round((tickets["opened"] + tickets["open"]) / max(seats, 1), 2),
        {**tickets, "seats": seats},
    )

    sla = figures.sla.get(organization_id, {"clocks": 0, "breached": 0})
    parts[Component.SLA_BREACHES] = linear(
        Component.SLA_BREACHES,
        # No clock ended: no breach suffered.
        round(100 * sla["breached"] / sla["clocks"], 1) if sla["clocks"] else 0.0,
        sla,
    )

    status = figures.payment.get(organization_id)
    parts[Component.PAYMENT] = scoring.Part(
        status and str(status),
        None
        if status is None
        else scoring.payment_score(
            status,
            overdue_score=settings.payment_overdue_score,
            failed_score=settings.payment_failed_score,
        ),
        weights[Component.PAYMENT],
    )

    nps = figures.nps.get(organization_id)
    parts[Component.NPS] = linear(
        Component.NPS,
        nps.score if nps else None,
        {"responses": nps.responses} if nps else {},
    )
    csat = figures.csat.get(organization_id)
    parts[Component.CSAT] = linear(
        Component.CSAT,
        csat.percent if csat else None,
        {"satisfied": csat.satisfied, "ratings": csat.ratings} if csat else {},
    )
    return parts


def health_compute(
    *, tenant: Tenant, day: date, organization_ids: list[int] | None = None
) -> HealthRun:
    """Score every organization of the desk (or those given) for `day`, replacing any
    scores of that day. Organizations whose contract starts later are not scored.

    1. Read every raw figure with a few aggregate queries (`day_figures`).
    2. Work out each organization's stage, components, score and band in Python.
    3. In one transaction, upsert the rows in organization order (a second run of the
       same day at once waits for the first and then replaces its rows; nothing
       deadlocks or doubles), and drop rows of organizations left without a score.
    """
    settings = health_settings(tenant)
    profiles = weight_profiles(settings)
    end = day_end(tenant, day)
    organizations = (
        Organization.objects.filter(churned_on__isnull=True)
        .order_by("pk")
        .values_list("pk", "contract_start", "renewal_date", "created_at")
    )
    if organization_ids is not None:
        organizations = organizations.filter(pk__in=organization_ids)
    customers = {}
    for pk, contract_start, renewal_date, created_at in organizations:
        start = contract_start or timezone.localtime(created_at, tenant.tzinfo).date()
        if start <= day:
            customers[pk] = (start, renewal_date)
    figures = day_figures(tenant, end, organization_ids)

    run = HealthRun(day=day)
    rows, unscored = [], []
    computed_at = timezone.now()
    for pk, (start, renewal_date) in customers.items():
        stage = scoring.lifecycle_stage(day, start=start, renewal_date=renewal_date)
        parts = organization_parts(pk, figures, settings, profiles[stage])
        value = scoring.combine(parts)
        if value is None:
            unscored.append(pk)
            continue
        score = scoring.round_score(value)
        band = scoring.band_for(
            score, healthy_min=settings.healthy_min, at_risk_min=settings.at_risk_min
        )
        rows.append(
            HealthScore(
                tenant=tenant,
                organization_id=pk,
                day=day,
                score=score,
                band=band,
                stage=stage,
                components={name: part.as_json() for name, part in parts.items()},
                computed_at=computed_at,
            )
        )
        run.bands[band] += 1
    run.scored = len(rows)
    with transaction.atomic():
        if unscored:
            HealthScore.objects.filter(day=day, organization_id__in=unscored).delete()
        HealthScore.objects.bulk_create(
            rows,
            batch_size=UPSERT_BATCH,
            update_conflicts=True,
            unique_fields=["tenant", "organization", "day"],
            update_fields=["score", "band", "stage", "components", "computed_at"],
        )
    return run


def health_compute_range(*, tenant: Tenant, first: date, last: date) -> list[HealthRun]:
    """Score each day from `first` to `last` (a backfill, e.g. after seeding history)."""
    runs = []
    day = first
    while day <= last:
        runs.append(health_compute(tenant=tenant, day=day))
        day += timedelta(days=1)
    return runs


def health_compute_daily(*, tenant: Tenant, now: datetime | None = None) -> list[HealthRun]:
    """The beat's daily run: score yesterday (the desk's time zone) once it is over,
    catching up on days missed while the beat was down (at most a week).

    Safe to run again or twice at once: each day's rows are upserted, and the mark
    of the last day done only moves forward.
    """
    now = now or timezone.now()
    yesterday = timezone.localtime(now, tenant.tzinfo).date() - timedelta(days=1)
    settings = health_settings(tenant)
    done = settings.daily_through
    if done is not None and done >= yesterday:
        return []
    first = yesterday
    if done is not None:
        first = max(done + timedelta(days=1), yesterday - timedelta(days=DAILY_CATCH_UP_DAYS - 1))
    runs = health_compute_range(tenant=tenant, first=first, last=yesterday)
    HealthSettings.objects.filter(pk=settings.pk).filter(
        Q(daily_through__isnull=True) | Q(daily_through__lt=yesterday)
    ).update(daily_through=yesterday)
    return runs


def health_compute_now(*, tenant: Tenant, organization_ids: list[int] | None = None) -> HealthRun:
    """On demand (admin action, command): today's provisional scores, from the data so far."""
    today = timezone.localtime(timezone.now(), tenant.tzinfo).date()
    return health_compute(tenant=tenant, day=today, organization_ids=organization_ids)


# -- touchpoints: tasks, notes, renewals ---------------------------------------------------


class TaskError(Exception):
    """A task action that cannot be done, with a message for the person who tried."""


def _task_event(task: SuccessTask, actor, kind: str, detail: str = "") -> None:
    SuccessTaskEvent.objects.create(
        tenant_id=task.tenant_id, task=task, actor=actor, kind=kind, detail=detail[:255]
    )


@transaction.atomic
def task_claim(*, task: SuccessTask, user) -> None:
    """Take a task from the shared pool. A conditional UPDATE: of two CSMs claiming
    the same task at once, one gets it and the other is told."""
    taken = SuccessTask.objects.filter(
        pk=task.pk, owner__isnull=True, status=TaskStatus.OPEN
    ).update(owner=user)
    if not taken:
        # Say why, from the row as it is now (it only ever leaves the pool).
        now = SuccessTask.objects.filter(pk=task.pk).values("owner_id", "status").first()
        if now is not None and now["status"] != TaskStatus.OPEN:
            raise TaskError(_("This task is already closed."))
        if now is not None and now["owner_id"] == user.pk:
            raise TaskError(_("This task is already yours."))
        raise TaskError(_("Someone else took this task first."))
    task.owner = user
    _task_event(task, user, SuccessTaskEvent.Kind.CLAIMED)


def _keep_notes(task: SuccessTask, notes: str, answers: dict[str, str] | None) -> list[str]:
    """Set the task's notes (and a check-in's answers); the fields to save."""
    task.notes = notes.strip()
    fields = ["notes"]
    if answers is not None:
        task.answers = {key: answers.get(key, "").strip() for key, _label in CHECK_IN_QUESTIONS}
        fields.append("answers")
    return fields


@transaction.atomic
def task_save(
    *, task: SuccessTask, user, notes: str, answers: dict[str, str] | None = None
) -> None:
    """Keep the task's notes (and a check-in's answers) without completing it."""
    task.save(update_fields=_keep_notes(task, notes, answers))
    _task_event(task, user, SuccessTaskEvent.Kind.SAVED)


def check_in_problems(task: SuccessTask, answers: dict[str, str]) -> dict[str, str]:
    """{question key: message} for the 90-day check-in's unanswered questions."""
    if task.kind != TaskKind.CHECK_IN_90:
        return {}
    return {
        key: _("Record the customer's answer.")
        for key, _label in CHECK_IN_QUESTIONS
        if not answers.get(key, "").strip()
    }


@transaction.atomic
def task_complete(
    *, task: SuccessTask, user, notes: str, answers: dict[str, str] | None = None
) -> None:
    """Mark an open task done, with its notes (and the 90-day check-in's answers, all
    three required). Renewal conversations are completed by `renewal_record`, which
    also says how the renewal ended."""
    task = SuccessTask.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise TaskError(_("This task is already closed."))
    if task.kind == TaskKind.RENEWAL:
        raise TaskError(_("Record how the renewal ended to complete this task."))
    problems = check_in_problems(task, answers or {})
    if problems:
        raise ValidationError(problems)
    fields = _keep_notes(task, notes, answers if task.kind == TaskKind.CHECK_IN_90 else None)
    task.status = TaskStatus.DONE
    task.completed_at = timezone.now()
    task.completed_by = user
    if task.owner_id is None:
        task.owner = user  # a pool task done counts for whoever did it
    task.save(update_fields=[*fields, "status", "completed_at", "completed_by", "owner"])
    _task_event(task, user, SuccessTaskEvent.Kind.COMPLETED)


def note_add(*, organization: Organization, author, body: str) -> SuccessNote:
    body = body.strip()
    if not body:
        raise ValidationError({"body": [_("Write something first.")]})
    return SuccessNote.objects.create(
        tenant=organization.tenant, organization=organization, author=author, body=body
    )


@transaction.atomic
def renewal_record(
    *,
    organization: Organization,
    outcome: str,
    user,
    arr_after: Decimal | None = None,
    plan_after=None,
    next_renewal_date: date | None = None,
    task: SuccessTask | None = None,
    notes: str = "",
) -> Renewal:
    """Record how the organization's current renewal date ended and move it on:
    renewed, at the new ARR and plan (a downgrade or upgrade shows in the renewal
    rates), until the next renewal date (a year later unless given); or churned,
    leaving no ARR and no renewal date, and no more scores or touchpoints.
    Completes the renewal task, if any."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.renewal_date is None:
        raise ValidationError(_("This organization has no renewal date to record."))
    renewal_date = organization.renewal_date
    if outcome == RenewalOutcome.RENEWED:
        arr_after = organization.arr if arr_after is None else arr_after
        plan_after = plan_after or organization.plan
        if next_renewal_date is None:
            next_renewal_date = a_year_after(renewal_date)
        if next_renewal_date <= renewal_date:
            raise ValidationError(
                {"next_renewal_date": [_("The next renewal date must follow this one.")]}
            )
        if arr_after < 0:
            raise ValidationError({"arr_after": [_("ARR cannot be negative.")]})
    elif outcome == RenewalOutcome.CHURNED:
        arr_after, plan_after, next_renewal_date = Decimal(0), None, None
    else:
        raise ValidationError({"outcome": [_("Choose how the renewal ended.")]})
    if task is None:
        task = SuccessTask.objects.filter(
            organization=organization,
            kind=TaskKind.RENEWAL,
            trigger_date=renewal_date,
            status=TaskStatus.OPEN,
        ).first()
    else:
        # Locked and read again: of two people recording the same renewal task at
        # once, the second would otherwise record the *next* renewal date as well.
        task = SuccessTask.objects.select_for_update().get(pk=task.pk)
        if task.organization_id != organization.pk or task.kind != TaskKind.RENEWAL:
            raise TaskError(_("This is not this organization's renewal task."))
        if task.status != TaskStatus.OPEN:
            raise TaskError(_("This task is already closed."))
    renewal = Renewal.objects.create(
        tenant=organization.tenant,
        organization=organization,
        renewal_date=renewal_date,
        outcome=outcome,
        arr_before=organization.arr,
        arr_after=arr_after,
        plan_before=organization.plan,
        plan_after=plan_after,
        task=task,
        recorded_by=user,
    )
    organization.arr = arr_after
    organization.renewal_date = next_renewal_date
    organization.churned_on = renewal_date if outcome == RenewalOutcome.CHURNED else None
    update = ["arr", "renewal_date", "churned_on"]
    if plan_after is not None:
        organization.plan = plan_after
        update.append("plan")
    organization.save(update_fields=update)
    if task is not None and task.status == TaskStatus.OPEN:
        task.notes = notes.strip() or task.notes
        task.status = TaskStatus.DONE
        task.completed_at = timezone.now()
        task.completed_by = user
        task.owner = task.owner or user
        task.save(update_fields=["notes", "status", "completed_at", "completed_by", "owner"])
        _task_event(task, user, SuccessTaskEvent.Kind.RENEWAL, outcome)
    return renewal


def a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
