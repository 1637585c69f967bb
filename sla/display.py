"""How service levels read to people: 'Mon-Fri 9:00-18:00', 'within 24 business hours'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

if TYPE_CHECKING:
    from sla.models import BusinessCalendar, SLAPolicy


def _weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _clock(minute: int) -> str:
    return f"{minute // 60}:{minute % 60:02d}"


def describe_hours(calendar: BusinessCalendar) -> str:
    """'Mon-Fri 9:00-18:00, Sat 10:00-14:00'; consecutive days with the same hours merge."""
    if calendar.always_open:
        return _("24 hours a day, 7 days a week")
    schedule = calendar.schedule()
    names = _weekday_names()
    parts = []
    days = list(enumerate(schedule.weekly))
    for intervals, run in groupby(days, key=lambda day: day[1]):
        if not intervals:
            continue
        run = list(run)
        first, last = run[0][0], run[-1][0]
        span = (
            names[first]
            if first == last
            else _("%(first)s-%(last)s") % {"first": names[first], "last": names[last]}
        )
        hours = ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in intervals)
        parts.append(f"{span} {hours}")
    return "; ".join(parts) or _("no working hours set")


def describe_duration(minutes: int, *, business: bool) -> str:
    """'24 business hours', '2 hours', '1 business hour 30 minutes'."""
    hours, rest = divmod(int(minutes), 60)
    if business:
        text = ngettext("%(count)d business hour", "%(count)d business hours", hours)
    else:
        text = ngettext("%(count)d hour", "%(count)d hours", hours)
    if not hours:
        return ngettext("%(count)d minute", "%(count)d minutes", rest) % {"count": rest}
    text = text % {"count": hours}
    if rest:
        text += " " + ngettext("%(count)d minute", "%(count)d minutes", rest) % {"count": rest}
    return text


def describe_target(policy: SLAPolicy, metric: str, calendar: BusinessCalendar | None) -> str:
    """'24 business hours (Mon-Fri 9:00-18:00, Asia/Shanghai)' or '2 hours, around the clock'."""
    minutes = getattr(policy, f"{metric}_minutes")
    if calendar is None or calendar.always_open:
        return _("%(duration)s, around the clock") % {
            "duration": describe_duration(minutes, business=False)
        }
    return _("%(duration)s (%(hours)s, %(zone)s)") % {
        "duration": describe_duration(minutes, business=True),
        "hours": calendar.hours_summary,
        "zone": calendar.time_zone,
    }


def countdown_formats() -> dict[str, str]:
    """The countdown's words in the reader's language ('3d 4h', '3 天 4 小时'); pages
    hand them to static/js/sla.js, which writes the same text as time passes."""
    return {
        "days": pgettext("SLA countdown", "%(days)dd %(hours)dh"),
        "hours": pgettext("SLA countdown", "%(hours)dh %(minutes)02dm"),
        "minutes": pgettext("SLA countdown", "%(minutes)dm"),
        "overdue": _("overdue %(time)s"),
    }


def countdown(delta: timedelta) -> str:
    """'3d 4h', '2h 05m', '7m' (in Chinese '3 天 4 小时', '2 小时 05 分', '7 分钟'):
    the time left (or overdue) at a glance."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    values = {"days": days, "hours": hours, "minutes": minutes}
    unit = "days" if days else "hours" if hours else "minutes"
    return countdown_formats()[unit] % values


@dataclass(frozen=True)
class Badge:
    state: str  # breached, warning, on-track, paused, none
    text: str


def sla_badge(ticket, now: datetime) -> Badge:
    """The queue's SLA cell: red when overdue, amber inside the warning window,
    green on track; paused while waiting on the customer."""
    if ticket.sla_paused_at is not None and ticket.status == "pending":
        return Badge("paused", _("paused"))
    if ticket.sla_due_at is None:
        return Badge("none", "")
    left = ticket.sla_due_at - now
    if left <= timedelta(0):
        return Badge("breached", _("overdue %(time)s") % {"time": countdown(left)})
    state = "warning" if ticket.sla_warn_at and now >= ticket.sla_warn_at else "on-track"
    return Badge(state, countdown(left))


def describe_clock_note(metric: str, note: str) -> str:
    """The audit-trail text of a clock note (sla.timers.ClockNote, stored as
    metric code and 'action ISO-time')."""
    from django.utils import formats, timezone
    from django.utils.dateparse import parse_datetime

    from sla.models import Metric

    action, _space, when = note.partition(" ")
    at = parse_datetime(when) if when else None
    at_text = formats.date_format(timezone.localtime(at), "SHORT_DATETIME_FORMAT") if at else ""
    actions = {
        "due": _("due %(time)s"),
        "met": _("met at %(time)s"),
        "breached": _("breached (was due %(time)s)"),
        "warned": _("warning sent (due %(time)s)"),
        "paused": _("clocks paused"),
        "resumed": _("clocks resumed"),
    }
    text = actions.get(action, action)
    if "%(time)s" in text:
        text = text % {"time": at_text}
    if metric in Metric.values:
        return f"{Metric(metric).label}: {text}"
    return text
