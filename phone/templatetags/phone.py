from django import template
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from phone.numbers import phone_number_display

register = template.Library()


@register.filter
def phone_number(e164: str) -> str:
    """'+86 138 0013 8000' for '+8613800138000'."""
    return phone_number_display(e164)


@register.simple_tag
def callback_window(callback, zone=None) -> str:
    """'12/07/2026 1 p.m. – 3 p.m.': the window the customer chose, in `zone` (a time
    zone name) or the page's (the desk's)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone) if zone else None
    start = localtime(callback.window_start, tz)
    end = localtime(callback.window_end, tz)
    return _("%(start)s – %(end)s") % {
        "start": date_format(start, "SHORT_DATETIME_FORMAT"),
        "end": date_format(end, "TIME_FORMAT"),
    }
