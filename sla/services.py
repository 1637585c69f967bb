"""Every write to service levels: defaults for a new desk, calendars and their
holidays, and the sweep that warns, records breaches and escalates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from helpdesk import events
from helpdesk.models import Tenant
from helpdesk.outbox import wake_on_commit
from helpdesk.tenancy import tenant_scope
from sla import timers
from sla.business_time import subtract_business_time
from sla.events import SlaBreached, SlaEscalated, SlaWarning
from sla.models import (
    BusinessCalendar,
    CalendarDate,
    Metric,
    SLANotice,
    SLAOutcome,
    SLAPolicy,
    Weekday,
    WorkingHours,
)
from sla.selectors import PolicyBook, forget_policy_book, policy_book

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
# A new desk's two calendars, named in English and Chinese.
OFFICE_HOURS = ("Office hours", "工作时间")
AROUND_THE_CLOCK = ("Around the clock", "全天候")


def _targets(spec: dict[str, int]) -> dict[str, int]:
    return {f"{metric}_minutes": minutes for metric, minutes in spec.items()}


@transaction.atomic
def sla_create_defaults(*, tenant: Tenant) -> None:
    """Office hours (Mon-Fri 9:00-18:00 in the desk's time zone), a 24x7
    calendar, and a policy per default plan (idempotent)."""
    from plans.models import Plan

    office, created = BusinessCalendar.objects.get_or_create(
        tenant=tenant,
        name=OFFICE_HOURS[0],
        defaults={
            "name_zh_hans": OFFICE_HOURS[1],
            "time_zone": tenant.time_zone,
            "is_default": True,
        },
    )
    if created:
        WorkingHours.objects.bulk_create(
            WorkingHours(tenant=tenant, calendar=office, weekday=day, start=time(9), end=time(18))
            for day in range(5)
        )
    around, _created = BusinessCalendar.objects.get_or_create(
        tenant=tenant,
        name=AROUND_THE_CLOCK[0],
        defaults={
            "name_zh_hans": AROUND_THE_CLOCK[1],
            "time_zone": tenant.time_zone,
            "always_open": True,
        },
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


SWEEP_BATCH = 500
# A notice no worker has picked up this long after the sweep wrote it lost its task.
NOTICE_STALLED_AFTER = timedelta(minutes=1)


def tenants_with_sla_work(now: datetime) -> list[int]:
    """Tenants with a ticket whose check time has come, or with SLA emails left
    unwritten: one query, two index range scans (`ticket_sla_check`,
    `slanotice_created`), so a minute with nothing due costs almost nothing."""
    from tickets.models import Ticket

    with scopes_disabled():
        due = Ticket.objects.filter(sla_check_at__lte=now).values("tenant_id")
        stalled = SLANotice.objects.filter(created_at__lt=now - NOTICE_STALLED_AFTER).values(
            "tenant_id"
        )
        return sorted({row["tenant_id"] for row in due.union(stalled)})


def sla_sweep(*, tenant: Tenant, now: datetime | None = None) -> SweepResult:
    """Warn about tickets nearing a due time, record and escalate breaches.

    Set-based, so its cost follows what is due: each batch of due tickets is
    claimed with FOR UPDATE SKIP LOCKED (a second sweep at the same time takes
    other rows or none), worked out in Python, and written back with a handful
    of bulk statements: the breach rows (unique per clock), the audit rows, the
    tickets, and an `SLANotice` per email to write. All of it commits together,
    so a sweep run twice records one breach, and a worker killed midway rolls
    its batch back for the next run. The emails are written afterwards by
    `sla_notices_deliver`, on a worker.
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
                    .select_related("organization")[:SWEEP_BATCH]
                )
                if batch:
                    total += _sweep_batch(tenant, batch, book, now)
            if len(batch) < SWEEP_BATCH:
                return total


@dataclass
class _BatchWrites:
    breaches: list = field(default_factory=list)  # (ticket, metric, due)
    events: list = field(default_factory=list)
    notices: list = field(default_factory=list)


def _sweep_batch(tenant: Tenant, batch: list, book: PolicyBook, now: datetime) -> SweepResult:
    from tickets.models import TicketEvent

    writes = _BatchWrites()
    result = SweepResult()
    for ticket in batch:
        result += _check(ticket, book, now, writes)
    inserted = _insert_breaches(tenant, writes.breaches, now)
    result.breached = len(inserted)
    writes.notices += [
        SLANotice(tenant=tenant, ticket=ticket, kind=SLANotice.Kind.BREACH, metric=m, due_at=due)
        for ticket, m, due in writes.breaches
        if (ticket.pk, m, due) in inserted
    ]
    _update_tickets(batch, [*timers.SLA_FIELDS, "priority", "assignee", "updated_at"])
    TicketEvent.objects.bulk_create(writes.events)
    SLANotice.objects.bulk_create(writes.notices, ignore_conflicts=True)
    if writes.notices:
        from sla.tasks import deliver_notices

        wake_on_commit(deliver_notices, tenant.pk)
    return result


def _check(ticket, book: PolicyBook, now: datetime, writes: _BatchWrites) -> SweepResult:
    """One claimed ticket, in memory: breach what is overdue, warn about what is
    near, escalate a breach; what to write goes to `writes`."""
    result = SweepResult()
    policy = book.policy_by_id(ticket.sla_policy_id)
    breached = []
    for metric in timers.running_metrics(ticket):
        due = timers.due_of(ticket, metric)
        if not timers.is_breached(ticket, metric) and due <= now:
            setattr(ticket, f"{metric}_breached_at", now)
            breached.append((metric, due))
            writes.breaches.append((ticket, metric, due))
            timers.note(ticket, timers.ClockNote(metric, "breached", due))
    upcoming = timers.next_unbreached(ticket)
    if policy is not None and upcoming is not None and ticket.sla_warned_due_at != upcoming[1]:
        metric, due = upcoming
        if subtract_business_time(due, policy.warning_window(metric), book.schedule(policy)) <= now:
            ticket.sla_warned_due_at = due
            timers.note(ticket, timers.ClockNote(metric, "warned", due))
            writes.notices.append(_notice(ticket, SLANotice.Kind.WARNING, metric, due))
            result.warned += 1
    if breached and policy is not None:
        changed = _escalate(ticket, policy, book, now, writes)
        if "assignee" in changed:
            metric, due = breached[0]
            writes.notices.append(_notice(ticket, SLANotice.Kind.ESCALATED, metric, due))
        result.escalated += bool(changed)
    timers.refresh(ticket, book)
    _outcomes, events = timers.take_records(ticket)
    writes.events += events
    return result


def _notice(ticket, kind: str, metric: str, due: datetime) -> SLANotice:
    return SLANotice(
        tenant_id=ticket.tenant_id, ticket=ticket, kind=kind, metric=metric, due_at=due
    )


def _escalate(ticket, policy: SLAPolicy, book: PolicyBook, now: datetime, writes) -> set[str]:
    """The policy's escalation, in memory: one priority step up (the clocks follow
    the new priority's targets), and/or the escalation agent for an unassigned
    ticket. Returns the fields it changed."""
    from tickets.models import Priority, TicketEvent

    changed = set()
    if policy.escalate_priority and ticket.priority > Priority.URGENT:
        old = ticket.priority
        ticket.priority = old - 1
        writes.events.append(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                kind=TicketEvent.Kind.PRIORITY,
                old_value=Priority(old).label,
                new_value=Priority(ticket.priority).label,
            )
        )
        timers.retarget(ticket, book, now)
        changed.add("priority")
    agent = policy.escalation_agent
    if agent is not None and ticket.assignee_id is None:
        ticket.assignee_id = agent.pk
        writes.events.append(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                kind=TicketEvent.Kind.ASSIGNEE,
                new_value=agent.display_name[:255],
            )
        )
        changed.add("assignee")
    if changed:
        ticket.updated_at = now
    return changed


def _update_tickets(tickets: list, field_names: list[str]) -> None:
    """Write `field_names` of every ticket in one UPDATE ... FROM (VALUES ...).

    Django's bulk_update builds a CASE per field and row, which took most of a
    1,000-ticket sweep; one joined VALUES list takes a few milliseconds.
    """
    from tickets.models import Ticket

    fields = [Ticket._meta.get_field(name) for name in field_names]
    columns = ", ".join(f.column for f in fields)
    assignments = ", ".join(f"{f.column} = v.{f.column}::{f.db_type(connection)}" for f in fields)
    row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    params = []
    for ticket in tickets:
        params.append(ticket.pk)
        params += [f.get_db_prep_save(getattr(ticket, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} AS t SET {assignments} "  # noqa: S608 - names from the model, values bound
            f"FROM (VALUES {', '.join([row] * len(tickets))}) AS v(id, {columns}) "
            "WHERE t.id = v.id::bigint",
            params,
        )


def _insert_breaches(tenant: Tenant, breaches: list, now: datetime) -> set[tuple]:
    """Insert the breach rows, skipping any already on record; returns the
    (ticket id, metric, due) of the rows this call inserted."""
    if not breaches:
        return set()
    table = SLAOutcome._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(breaches))
    params = []
    for ticket, metric, due in breaches:
        params += [tenant.pk, ticket.pk, metric, SLAOutcome.Result.BREACHED, due, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, ticket_id, metric, result, due_at, recorded_at) "  # noqa: S608 - fixed table name, values bound
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING ticket_id, metric, due_at",
            params,
        )
        return {tuple(row) for row in cursor.fetchall()}


# -- the emails the sweep asks for --------------------------------------------------------

NOTICE_BATCH = 100


def sla_notices_deliver(*, tenant: Tenant) -> int:
    """Write the emails of the tenant's pending SLA notices; returns how many notices.

    Each batch is claimed with SKIP LOCKED and deleted in the transaction that
    queues its emails (deduplicated per notice and recipient), so a notice is
    told exactly once even when two workers run this at the same time.
    """
    done = 0
    # Read once for all the notices, by subscribers that email the desk's people.
    people_cache = {}
    with tenant_scope(tenant):
        while True:
            with transaction.atomic():
                notices = list(
                    SLANotice.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related(
                        "ticket__tenant",
                        "ticket__assignee",
                        "ticket__organization__plan",
                    )
                    .order_by("pk")[:NOTICE_BATCH]
                )
                for notice in notices:
                    event = {
                        SLANotice.Kind.WARNING: SlaWarning,
                        SLANotice.Kind.BREACH: SlaBreached,
                        SLANotice.Kind.ESCALATED: SlaEscalated,
                    }[notice.kind](
                        tenant_id=tenant.pk,
                        ticket_id=notice.ticket_id,
                        metric=str(notice.metric),
                        due_at=notice.due_at.isoformat(),
                    )
                    events.publish(event, ticket=notice.ticket, people_cache=people_cache)
                SLANotice.objects.filter(pk__in=[n.pk for n in notices]).delete()
                done += len(notices)
            if len(notices) < NOTICE_BATCH:
                return done


__all__ = [
    "DEFAULT_TARGETS",
    "Metric",
    "SweepResult",
    "calendar_import_holidays",
    "sla_create_defaults",
    "sla_notices_deliver",
    "sla_sweep",
    "tenants_with_sla_work",
    "working_hours_check",
]
