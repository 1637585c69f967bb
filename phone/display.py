"""How callbacks and calls read in a ticket's history, in the reader's language and
the desk's time zone."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from phone.models import CallDirection, CallOutcome, duration_text
from phone.numbers import phone_number_display


def _when(text: str) -> str:
    moment = parse_datetime(text) if text else None
    if moment is None:
        return text
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def window_text(start, end, zone=None) -> str:
    """'12/07/2026 1 p.m. – 3 p.m.': a callback window, in `zone` or the page's."""
    if start is None or end is None:
        return ""
    return _("%(start)s – %(end)s") % {
        "start": formats.date_format(timezone.localtime(start, zone), "SHORT_DATETIME_FORMAT"),
        "end": formats.date_format(timezone.localtime(end, zone), "TIME_FORMAT"),
    }


def describe_phone_event(kind: str, old: str, new: str) -> str:
    """The trail's text of a callback row ('requested' with number and window, 'made'
    with when and the due time) or a call row (direction, outcome and duration), all
    stored as codes, numbers and ISO times."""
    if kind == "call":
        outcome, _space, seconds = new.partition(" ")
        parts = [_label(CallDirection, old), _label(CallOutcome, outcome)]
        if seconds.isdigit():
            parts.append(duration_text(int(seconds)))
        return ", ".join(parts)
    if old == "requested":
        number, start, end = [*new.split(" "), "", "", ""][:3]
        return _("requested a call to %(number)s, %(window)s") % {
            "number": phone_number_display(number),
            "window": window_text(parse_datetime(start), parse_datetime(end)),
        }
    if old == "made":
        at, _space, due = new.partition(" ")
        made_at, due_at = parse_datetime(at), parse_datetime(due)
        text = (
            _("made late, at %(time)s (it was due at %(due)s)")
            if made_at and due_at and made_at > due_at
            else _("made in time, at %(time)s (it was due at %(due)s)")
        )
        return text % {"time": _when(at), "due": _when(due)}
    return new
