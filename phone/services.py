"""Every write of the phone channel: a customer's callback request, an agent's call
log. Each in one transaction with its ticket's audit rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import Membership, Tenant, User
from phone.models import CallbackRequest, CallDirection, CallLog, CallOutcome
from phone.numbers import phone_number_clean
from phone.selectors import PhoneHours, phone_hours
from plans.selectors import plan_for_membership
from sla import timers
from sla.business_time import business_time_between
from sla.selectors import policy_book
from tickets.models import Channel, Ticket, TicketEvent
from tickets.services import _active_membership, _is_staff, ticket_create

# A window shorter than this leaves an agent no room to call.
CALLBACK_MIN_WINDOW = timedelta(minutes=30)
# The window must end at least this long after the request, for someone to see it.
CALLBACK_MIN_NOTICE = timedelta(minutes=30)
# Further ahead than this is a meeting to book, not a callback.
CALLBACK_MAX_AHEAD = timedelta(days=30)
# Longest call one log may record.
CALL_MAX_SECONDS = 24 * 3600

# The callback's due time is the end of the window: the customer said "call me
# before then", and the queue should rank it by when it would become late. The
# window's start is when the queue's badge turns amber (sla/timers.py).


def callback_window_check(
    *, hours: PhoneHours, start: datetime, end: datetime, now: datetime
) -> None:
    """Raise a ValidationError (keyed window_start, window_end or window) unless the
    window is one we can keep: at least CALLBACK_MIN_WINDOW long, ending at least
    CALLBACK_MIN_NOTICE from now and starting within CALLBACK_MAX_AHEAD, and wholly
    inside the phone hours (open all along: business time across it is all of it)."""
    if end <= start:
        raise ValidationError({"window_end": _("The window must end after it starts.")})
    if end - start < CALLBACK_MIN_WINDOW:
        raise ValidationError(
            {"window_end": _("Give us a window of at least 30 minutes to call you in.")}
        )
    if end < now + CALLBACK_MIN_NOTICE:
        raise ValidationError(
            {"window_end": _("Choose a window that ends at least 30 minutes from now.")}
        )
    if start > now + CALLBACK_MAX_AHEAD:
        raise ValidationError({"window": _("Choose a day within the next 30 days.")})
    if business_time_between(start, end, hours.schedule) != end - start:
        raise ValidationError(
            {
                "window": _(
                    "We call back during our phone hours, %(hours)s (%(zone)s), except "
                    "holidays. Choose a window inside them."
                )
                % {"hours": hours.summary, "zone": hours.time_zone}
            }
        )


def _phone_plan_of(membership: Membership | None):
    """The customer's plan if it offers phone support; PermissionDenied otherwise."""
    if membership is None or not membership.is_active or membership.is_staff_member:
        raise PermissionDenied(_("Only customers of this help desk can ask for a callback."))
    plan = plan_for_membership(membership)
    if plan is None or not plan.offers_phone:
        raise PermissionDenied(
            _("Callbacks come with plans that include phone support; yours does not.")
        )
    return plan


@transaction.atomic
def callback_request(
    *,
    tenant: Tenant,
    requester: User,
    phone_number: str,
    window_start: datetime,
    window_end: datetime,
    subject: str,
    details: str = "",
    requester_membership: Membership | None = None,
) -> CallbackRequest:
    """A customer asks to be called back: a ticket on the phone channel, opened as any
    other (acknowledgement, SLA clocks, agents told, audit), with the callback due at
    the end of their window. Only on plans that offer phone support."""
    membership = requester_membership or _active_membership(requester)
    plan = _phone_plan_of(membership)
    try:
        number = phone_number_clean(phone_number)
    except ValidationError as error:
        raise ValidationError({"phone_number": error.messages}) from None
    now = timezone.now()
    callback_window_check(hours=phone_hours(plan), start=window_start, end=window_end, now=now)
    ticket = ticket_create(
        tenant=tenant,
        requester=requester,
        subject=subject,
        body=details.strip() or subject,
        channel=Channel.PHONE,
        requester_membership=membership,
    )
    timers.callback_requested(
        ticket, policy_book(tenant), window_start=window_start, due=window_end
    )
    ticket.save(update_fields=["callback_window_start", "callback_due_at", *timers.SLA_FIELDS])
    callback = CallbackRequest.objects.create(
        tenant=tenant,
        ticket=ticket,
        requester=requester,
        phone_number=number,
        window_start=window_start,
        window_end=window_end,
        created_at=now,
    )
    TicketEvent.objects.create(
        tenant=tenant,
        ticket=ticket,
        actor=requester,
        kind=TicketEvent.Kind.CALLBACK,
        old_value="requested",
        new_value=f"{number} {window_start.isoformat()} {window_end.isoformat()}",
    )
    return callback


def _duration_check(seconds: int) -> None:
    if not 0 <= seconds <= CALL_MAX_SECONDS:
        raise ValidationError({"minutes": _("A call lasts at most 24 hours.")})


@transaction.atomic
def call_log(
    *,
    ticket: Ticket,
    agent: User,
    direction: str,
    outcome: str,
    duration_seconds: int,
    notes: str = "",
    phone_number: str = "",
) -> CallLog:
    """An agent records a call about a ticket: agents see it in the thread, the
    customer never does (it is no message, so no email carries it either).

    An answered outbound call makes the ticket's owed callback: the callback stops
    ordering the queue and the trail says when it was made against when it was due.
    A call is not a written reply: it meets no SLA clock.
    """
    if not _is_staff(agent):
        raise PermissionDenied
    if direction not in CallDirection.values:
        raise ValidationError({"direction": _("Choose inbound or outbound.")})
    if outcome not in CallOutcome.values:
        raise ValidationError({"outcome": _("Choose how the call went.")})
    _duration_check(duration_seconds)
    number = ""
    if phone_number.strip():
        try:
            number = phone_number_clean(phone_number)
        except ValidationError as error:
            raise ValidationError({"phone_number": error.messages}) from None
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    call = CallLog.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        agent=agent,
        direction=direction,
        outcome=outcome,
        duration_seconds=duration_seconds,
        phone_number=number,
        notes=notes.strip(),
        created_at=now,
    )
    events = [
        TicketEvent(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            actor=agent,
            kind=TicketEvent.Kind.CALL,
            old_value=direction,
            new_value=f"{outcome} {duration_seconds}",
        )
    ]
    fields = ["updated_at"]
    made = direction == CallDirection.OUTBOUND and outcome == CallOutcome.ANSWERED
    if made and ticket.callback_due_at is not None:
        due = ticket.callback_due_at
        CallbackRequest.objects.filter(ticket=ticket, called_at=None).update(
            called_at=now, called_by=agent
        )
        timers.callback_made(ticket, policy_book(ticket.tenant_id))
        fields += ["callback_window_start", "callback_due_at", *timers.SLA_FIELDS]
        events.append(
            TicketEvent(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                actor=agent,
                kind=TicketEvent.Kind.CALLBACK,
                old_value="made",
                new_value=f"{now.isoformat()} {due.isoformat()}",
            )
        )
    ticket.updated_at = now
    ticket.save(update_fields=fields)
    TicketEvent.objects.bulk_create(events)
    return call


__all__ = ["call_log", "callback_request", "callback_window_check"]
