"""What a delivery says: the JSON schema's objects (version 1, docs/webhooks.md) and
the chat tools' one-line messages, both built when the event happens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from helpdesk.tenancy import tenant_url
from webhooks.models import PING, SCHEMA_VERSION, TRIGGER_FIRED

if TYPE_CHECKING:
    from helpdesk.models import Tenant, User
    from tickets.models import Message, Ticket

# A reply quoted in a chat message is cut here: the link has the rest.
CHAT_EXCERPT_CHARACTERS = 300


def timestamp(moment: datetime | None) -> str | None:
    """UTC, to the millisecond, with a Z: `2026-12-06T20:01:02.123Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"name": user.display_name, "email": user.email}


def agent_link(ticket: Ticket) -> str:
    return tenant_url(
        ticket.tenant, reverse("agent_ticket", args=[ticket.number], urlconf=settings.ROOT_URLCONF)
    )


def ticket_payload(ticket: Ticket) -> dict:
    """The schema's `ticket` object, as the ticket is now (the caller's transaction)."""
    from tickets.models import Priority

    organization = ticket.organization
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": Priority(ticket.priority).slug,
        "channel": ticket.channel,
        "category": ticket.category.name if ticket.category_id else None,
        "group": ticket.group.name if ticket.group_id else None,
        "assignee": person(ticket.assignee) if ticket.assignee_id else None,
        "requester": person(ticket.requester),
        "organization": (
            {"name": organization.name, "plan": organization.plan.name}
            if organization is not None
            else None
        ),
        "tags": list(ticket.tags),
        "created_at": timestamp(ticket.created_at),
        "updated_at": timestamp(ticket.updated_at),
        "url": agent_link(ticket),
    }


def message_payload(message: Message) -> dict:
    return {
        "id": message.pk,
        "body": message.body,
        "is_internal": message.is_internal,
        "channel": message.channel,
        "author": person(message.author) if message.author_id else None,
        "created_at": timestamp(message.created_at),
    }


def envelope(*, desk: Tenant, event_type: str, event_id: str, data: dict, now: datetime) -> dict:
    """The whole JSON body: what happened, when, at which desk, and its data."""
    return {
        "id": event_id,
        "type": event_type,
        "version": SCHEMA_VERSION,
        "created_at": timestamp(now),
        "desk": {"slug": desk.slug, "name": desk.name},
        "data": data,
    }


# -- the chat tools' messages ------------------------------------------------------------------


def chat_text(ticket: Ticket, event_type: str, extra: dict | None = None) -> str:
    """The one-line message a chat tool shows for `event_type` about `ticket`, in the
    desk's default language; `extra` adds what the event carries beyond the ticket (a
    trigger's {"id", "name"} under "trigger", a reply under "message" ...)."""
    data = {"ticket": ticket_payload(ticket), **(extra or {})}
    return render_chat_text(ticket.tenant, event_type, data)


def render_chat_text(desk: Tenant, event_type: str, data: dict) -> str:
    """The message for an event's `data` (the schema's data object), in the desk's
    default language. Every message ends with a link on the desk's host, so a DingTalk
    robot's keyword may be that host name."""
    with translation.override(desk.default_language):
        ticket = data.get("ticket")
        if ticket is None:
            return _ticketless_text(desk, event_type, data)
        text = _ticket_sentence(desk, event_type, data, ticket)
        message = data.get("message")
        if message and not message.get("is_internal") and message.get("body"):
            text = f"{text}\n> {_excerpt(message['body'])}"
        return text


def _ticketless_text(desk: Tenant, event_type: str, data: dict) -> str:
    link = tenant_url(desk, "/agent/")
    if event_type == PING:
        return _("Test message from %(desk)s: this webhook works. %(url)s") % {
            "desk": desk.name,
            "url": link,
        }
    return f"{desk.name}: {event_type} {link}"


def _who(ticket: dict) -> str:
    """The customer's organization, or the customer."""
    if ticket.get("organization"):
        return ticket["organization"]["name"]
    requester = ticket.get("requester") or {}
    return requester.get("name") or requester.get("email") or "?"


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _priority(ticket: dict) -> str:
    from tickets.models import Priority

    try:
        return str(Priority.from_name(ticket["priority"]).label).lower()
    except (KeyError, ValueError):
        return str(ticket.get("priority", ""))


def _ticket_sentence(desk: Tenant, event_type: str, data: dict, ticket: dict) -> str:
    from tickets.models import Priority, Status

    values = {
        "number": ticket["number"],
        "subject": ticket["subject"],
        "url": ticket["url"],
        "who": _who(ticket),
        "priority": _priority(ticket),
    }
    if event_type == "ticket.created":
        return _("New %(priority)s ticket #%(number)s from %(who)s: %(subject)s %(url)s") % values
    if event_type == "ticket.changed":
        changes = []
        for field, change in (data.get("changes") or {}).items():
            if field == "status":
                old, new = _label(Status, change.get("old")), _label(Status, change.get("new"))
                changes.append(f"{_('status')}: {old} → {new}")
            elif field == "priority":
                old, new = _label(Priority, change.get("old")), _label(Priority, change.get("new"))
                changes.append(f"{_('priority')}: {old} → {new}")
            else:
                changes.append(_field_name(field))
        values["changes"] = ", ".join(changes) or "-"
        return _("Ticket #%(number)s changed (%(changes)s): %(subject)s %(url)s") % values
    if event_type in ("ticket.customer_replied", "ticket.agent_replied", "ticket.note_added"):
        author = (data.get("message") or {}).get("author") or {}
        values["author"] = author.get("name") or values["who"]
        if event_type == "ticket.note_added":
            return _("%(author)s added a note to #%(number)s: %(subject)s %(url)s") % values
        return _("%(author)s replied on #%(number)s: %(subject)s %(url)s") % values
    if event_type == "ticket.solved":
        return _("Ticket #%(number)s was solved: %(subject)s %(url)s") % values
    if event_type == "ticket.reopened":
        return _("Ticket #%(number)s was reopened: %(subject)s %(url)s") % values
    if event_type == "ticket.merged":
        values["into"] = (data.get("into_ticket") or {}).get("number", "?")
        return _("Ticket #%(number)s was merged into #%(into)s: %(subject)s %(url)s") % values
    if event_type in ("sla.warning", "sla.breached"):
        return _sla_sentence(desk, event_type, data.get("sla") or {}, values)
    if event_type == "csat.rated":
        from feedback.models import CsatRating

        values["rating"] = _label(CsatRating, (data.get("rating") or {}).get("score"))
        return _("#%(number)s was rated “%(rating)s” by %(who)s: %(subject)s %(url)s") % values
    if event_type == "chat.started":
        return _("New live chat #%(number)s from %(who)s: %(subject)s %(url)s") % values
    if event_type == "chat.ended":
        return _("Live chat #%(number)s ended: %(subject)s %(url)s") % values
    if event_type == TRIGGER_FIRED:
        values["trigger"] = (data.get("trigger") or {}).get("name") or _("Trigger")
        return _("%(trigger)s: #%(number)s %(subject)s (%(priority)s, %(who)s) %(url)s") % values
    values["event"] = event_type
    return _("%(event)s: #%(number)s %(subject)s %(url)s") % values


def _sla_sentence(desk: Tenant, event_type: str, sla: dict, values: dict) -> str:
    from sla.models import Metric

    values["metric"] = _label(Metric, sla.get("metric")).lower()
    due = sla.get("due_at")
    if due:
        moment = datetime.fromisoformat(due.replace("Z", "+00:00")).astimezone(desk.tzinfo)
        values["due"] = formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    else:
        values["due"] = "?"
    if event_type == "sla.warning":
        return (
            _("SLA warning: the %(metric)s of #%(number)s is due %(due)s: %(subject)s %(url)s")
            % values
        )
    return (
        _("SLA missed: the %(metric)s of #%(number)s was due %(due)s: %(subject)s %(url)s") % values
    )


def _field_name(field: str) -> str:
    names = {
        "assignee": _("assignee"),
        "group": _("group"),
        "category": _("category"),
        "tags": _("tags"),
        "subject": _("subject"),
        "channel": _("channel"),
    }
    return str(names.get(field, field))


def _excerpt(body: str) -> str:
    flat = " ".join(body.split())
    if len(flat) <= CHAT_EXCERPT_CHARACTERS:
        return flat
    return flat[: CHAT_EXCERPT_CHARACTERS - 1] + "…"
