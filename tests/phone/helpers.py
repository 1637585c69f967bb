"""Windows and plans for the phone tests.

The test desk's Pro plan (Carol's) counts in office hours, Mon-Fri 9:00-18:00 UTC;
`offer_phone` makes it offer phone support, so a window's hours matter. Oscar's Free
plan offers none.
"""

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone


def offer_phone(desk, plan=None):
    plan = plan or desk.pro
    with desk.scope():
        plan.offers_phone = True
        plan.phone_number = "+1 800 555 0100"
        plan.save()
    return plan


def next_monday(weeks: int = 0):
    """A Monday at least two days away (so any hour of it is in the future)."""
    today = timezone.now().astimezone(UTC).date() + timedelta(days=2)
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * weeks)


def at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def form_data(day=None, start="10:00", end="12:00", **fields) -> dict:
    day = day or next_monday()
    return {
        "phone_number": "+86 138 0013 8000",
        "day": day.isoformat(),
        "start_time": start,
        "end_time": end,
        "subject": "Walk me through the export settings",
        "details": "Best on my mobile.",
        **fields,
    }
