"""The SLA clocks of one ticket: started, met, paused, resumed and retargeted.

A ticket has up to three clocks, each a due time stored on the ticket:

- first response: starts when the ticket is opened; met by the first public
  agent reply.
- next response: starts when the customer writes after the first response was
  met (and no next-response clock runs yet); met by the next public agent reply.
- resolution: starts when the ticket is opened; met when it is solved.

Pending (waiting on the customer) pauses every clock; solved and closed stop
them. Leaving those states resumes the clocks with the business time they had
left, so the paused time never counts. A change of priority or plan moves each
running clock by the difference between the old and the new target, which is
the same as recomputing it from its start with the new target (paused time
still excluded). Clocks already met or breached stay as they are.

A callback the customer asked for (phone/) is one more due time: the end of their
window, stored as `callback_due_at` until an answered outbound call makes it. It is
not an SLA metric (no target, no breach record, no report), but the queue sorts on it
like one: `sla_due_at` is the earliest of the running clocks and an owed callback,
which counts, like the clocks, only while the ticket is not pending, solved or closed.

These functions change the ticket in memory and note what they did on it; the
caller (tickets.services) saves the ticket in its transaction, then calls
`record` to write the outcomes and audit rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla.business_time import add_business_time, business_time_between, subtract_business_time
from sla.models import Metric, SLAOutcome
from sla.selectors import PolicyBook

if TYPE_CHECKING:
    from tickets.models import Ticket

METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION)
PAUSING_STATUSES = frozenset({"pending", "solved", "closed"})


@dataclass(frozen=True)
class ClockNote:
    """One line of the ticket's audit trail about a clock: 'First response: due …'."""

    metric: str
    action: str  # due, paused, resumed, met, breached, warned
    at: datetime | None = None


# The ticket columns these rules maintain (saved with update_fields by the sweep).
SLA_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "first_response_breached_at",
    "next_response_breached_at",
    "resolution_breached_at",
    "next_response_met_at",
    "sla_paused_at",
    "sla_due_at",
    "sla_warn_at",
    "sla_warned_due_at",
    "sla_check_at",
]


def due_of(ticket: Ticket, metric: str) -> datetime | None:
    return getattr(ticket, f"{metric}_due_at")


def _set_due(ticket: Ticket, metric: str, value: datetime | None) -> None:
    setattr(ticket, f"{metric}_due_at", value)


def is_breached(ticket: Ticket, metric: str) -> bool:
    return getattr(ticket, f"{metric}_breached_at") is not None


def is_running(ticket: Ticket, metric: str) -> bool:
    """Does this clock still wait for its event (paused or not)?"""
    if due_of(ticket, metric) is None:
        return False
    if metric == Metric.FIRST_RESPONSE:
        return ticket.first_agent_reply_at is None
    return True  # next response and resolution are cleared when met


def running_metrics(ticket: Ticket) -> list[str]:
    return [metric for metric in METRICS if is_running(ticket, metric)]


# What `refresh` calls the callback among the due times (not a Metric).
CALLBACK = "callback"


def callback_owed(ticket: Ticket) -> datetime | None:
    """The callback's due time while it counts: not made yet, and the ticket neither
    waits on the customer nor is done."""
    if ticket.callback_due_at is None or ticket.status in PAUSING_STATUSES:
        return None
    return ticket.callback_due_at


def reply_due(ticket: Ticket) -> datetime | None:
    """When the desk owes the customer its next reply: the earlier due time of a running
    first- or next-response clock, or None while none runs (no reply owed, or the clocks
    paused: waiting on the customer, solved, closed)."""
    if ticket.sla_paused_at is not None:
        return None
    dues = [
        due_of(ticket, metric)
        for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)
        if is_running(ticket, metric)
    ]
    return min(dues, default=None)


# -- what services call ----------------------------------------------------------------


def note(ticket: Ticket, entry: ClockNote) -> None:
    """Remember a line for the audit trail (written by `record`)."""
    ticket._sla_notes = [*getattr(ticket, "_sla_notes", []), entry]


def start(ticket: Ticket, book: PolicyBook, now: datetime, *, answered: bool = False) -> None:
    """A new ticket: first response and resolution clocks from now.

    A ticket an agent opens for a customer with a public description (`answered`)
    starts with the desk's word to the customer: no first reply is owed, so only
    the resolution clock starts (as in Zendesk, where such a ticket activates no
    first reply target). A reply of the customer's then starts the next-response clock.
    """
    policy = book.policy_for_ticket(ticket)
    ticket.sla_policy = policy
    if answered:
        ticket.first_agent_reply_at = now
    if policy is None:
        return
    schedule = book.schedule(policy)
    metrics = (Metric.RESOLUTION,) if answered else (Metric.FIRST_RESPONSE, Metric.RESOLUTION)
    for metric in metrics:
        due = add_business_time(now, policy.target(metric), schedule)
        _set_due(ticket, metric, due)
        note(ticket, ClockNote(metric, "due", due))
    refresh(ticket, book)


def agent_replied(ticket: Ticket, book: PolicyBook, now: datetime) -> None:
    """A public agent reply meets the first-response or next-response clock."""
    for metric in (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE):
        if is_running(ticket, metric):
            _meet(ticket, metric, now)
            if metric == Metric.NEXT_RESPONSE:
                ticket.next_response_met_at = now
                _set_due(ticket, metric, None)
    if ticket.first_agent_reply_at is None:
        ticket.first_agent_reply_at = now
        ticket.first_response_seconds = _business_seconds(ticket, book, now)
    refresh(ticket, book)


def customer_replied(ticket: Ticket, book: PolicyBook, now: datetime) -> None:
    """The customer wrote: an answer is owed again, unless one already is."""
    policy = book.policy_by_id(ticket.sla_policy_id)
    if (
        policy is None
        or ticket.first_agent_reply_at is None
        or is_running(ticket, Metric.NEXT_RESPONSE)
    ):
        return
    base = ticket.sla_paused_at or now
    due = add_business_time(base, policy.target(Metric.NEXT_RESPONSE), book.schedule(policy))
    ticket.next_response_due_at = due
    ticket.next_response_breached_at = None
    note(ticket, ClockNote(Metric.NEXT_RESPONSE, "due", due))
    refresh(ticket, book)


def status_changed(
    ticket: Ticket, book: PolicyBook, new: str, now: datetime, *, old: str | None = None
) -> None:
    """Pending pauses, solved/closed stop (resolution met), anything else resumes.
    Closing a solved ticket ends nothing new: its resolution was met when solved."""
    if new in ("solved", "closed") and old != "solved":
        ticket.resolution_seconds = _business_seconds(ticket, book, now)
        if is_running(ticket, Metric.RESOLUTION):
            # Its due time is kept (not cleared) so the ticket page shows what was
            # promised; reopening resumes it from the time it had left.
            _meet(ticket, Metric.RESOLUTION, now)
    elif new not in ("solved", "closed"):
        ticket.resolution_seconds = None  # reopened: it counts again when solved
    if new in PAUSING_STATUSES and ticket.sla_paused_at is None:
        if running_metrics(ticket):
            ticket.sla_paused_at = now
            note(ticket, ClockNote("", "paused", now))
    elif new not in PAUSING_STATUSES and ticket.sla_paused_at is not None:
        _resume(ticket, book, now)
    refresh(ticket, book)


def callback_requested(ticket: Ticket, book: PolicyBook, *, window_start, due) -> None:
    """The customer asked to be called between `window_start` and `due`."""
    ticket.callback_window_start = window_start
    ticket.callback_due_at = due
    refresh(ticket, book)


def callback_made(ticket: Ticket, book: PolicyBook) -> None:
    """An agent reached the customer: the callback no longer orders the queue."""
    ticket.callback_window_start = ticket.callback_due_at = None
    refresh(ticket, book)


def retarget(ticket: Ticket, book: PolicyBook, now: datetime) -> None:
    """The priority, category or plan changed: running clocks move by the change of
    target."""
    old_policy = book.policy_by_id(ticket.sla_policy_id)
    new_policy = book.policy_for_ticket(ticket)
    if new_policy is None or (old_policy is not None and old_policy.pk == new_policy.pk):
        return
    if old_policy is None:
        # No policy applied when it was opened: its clocks start now.
        if not running_metrics(ticket):
            start(ticket, book, now)
        return
    ticket.sla_policy = new_policy
    schedule = book.schedule(new_policy)
    base = ticket.sla_paused_at or now
    for metric in running_metrics(ticket):
        if is_breached(ticket, metric):
            continue
        left = business_time_between(base, due_of(ticket, metric), book.schedule(old_policy))
        left += new_policy.target(metric) - old_policy.target(metric)
        if left >= timedelta(0):
            due = add_business_time(base, left, schedule)
        else:
            due = subtract_business_time(base, -left, schedule)
        _set_due(ticket, metric, due)
        note(ticket, ClockNote(metric, "due", due))
    refresh(ticket, book)


# -- bookkeeping --------------------------------------------------------------------------


def _business_seconds(ticket: Ticket, book: PolicyBook, now: datetime) -> int:
    """Business time since the ticket was opened, in its policy's calendar (every
    hour counts for a ticket no policy covers)."""
    schedule = book.schedule(book.policy_by_id(ticket.sla_policy_id))
    return max(0, int(business_time_between(ticket.created_at, now, schedule).total_seconds()))


def _meet(ticket: Ticket, metric: str, at: datetime) -> None:
    """Note the outcome of a clock that just got its event at `at`. A paused clock
    stopped counting when it was paused, so it is judged as of that moment."""
    due = due_of(ticket, metric)
    if is_breached(ticket, metric):
        note(ticket, ClockNote(metric, "met", at))
        return
    judged_at = ticket.sla_paused_at or at
    result = SLAOutcome.Result.MET if judged_at <= due else SLAOutcome.Result.BREACHED
    if result == SLAOutcome.Result.BREACHED:
        # Late, but before the sweep noticed: a breach all the same, recorded now.
        setattr(ticket, f"{metric}_breached_at", at)
    ticket._sla_outcomes = [*getattr(ticket, "_sla_outcomes", []), (metric, result, due, at)]
    note(ticket, ClockNote(metric, "met" if result == SLAOutcome.Result.MET else "breached", at))


def _resume(ticket: Ticket, book: PolicyBook, now: datetime) -> None:
    """Running clocks get back the business time they had left when paused."""
    paused_at = ticket.sla_paused_at
    ticket.sla_paused_at = None
    policy = book.policy_by_id(ticket.sla_policy_id)
    schedule = book.schedule(policy)
    note(ticket, ClockNote("", "resumed", now))
    for metric in running_metrics(ticket):
        due = due_of(ticket, metric)
        if due <= paused_at:
            continue  # already overdue when paused: it stays overdue
        left = business_time_between(paused_at, due, schedule)
        due = add_business_time(now, left, schedule)
        _set_due(ticket, metric, due)
        note(ticket, ClockNote(metric, "due", due))


def take_records(ticket: Ticket, actor=None) -> tuple[list[SLAOutcome], list]:
    """The unsaved outcome and audit rows of what the clocks did since the last
    call (the outcomes `_meet` noted, a trail line per note); the notes are cleared."""
    from tickets.models import TicketEvent

    outcomes = [
        SLAOutcome(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            metric=metric,
            result=result,
            due_at=due,
            recorded_at=at,
        )
        for metric, result, due, at in getattr(ticket, "_sla_outcomes", [])
    ]
    events = [
        TicketEvent(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            actor=actor,
            kind=TicketEvent.Kind.SLA,
            old_value=str(note.metric),
            new_value=f"{note.action} {note.at.isoformat() if note.at else ''}".strip(),
        )
        for note in getattr(ticket, "_sla_notes", [])
    ]
    ticket._sla_outcomes = ticket._sla_notes = []
    return outcomes, events


def record(ticket: Ticket, actor=None) -> None:
    """Write what the clocks did, after the ticket is saved."""
    from tickets.models import TicketEvent

    outcomes, events = take_records(ticket, actor)
    if outcomes:
        # A breach the sweep recorded first stays the record.
        SLAOutcome.objects.bulk_create(outcomes, ignore_conflicts=True)
    if events:
        TicketEvent.objects.bulk_create(events)


def next_unbreached(ticket: Ticket) -> tuple[str, datetime] | None:
    """The running clock due soonest that has not been breached, and its due time."""
    if ticket.sla_paused_at is not None:
        return None
    pending = [
        (due_of(ticket, m), m) for m in running_metrics(ticket) if not is_breached(ticket, m)
    ]
    if not pending:
        return None
    at, metric = min(pending)
    return metric, at


def refresh(ticket: Ticket, book: PolicyBook) -> None:
    """Recompute the summary columns the queue sorts on and the sweep scans.

    `sla_due_at` is the earliest due time among running clocks, breached or not
    (the queue puts overdue tickets first), and an owed callback. `sla_warn_at` is
    when that due time's warning window opens (a callback's: its window's start).
    `sla_check_at` is when the sweep next has something to do: the next warning, or
    the next due time not yet breached (callbacks give it nothing to do). Paused
    tickets have none of them.
    """
    ticket.sla_due_at = ticket.sla_warn_at = ticket.sla_check_at = None
    running = running_metrics(ticket) if ticket.sla_paused_at is None else []
    callback_due = callback_owed(ticket)
    dues = [(due_of(ticket, metric), metric) for metric in running]
    if callback_due is not None:
        dues.append((callback_due, CALLBACK))
    if not dues:
        return
    policy = book.policy_by_id(ticket.sla_policy_id)
    ticket.sla_due_at, first = min(dues)
    if first == CALLBACK:
        ticket.sla_warn_at = ticket.callback_window_start
    elif policy is not None:
        ticket.sla_warn_at = subtract_business_time(
            ticket.sla_due_at, policy.warning_window(first), book.schedule(policy)
        )
    upcoming = next_unbreached(ticket) if running else None
    if upcoming is None:
        return
    metric, next_due = upcoming
    if policy is not None and ticket.sla_warned_due_at != next_due:
        warn_at = subtract_business_time(
            next_due, policy.warning_window(metric), book.schedule(policy)
        )
        ticket.sla_check_at = min(warn_at, next_due)
    else:
        ticket.sla_check_at = next_due
