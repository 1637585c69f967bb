from django import template
from django.template.defaultfilters import filesizeformat, linebreaks_filter
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from phone.display import describe_phone_event
from sla.display import describe_clock_note, sla_badge
from tickets import external_images
from tickets.models import Channel, SenderCheck, Status, TicketEvent
from tickets.rendering import block_external_images

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")


@register.simple_tag(takes_context=True)
def queue_rows(context) -> SafeString:
    """The queue's table rows, built in Python as Django's admin builds its changelist.

    This is the hottest markup in the workspace (50 rows, a dozen cells each);
    format_html escapes every value just as the template did, at a fraction of
    the cost of resolving each variable through the template engine.
    """
    labels = context["labels"]
    selected = context["selected"]
    path = context["ticket_path"]
    marked_subjects = context.get("marked_subjects") or {}
    excerpts = context.get("excerpts") or {}
    select = _("Select")
    none = "—"
    now = timezone.now()
    rows = []
    for ticket in context["tickets"]:
        organization = ticket.organization
        badge = sla_badge(ticket, now)
        tags = format_html_join("", ' <span class="tag">{}</span>', ((tag,) for tag in ticket.tags))
        if ticket.callback_due_at is not None:
            tags = format_html("{}{}", callback_badge(ticket), tags)
        if ticket.pk in excerpts:  # what a search found in the ticket's messages
            tags = format_html(
                '{}<div class="muted small excerpt">{}</div>', tags, excerpts[ticket.pk]
            )
        rows.append(
            format_html(
                "<tr>"
                '<td><input type="checkbox" name="selected" value="{number}" form="bulk-form" '
                'aria-label="{select} #{number}"{checked}></td>'
                "<td>#{number}</td>"
                '<td><a href="{path}{number}/">{subject}</a>{tags}</td>'
                '<td>{requester}<div class="muted small">{organization}</div></td>'
                "<td>{plan}</td>"
                '<td><span class="priority priority-{priority}">{priority_label}</span></td>'
                '<td><span class="status status-{status}">{status_label}</span></td>'
                '<td><span class="sla sla-{sla_state}" data-due="{sla_due}" data-warn="{sla_warn}"'
                ">{sla_text}</span></td>"
                "<td>{assignee}</td>"
                '<td><time datetime="{created_iso}">{age}</time></td>'
                "</tr>",
                number=ticket.number,
                select=select,
                checked=SafeString(" checked") if ticket.number in selected else "",
                path=path,
                subject=marked_subjects.get(ticket.pk, ticket.subject),
                tags=tags,
                requester=ticket.requester.display_name,
                organization=organization.name if organization else "",
                plan=labels["plan"].get(organization.plan_id, none) if organization else none,
                priority=ticket.priority,
                priority_label=labels["priority"].get(ticket.priority, ""),
                status=ticket.status,
                status_label=labels["status"].get(ticket.status, ""),
                sla_state=badge.state,
                sla_due=ticket.sla_due_at.isoformat()
                if badge.state not in ("none", "paused")
                else "",
                sla_warn=ticket.sla_warn_at.isoformat() if ticket.sla_warn_at else "",
                sla_text=badge.text,
                assignee=labels["staff"].get(ticket.assignee_id, none)
                if ticket.assignee_id
                else none,
                created_iso=ticket.created_at.isoformat(),
                age=timesince(ticket.created_at, depth=1),
            )
        )
    return SafeString("\n".join(rows))


@register.simple_tag
def callback_badge(ticket) -> SafeString:
    """'Callback by 12/07/2026 3 p.m.' (the desk's time zone), while a callback is owed."""
    if ticket.callback_due_at is None:
        return SafeString("")
    when = date_format(template_localtime(ticket.callback_due_at), "SHORT_DATETIME_FORMAT")
    return format_html(
        ' <span class="badge callback">{}</span>', _("Callback by %(time)s") % {"time": when}
    )


# -- the ticket page ------------------------------------------------------------------------
# Built in Python like queue_rows: the thread and the history are the ticket page's
# loops, and a template include or variable per row costs more than the row itself.
# The markup, whitespace included, is that of the templates they replace.


def _status_labels() -> dict[str, str]:
    return {value: str(label) for value, label in Status.choices}


@register.simple_tag
def options(choices, selected=None, exclude=None) -> SafeString:
    """<option>s for (value, label) pairs; `selected` is compared as text (a form's
    value is a string, a ticket's field an int)."""
    selected = str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, SafeString(" selected") if str(value) == selected else "", label)
            for value, label in choices
            if value != exclude
        ),
    )


@register.simple_tag
def status_badge(ticket) -> SafeString:
    """A ticket's status, as a badge."""
    return format_html(
        '<span class="status status-{}">{}</span>\n', ticket.status, ticket.get_status_display()
    )


@register.simple_tag
def ticket_links(tickets) -> SafeString:
    """Links to other tickets of the agent workspace, with their status (the side lists)."""
    path = reverse("agent_ticket", args=[0]).removesuffix("0/")
    statuses = _status_labels()
    return format_html_join(
        "",
        '<li><a href="{}{}/">#{} {}</a> <span class="muted">{}</span></li>',
        (
            (path, ticket.number, ticket.number, ticket.subject, statuses.get(ticket.status, ""))
            for ticket in tickets
        ),
    )


def _attachment_list(attachments) -> SafeString:
    items = format_html_join(
        "",
        '\n        <li><a href="{}">{}</a> <span class="muted">({})</span></li>\n      ',
        (
            (
                reverse("attachment_download", args=[attachment.key]),
                attachment.name,
                filesizeformat(attachment.size),
            )
            for attachment in attachments
        ),
    )
    return format_html('\n      <ul class="attachments">\n      {}\n      </ul>\n    ', items)


def _sender_check(message) -> SafeString:
    """The badge saying what is known of who wrote a message that came by email,
    with our mail server's verdict: for agents only."""
    if not message.sender_check:
        return SafeString("")
    if message.sender_check == SenderCheck.UNVERIFIED:
        label = _("Unverified: sender could not be confirmed (%(reason)s)") % {
            "reason": message.get_sender_evidence_display()
        }
    else:
        label = message.get_sender_check_display()
    verdict = " · ".join(f"{m}={r}" for m, r in sorted(message.email_authentication.items()))
    return format_html(
        '<span class="badge sender sender-{}" title="{}">{}</span>{}',
        message.sender_check,
        message.get_sender_evidence_display(),
        label,
        format_html(' <span class="muted small">{}</span>', verdict) if verdict else "",
    )


def _mail_review(context, message) -> SafeString:
    """Unverified mail: who decided what, or the decision's buttons. The author it
    may be published as is worked out by the server (context["publishable_as"])."""
    if message.reviewed_at is not None:
        when = date_format(template_localtime(message.reviewed_at), "SHORT_DATETIME_FORMAT")
        reviewer = message.reviewed_by.display_name if message.reviewed_by else _("System")
        text = (
            _("Kept as a note by %(agent)s, %(when)s.")
            if message.is_internal
            else _("Published as the customer's reply by %(agent)s, %(when)s.")
        )
        return format_html(
            '\n    <p class="mail-reviewed muted small">{}</p>',
            text % {"agent": reviewer, "when": when},
        )
    customer = context.get("publishable_as", {}).get(message.pk)
    if customer is not None:
        hint = _(
            "Publish it only if you know %(customer)s wrote it (for example, you asked "
            "them); it is then their reply, shown and counted as one."
        ) % {"customer": customer.display_name}
        publish = format_html(
            '<button type="submit" name="decision" value="publish">{}</button> ',
            _("Publish as %(customer)s's reply") % {"customer": customer.display_name},
        )
    else:
        hint = _(
            "It can only stay a note: %(sender)s is not a customer who can see this ticket."
        ) % {"sender": message.email_from}
        publish = ""
    return format_html(
        '\n    <form method="post" action="{action}" class="mail-review">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        '<p class="small">{hint}</p>{publish}'
        '<button type="submit" name="decision" value="keep" class="secondary">{keep}</button>'
        "</form>",
        action=reverse("agent_mail_review", args=[context["ticket"].number, message.review_key]),
        csrf=str(context.get("csrf_token", "")),
        hint=hint,
        publish=publish,
        keep=_("Keep as a note"),
    )


@register.simple_tag(takes_context=True)
def message_thread(context, for_agents=False) -> SafeString:
    """The ticket's messages (context["thread"], attachments prefetched), oldest first,
    their external images blocked unless the reader asked to see them (a notice
    above says so and offers the choice, when there are any). Agents also see what
    is known of each mail's sender, and review unverified mail."""
    request = context["request"]
    show_images = external_images.wanted(request)
    own_host = request.get_host()
    placeholder = static("img/external-image.svg")
    blocked_images = 0
    requester_id = context["ticket"].requester_id
    system = _("System")
    internal_badge = format_html('<span class="badge note">{}</span>', _("Internal note"))
    channels = {value: str(label) for value, label in Channel.choices}
    items = []
    for message in context["thread"]:
        if getattr(message, "is_call", False):
            items.append(_call_item(message, system))
            continue
        created = template_localtime(message.created_at)
        attachments = message.attachments.all()
        # Rendered from Markdown and sanitized when the message was saved.
        body = message.body_html
        blocked_body, blocked = block_external_images(
            body, own_host=own_host, placeholder=placeholder
        )
        blocked_images += blocked
        if not show_images:
            body = blocked_body
        classes = "message-item"
        if message.is_internal:
            classes += " internal"
        if message.author_id == requester_id:
            classes += " from-requester"
        if message.awaits_review:
            classes += " unverified"
        author = message.author.display_name if message.author else ""
        if not author and message.sender_check == SenderCheck.UNVERIFIED:
            # Never the name of the member the From names: that is only a claim.
            author = message.email_from
        badges = internal_badge if message.is_internal else SafeString("")
        review = SafeString("")
        if for_agents and message.sender_check:
            badges = format_html("{} {}", badges, _sender_check(message))
            if message.sender_check == SenderCheck.UNVERIFIED:
                review = _mail_review(context, message)
        items.append(
            format_html(
                '\n  <li class="{classes}" id="m{pk}">\n'
                '    <div class="message-meta">\n'
                "      <strong>{author}</strong>\n"
                "      {badge}\n"
                '      <time datetime="{iso}">{when}</time>\n'
                "      {channel}\n"
                "    </div>\n"
                '    <div class="message-body">{body}</div>\n'
                "    {attachments}{review}\n"
                "  </li>\n",
                classes=classes,
                pk=message.pk,
                author=author or system,
                badge=badges,
                iso=date_format(created, "c"),
                when=date_format(created, "DATETIME_FORMAT"),
                channel=format_html('<span class="muted">· {}</span>', channels[message.channel])
                if message.channel != Channel.WEB
                else "",
                body=mark_safe(body),  # noqa: S308
                attachments=_attachment_list(attachments) if attachments else "",
                review=review,
            )
        )
    notice = _external_images_notice(request, blocked=blocked_images, shown=show_images)
    return SafeString(notice + '\n<ol class="thread">\n' + "".join(items) + "\n</ol>\n")


def _call_item(call, system: str) -> SafeString:
    """A call an agent logged (phone/), in the agents' thread: who, which way, how it
    went, how long, the number and the notes. The help center's thread has none."""
    from phone.numbers import phone_number_display

    created = template_localtime(call.created_at)
    summary = ", ".join(
        [str(call.get_direction_display()), str(call.get_outcome_display()), call.duration_text]
    )
    number = phone_number_display(call.phone_number)
    return format_html(
        '\n  <li class="message-item internal call" id="call{pk}">\n'
        '    <div class="message-meta">\n'
        "      <strong>{author}</strong>\n"
        '      <span class="badge note">{badge}</span>\n'
        '      <time datetime="{iso}">{when}</time>\n'
        "    </div>\n"
        '    <div class="message-body"><p class="call-summary">{summary}{number}</p>{notes}</div>\n'
        "  </li>\n",
        pk=call.pk,
        author=call.agent.display_name if call.agent else system,
        badge=_("Call log"),
        iso=date_format(created, "c"),
        when=date_format(created, "DATETIME_FORMAT"),
        summary=summary,
        number=format_html(" · {}", number) if number else "",
        notes=linebreaks_filter(call.notes, autoescape=True) if call.notes else "",
    )


def _external_images_notice(request, *, blocked: int, shown: bool) -> str:
    """Above the thread: what happened to its images from other sites, and the choice."""
    if not blocked:
        return ""
    if shown:
        return format_html(
            '<p class="notice external-images">{} <a href="{}">{}</a></p>',
            _("External images are shown for this view only."),
            request.path,
            _("Hide external images"),
        )
    query = request.GET.copy()
    query[external_images.PARAM] = external_images.SHOW
    return format_html(
        '<p class="notice external-images">{} <a href="{}?{}">{}</a></p>',
        _(
            "External images in this conversation are blocked, so their senders cannot "
            "tell when it is read."
        ),
        request.path,
        query.urlencode(),
        _("Show external images"),
    )


def _who(event: TicketEvent) -> str:
    """Who made a change: its agent or customer, or the rule that made it."""
    if event.rule_kind == TicketEvent.RuleKind.TRIGGER:
        return _("Trigger “%(name)s”") % {"name": event.rule_name}
    if event.rule_kind == TicketEvent.RuleKind.AUTOMATION:
        return _("Automation “%(name)s”") % {"name": event.rule_name}
    return event.actor.display_name if event.actor else ""


@register.simple_tag(takes_context=True)
def audit_trail_items(context) -> SafeString:
    """The ticket's history (context["events"], actors joined), oldest first."""
    system = _("System")
    kinds = {value: str(label) for value, label in TicketEvent.Kind.choices}
    items = []
    for event in context["events"]:
        created = template_localtime(event.created_at)
        change = ""
        if event.kind == TicketEvent.Kind.SLA:
            # Stored as codes and an ISO time, read in the viewer's language.
            change = format_html(": {}", describe_clock_note(event.old_value, event.new_value))
        elif event.kind in (TicketEvent.Kind.CALLBACK, TicketEvent.Kind.CALL):
            described = describe_phone_event(event.kind, event.old_value, event.new_value)
            change = format_html(": {}", described)
        elif event.kind == TicketEvent.Kind.UNVERIFIED_MAIL:
            # The sender, and why they could not be confirmed (a code, read as its label).
            change = format_html(": {} ({})", event.new_value, event.old_label)
        elif event.old_value or event.new_value:
            old = format_html("<del>{}</del> → ", event.old_label) if event.old_value else ""
            change = format_html(": {}{}", old, event.new_label)
        what = kinds.get(event.kind, event.kind)
        if event.kind == TicketEvent.Kind.RULE:
            what, change = _("fired"), ""
        items.append(
            format_html(
                '\n        <li><time datetime="{}">{}</time> · '
                "<strong>{}</strong> {}{}</li>\n      ",
                date_format(created, "c"),
                date_format(created, "SHORT_DATETIME_FORMAT"),
                _who(event) or system,
                what,
                change,
            )
        )
    return SafeString("".join(items))
