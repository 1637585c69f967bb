from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def duration_minutes(minutes: int) -> str:
    """480 -> '8 hours', 90 -> '1 h 30 min', 2880 -> '48 hours' (how promises read)."""
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    if rest and hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}
    if rest:
        return ngettext("%(count)d minute", "%(count)d minutes", rest) % {"count": rest}
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
