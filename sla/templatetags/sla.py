from django import template
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from sla import timers
from sla.display import countdown_formats, describe_target, sla_badge
from sla.models import Metric
from sla.selectors import policy_book

register = template.Library()


@register.filter
def promise(plan, metric: str = "first_response") -> str:
    """What a plan promises for a metric, as customers read it:
    '24 business hours (Mon-Fri 9:00-18:00, Asia/Shanghai)' or '2 hours, around the clock'."""
    if plan is None:
        return ""
    book = policy_book(plan.tenant_id)
    policy = book.policy(plan.pk, None)
    if policy is None:
        return ""
    return describe_target(policy, metric, book.calendar(policy))


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _done_at(ticket, metric: str):
    """When the clock got its event, if it is over."""
    if metric == Metric.FIRST_RESPONSE:
        return ticket.first_agent_reply_at
    if metric == Metric.NEXT_RESPONSE:
        return ticket.next_response_met_at if ticket.next_response_due_at is None else None
    return ticket.solved_at if ticket.status in ("solved", "closed") else None


def _clock_state(ticket, metric: str, now) -> tuple[str, str]:
    """(state, text) for one clock of the ticket page's SLA panel."""
    due = timers.due_of(ticket, metric)
    breached = timers.is_breached(ticket, metric)
    done = _done_at(ticket, metric)
    if done is not None:
        if breached:
            return "breached", _("missed; done %(time)s") % {"time": _when(done)}
        return "on-track", _("met %(time)s") % {"time": _when(done)}
    if due is None:
        return "none", _("not running")
    if ticket.sla_paused_at is not None:
        return "paused", _("paused since %(time)s") % {"time": _when(ticket.sla_paused_at)}
    if breached or due <= now:
        return "breached", _("overdue since %(time)s") % {"time": _when(due)}
    return "on-track", _("due %(time)s") % {"time": _when(due)}


@register.inclusion_tag("sla/_reply_by.html", takes_context=True)
def reply_by(context, ticket) -> dict:
    """The customer's ticket page: when they can expect our reply, while a first- or
    next-response clock runs for them (in the desk's time zone); nothing otherwise."""
    due = timers.reply_due(ticket)
    return {
        "due": due,
        "late": due is not None and due <= timezone.now(),
        "zone": context["tenant"].time_zone,
    }


@register.simple_tag
def sla_countdown_words() -> SafeString:
    """Attributes for an element holding SLA badges: the countdown's words in the
    reader's language, which static/js/sla.js writes as time passes."""
    formats = countdown_formats()
    return format_html(
        'data-sla-days="{}" data-sla-hours="{}" data-sla-minutes="{}" data-sla-overdue="{}"',
        formats["days"],
        formats["hours"],
        formats["minutes"],
        formats["overdue"],
    )


@register.simple_tag
def sla_clocks(ticket) -> SafeString:
    """The ticket page's SLA panel: each clock with its due time and state; the
    countdown badge of the soonest one ticks like the queue's."""
    if ticket.sla_policy_id is None:
        return format_html('<p class="muted">{}</p>', _("No service level applies."))
    now = timezone.now()
    badge = sla_badge(ticket, now)
    rows = format_html_join(
        "",
        '<dt>{}</dt><dd><span class="sla-state sla-state-{}">{}</span></dd>',
        ((Metric(metric).label, *_clock_state(ticket, metric, now)) for metric in timers.METRICS),
    )
    countdown = (
        format_html(
            '<p><span class="sla sla-{}" data-due="{}" data-warn="{}">{}</span></p>',
            badge.state,
            ticket.sla_due_at.isoformat() if badge.state not in ("none", "paused") else "",
            ticket.sla_warn_at.isoformat() if ticket.sla_warn_at else "",
            badge.text,
        )
        if badge.state != "none"
        else ""
    )
    return format_html('{}<dl class="props sla-clocks">{}</dl>', countdown, rows)
