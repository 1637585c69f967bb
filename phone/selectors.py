"""Reads of the phone channel: a plan's phone hours, a customer's last number, the
calls and callback of a ticket."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from phone.models import CallbackRequest, CallLog
from sla.business_time import Schedule
from sla.selectors import policy_book


@dataclass(frozen=True)
class PhoneHours:
    """When a plan's customers may be called back: the business hours of the calendar
    its SLA policy counts in (the desk's default calendar without one), in its zone."""

    schedule: Schedule
    time_zone: str
    summary: str  # 'Mon-Fri 9:00-18:00' or '24 hours a day, 7 days a week'


def phone_hours(plan) -> PhoneHours:
    book = policy_book(plan.tenant_id)
    policy = book.policy(plan.pk, None)
    calendar = book.calendar(policy)
    if calendar is None:
        return PhoneHours(book.schedule(policy), book.time_zone, _("24 hours a day, 7 days a week"))
    return PhoneHours(book.schedule(policy), calendar.time_zone, calendar.hours_summary)


def last_phone_number(user) -> str:
    """The number the customer gave with their latest callback request, if any."""
    return (
        CallbackRequest.objects.filter(requester=user)
        .order_by("-created_at", "-pk")
        .values_list("phone_number", flat=True)
        .first()
        or ""
    )


def callback_of(ticket) -> CallbackRequest | None:
    return CallbackRequest.objects.filter(ticket=ticket).select_related("called_by").first()


def calls_of(ticket) -> list[CallLog]:
    """The calls logged on the ticket, oldest first, with their agents (one query)."""
    return list(CallLog.objects.filter(ticket=ticket).select_related("agent"))
