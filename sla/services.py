"""Every write to service levels: defaults for a new desk, calendars and their
holidays, and the sweep that warns, records breaches and escalates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from helpdesk.models import Tenant
from helpdesk.tenancy import tenant_scope
from sla import timers
from sla.business_time import subtract_business_time
from sla.models import (
    BusinessCalendar,
    CalendarDate,
    Metric,
    SLAOutcome,
    SLAPolicy,
    Weekday,
    WorkingHours,
)
from sla.selectors import PolicyBook, forget_policy_book, policy_book

logger = logging.getLogger(__name__)

HOUR = 60

# What a new desk promises, by plan rank (seeds/001: Free 48 h, Pro 24 h, Pro+ 2 h).
# Pro+ counts around the clock; the others in the desk's office hours.
DEFAULT_TARGETS = {
    0: {"first_response": 48 * HOUR, "next_response": 48 * HOUR, "resolution": 120 * HOUR},
    1: {"first_response": 24 * HOUR, "next_response": 24 * HOUR, "resolution": 72 * HOUR},
    2: {"first_response": 2 * HOUR, "next_response": 4 * HOUR, "resolution": 48 * HOUR},
}
# Pro+ urgent tickets get a one-hour first response (an override by priority).
DEFAULT_OVERRIDES = {(2, 1): {"first_response": 1 * HOUR, "next_response": 2 * HOUR}}
AROUND_THE_CLOCK_RANKS = frozenset({2})


def _targets(spec: dict[str, int]) -> dict[str, int]:
    return {f"{metric}_minutes": minutes for metric, minutes in spec.items()}


@transaction.atomic
def sla_create_defaults(*, tenant: Tenant) -> None:
    """Office hours (Mon-Fri 9:00-18:00 in the desk's time zone), a 24x7
    calendar, and a policy per default plan (idempotent)."""
    from plans.models import Plan

    office, created = BusinessCalendar.objects.get_or_create(
        tenant=tenant,
        name="Office hours",
        defaults={"time_zone": tenant.time_zone, "is_default": True},
    )
    if created:
        WorkingHours.objects.bulk_create(
            WorkingHours(tenant=tenant, calendar=office, weekday=day, start=time(9), end=time(18))
            for day in range(5)
        )
    around, _created = BusinessCalendar.objects.get_or_create(
        tenant=tenant,
        name="Around the clock",
        defaults={"time_zone": tenant.time_zone, "always_open": True},
    )
    for plan in Plan.objects.filter(rank__in=DEFAULT_TARGETS):
        calendar = around if plan.rank in AROUND_THE_CLOCK_RANKS else None
        SLAPolicy.objects.get_or_create(
            tenant=tenant,
            plan=plan,
            priority=None,
            defaults={**_targets(DEFAULT_TARGETS[plan.rank]), "calendar": calendar},
        )
        for (rank, priority), spec in DEFAULT_OVERRIDES.items():
            if rank == plan.rank:
                SLAPolicy.objects.get_or_create(
                    tenant=tenant,
                    plan=plan,
                    priority=priority,
                    defaults={
                        **_targets({**DEFAULT_TARGETS[rank], **spec}),
                        "calendar": calendar,
                    },
                )


def working_hours_check(intervals: list[tuple[int, time, time]]) -> None:
    """(weekday, start, end) rows of one calendar must not overlap on a day."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in intervals:
        by_day.setdefault(weekday, []).append((start, end))
    for weekday, day in by_day.items():
        day.sort()
        for (_start, end), (next_start, _end) in pairwise(day):
            if end == time(0) or next_start < end:
                raise ValidationError(
                    _("Working hours overlap on %(day)s.") % {"day": Weekday(weekday).label}
                )


@transaction.atomic
def calendar_import_holidays(
    *, calendar: BusinessCalendar, country: str, year: int, subdivision: str = ""
) -> tuple[int, int]:
    """Add a country's public holidays for `year` (and its make-up working days,
    e.g. China's), from the `holidays` package. Dates already in the calendar are
    left as they are. Returns (added, already there)."""
    import holidays

    try:
        country_holidays = holidays.country_holidays(
            country.upper(), subdiv=subdivision or None, years=year
        )
    except NotImplementedError as error:
        raise ValidationError(
            _("No holiday list for %(country)s.") % {"country": country}
        ) from error
    wanted = [(day, CalendarDate.Kind.HOLIDAY, name) for day, name in country_holidays.items()]
    wanted += [
        (day, CalendarDate.Kind.WORKDAY, _("Make-up working day"))
        for day in getattr(country_holidays, "weekend_workdays", ())
        if day.year == year
    ]
    existing = set(calendar.dates.values_list("date", flat=True))
    new = [
        CalendarDate(
            tenant_id=calendar.tenant_id, calendar=calendar, date=day, kind=kind, name=name[:100]
        )
        for day, kind, name in sorted(wanted)
        if day not in existing
    ]
    CalendarDate.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        # bulk_create sends no post_save, so the cached policy book is dropped here
        # (now and again after commit, as sla.apps does for single saves).
        forget_policy_book(calendar.tenant_id)
        transaction.on_commit(lambda: forget_policy_book(calendar.tenant_id))
    return len(new), len(wanted) - len(new)


# -- the sweep ---------------------------------------------------------------------------


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.warned + other.warned,
            self.breached + other.breached,
            self.escalated + other.escalated,
        )


SWEEP_BATCH = 200


def tenants_with_sla_work(now: datetime) -> list[int]:
    """Tenants with a ticket whose check time has come (a range scan of
    `ticket_sla_check`: nothing due costs one index probe)."""
    from tickets.models import Ticket

    with scopes_disabled():
        return sorted(
            set(Ticket.objects.filter(sla_check_at__lte=now).values_list("tenant_id", flat=True))
        )


def sla_sweep(*, tenant: Tenant, now: datetime | None = None) -> SweepResult:
    """Warn about tickets nearing a due time, record and escalate breaches.

    Exactly once: tickets are claimed with FOR UPDATE SKIP LOCKED (a second
    sweep at the same time takes other rows or none), each warning is guarded by
    `sla_warned_due_at` and each breach by a unique outcome row, all written in
    the transaction that moves the ticket's `sla_check_at` on. A worker killed
    midway rolls its batch back; the next sweep finds the same tickets due.
    """
    from tickets.models import Ticket

    now = now or timezone.now()
    total = SweepResult()
    with tenant_scope(tenant):
        book = policy_book(tenant)
        while True:
            with transaction.atomic():
                batch = list(
                    Ticket.objects.filter(sla_check_at__lte=now)
                    .order_by("sla_check_at")
                    .select_for_update(skip_locked=True, of=("self",))
                    .select_related("tenant", "organization", "assignee", "requester")[:SWEEP_BATCH]
                )
                for ticket in batch:
                    total += _check(ticket, book, now)
            if len(batch) < SWEEP_BATCH:
                return total


def _check(ticket, book: PolicyBook, now: datetime) -> SweepResult:
    """One claimed ticket: breach what is overdue, warn about what is near."""
    from tickets import notifications

    result = SweepResult()
    policy = book.policy_by_id(ticket.sla_policy_id)
    notes = []
    breaches = []
    for metric in timers.running_metrics(ticket):
        due = timers.due_of(ticket, metric)
        if not timers.is_breached(ticket, metric) and due <= now:
            setattr(ticket, f"{metric}_breached_at", now)
            if _record_breach(ticket, metric, due, now):
                breaches.append((metric, due))
                notes.append(timers.ClockNote(metric, "breached", due))
    warning = None
    upcoming = timers.next_unbreached(ticket)
    if policy is not None and upcoming is not None and ticket.sla_warned_due_at != upcoming[1]:
        metric, due = upcoming
        window = policy.warning_window(metric)
        if subtract_business_time(due, window, book.schedule(policy)) <= now:
            ticket.sla_warned_due_at = due
            warning = upcoming
            notes.append(timers.ClockNote(metric, "warned", due))
    timers.refresh(ticket, book)
    ticket.save(update_fields=timers.SLA_FIELDS)
    timers.record(ticket, actor=None, notes=notes)
    if breaches and policy is not None:
        escalated = _escalate(ticket, policy)
        if escalated is not None:
            # Told after the escalation, so an escalation agent hears of the breach too.
            ticket = escalated
            result.escalated += 1
    for metric, due in breaches:
        notifications.sla_breached(ticket, metric, due)
        result.breached += 1
    if warning is not None:
        notifications.sla_warning(ticket, *warning)
        result.warned += 1
    return result


def _record_breach(ticket, metric: str, due: datetime, now: datetime) -> bool:
    """The breach row; False if this clock's breach is on record already."""
    try:
        with transaction.atomic():
            SLAOutcome.objects.create(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                metric=metric,
                result=SLAOutcome.Result.BREACHED,
                due_at=due,
                recorded_at=now,
            )
    except IntegrityError:
        return False
    return True


def _escalate(ticket, policy: SLAPolicy):
    """The policy's escalation: one priority step up, and/or the escalation agent.
    Returns the updated ticket, or None when there was nothing to escalate."""
    from tickets.services import ticket_update

    changes = {}
    if policy.escalate_priority and ticket.priority > 1:
        changes["priority"] = ticket.priority - 1
    if policy.escalation_agent_id and ticket.assignee_id is None:
        changes["assignee"] = policy.escalation_agent
    if not changes:
        return None
    return ticket_update(ticket=ticket, actor=None, **changes)


__all__ = [
    "DEFAULT_TARGETS",
    "Metric",
    "SweepResult",
    "calendar_import_holidays",
    "sla_create_defaults",
    "sla_sweep",
    "tenants_with_sla_work",
    "working_hours_check",
]
