"""The demo desk's phone channel: a Pro+ customer's callback still owed (it leads the
queue with its badge), and one an agent made, with the call logged."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from helpdesk.models import Membership, Role, Tenant
from phone.models import CallbackRequest, CallDirection, CallOutcome
from phone.selectors import phone_hours
from phone.services import call_log, callback_request


def _tomorrow_at(hours, hour: int) -> datetime:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(hours.time_zone)
    day = timezone.localtime(timezone.now(), zone).date() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=zone)


def seed_phone(tenant: Tenant) -> int:
    """Two callback requests (nothing if the desk has some); returns how many were made."""
    if CallbackRequest.objects.exists():
        return 0
    members = {
        m.user.email: m
        for m in Membership.objects.filter(role=Role.CUSTOMER).select_related(
            "user", "organization__plan"
        )
    }
    agent = Membership.objects.filter(role=Role.AGENT).select_related("user").order_by("pk").first()
    made = 0
    for email, number, subject, start_hour, called in (
        ("ivy@initech.example", "+86 138 0013 8000", "Walk us through the SSO setup", 10, False),
        ("george@globex.example", "+1 212 555 0147", "Questions about the renewal quote", 14, True),
    ):
        membership = members.get(email)
        if membership is None or not membership.organization.plan.offers_phone:
            continue
        hours = phone_hours(membership.organization.plan)
        callback = callback_request(
            tenant=tenant,
            requester=membership.user,
            phone_number=number,
            window_start=_tomorrow_at(hours, start_hour),
            window_end=_tomorrow_at(hours, start_hour + 2),
            subject=subject,
            requester_membership=membership,
        )
        if called and agent is not None:
            call_log(
                ticket=callback.ticket,
                agent=agent.user,
                direction=CallDirection.OUTBOUND,
                outcome=CallOutcome.ANSWERED,
                duration_seconds=7 * 60 + 42,
                phone_number=number,
                notes="Went through the quote line by line; they will confirm by email.",
            )
        made += 1
    return made
