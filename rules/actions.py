"""What a rule does when it fires: field changes through the ticket services (so each
gets its audit row, clocks and events), notes, emails and webhook calls.

An action's value is typed in words and stored as the ticket stores it, as conditions'
are (rules/conditions.py); its text (notes, emails) is filled with the macros' safe
placeholders (tickets.rendering.fill_placeholders), never the template engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from helpdesk.models import Membership, Role, User
from rules.conditions import Field, ValueNames, parse_value
from rules.models import Action
from tickets.models import Category, Group, GroupMember, Status, Ticket
from tickets.notifications import rule_message
from tickets.rendering import fill_placeholders
from tickets.services import (
    clean_tag,
    ticket_add_desk_note,
    ticket_placeholders,
    ticket_update,
)

# The field an action sets, read and validated as a condition on it is.
SETS = {
    Action.Kind.SET_STATUS: Field.STATUS,
    Action.Kind.SET_PRIORITY: Field.PRIORITY,
    Action.Kind.SET_CATEGORY: Field.CATEGORY,
    Action.Kind.SET_GROUP: Field.GROUP,
    Action.Kind.SET_ASSIGNEE: Field.ASSIGNEE,
}
TAGGING = (Action.Kind.ADD_TAGS, Action.Kind.REMOVE_TAGS)
EMAILS = (Action.Kind.EMAIL_REQUESTER, Action.Kind.EMAIL_ASSIGNEE, Action.Kind.EMAIL_GROUP)
# "Set assignee" to nobody, or "set group" to none.
NOBODY = ("nobody", "none", "-", "无", "无人")


@dataclass(frozen=True)
class Step:
    """An action as the runner reads it (cached with its rule)."""

    kind: str
    value: str = ""
    subject: str = ""
    body: str = ""
    endpoint_id: int | None = None


def clean_action(kind: str, value: str, subject: str, body: str, endpoint=None) -> str:
    """The stored value of an action (in the desk's scope), or a ValidationError in words."""
    value = (value or "").strip()
    if kind == Action.Kind.CALL_WEBHOOK and endpoint is None:
        raise ValidationError(_("Choose the webhook to call."))
    if kind in SETS:
        clearable = (Action.Kind.SET_ASSIGNEE, Action.Kind.SET_GROUP, Action.Kind.SET_CATEGORY)
        if kind in clearable and value.casefold() in NOBODY:
            return ""
        if not value:
            raise ValidationError(_("Say what to set it to."))
        return parse_value(SETS[kind], "is", value)
    if kind in TAGGING:
        tags = [clean_tag(tag) for tag in value.split(",") if clean_tag(tag)]
        if not tags:
            raise ValidationError(_("Give one or more tags, separated by commas."))
        return ", ".join(tags)
    if kind == Action.Kind.ADD_NOTE and not (body or "").strip():
        raise ValidationError(_("Write the note's text."))
    if kind in EMAILS and not ((subject or "").strip() and (body or "").strip()):
        raise ValidationError(_("An email needs a subject and a text."))
    return ""


def display_action_value(kind: str, value: str, names: ValueNames | None = None) -> str:
    if kind in SETS:
        return (names or ValueNames())(SETS[kind], value)
    return value


def field_changes(steps: list[Step], ticket: Ticket) -> dict:
    """The ticket_update arguments of a rule's field actions, against the ticket now."""
    changes: dict = {}
    tags = list(ticket.tags)
    for step in steps:
        if step.kind == Action.Kind.SET_STATUS:
            changes["status"] = step.value
        elif step.kind == Action.Kind.SET_PRIORITY:
            changes["priority"] = int(step.value)
        elif step.kind == Action.Kind.SET_CATEGORY:
            changes["category"] = (
                Category.objects.filter(pk=step.value).first() if step.value else None
            )
        elif step.kind == Action.Kind.SET_GROUP:
            changes["group"] = Group.objects.filter(pk=step.value).first() if step.value else None
        elif step.kind == Action.Kind.SET_ASSIGNEE:
            changes["assignee"] = User.objects.filter(pk=step.value).first() if step.value else None
        elif step.kind == Action.Kind.ADD_TAGS:
            tags += [t.strip() for t in step.value.split(",") if t.strip() not in tags]
        elif step.kind == Action.Kind.REMOVE_TAGS:
            gone = {t.strip() for t in step.value.split(",")}
            tags = [t for t in tags if t not in gone]
    if tags != list(ticket.tags):
        changes["tags"] = tags
    if changes.get("status") == Status.CLOSED and ticket.status == Status.CLOSED:
        changes.pop("status")
    return changes


def apply_steps(steps: list[Step], ticket: Ticket, *, occurrence: str, webhook=None) -> Ticket:
    """Do a rule's actions on a locked ticket; field changes first, in one update, so
    the notes and emails after them read the ticket as the rule left it.

    `occurrence` names this firing (rule, ticket, originating change): emails and
    webhook deliveries keyed by it are queued once however often a job runs.
    """
    changes = field_changes(steps, ticket)
    if changes and ticket.status != Status.CLOSED:
        ticket = ticket_update(ticket=ticket, actor=None, **changes)
    values = None
    for step in steps:
        if step.kind not in (Action.Kind.ADD_NOTE, *EMAILS, Action.Kind.CALL_WEBHOOK):
            continue
        if values is None:
            values = ticket_placeholders(ticket, ticket.assignee)
        if step.kind == Action.Kind.ADD_NOTE:
            ticket_add_desk_note(ticket=ticket, body=fill_placeholders(step.body, values))
        elif step.kind in EMAILS:
            recipients = _recipients(step.kind, ticket)
            if recipients:
                rule_message(
                    ticket,
                    recipients,
                    subject=fill_placeholders(step.subject, values),
                    body=fill_placeholders(step.body, values),
                    occurrence=f"{occurrence}:{steps.index(step)}",
                )
        elif webhook is not None and step.endpoint_id is not None:
            webhook(step.endpoint_id, ticket, f"{occurrence}:{steps.index(step)}")
    return ticket


def _recipients(kind: str, ticket: Ticket) -> list[User]:
    if kind == Action.Kind.EMAIL_REQUESTER:
        return [ticket.requester]
    if kind == Action.Kind.EMAIL_ASSIGNEE:
        return [ticket.assignee] if ticket.assignee_id else []
    if ticket.group_id is None:
        return []
    # Members who are still the desk's staff: someone who left hears nothing more.
    staff = Membership.objects.filter(is_active=True, role__in=[Role.AGENT, Role.ADMIN])
    members = GroupMember.objects.filter(
        group_id=ticket.group_id, agent__is_active=True, agent__in=staff.values("user")
    )
    return [member.agent for member in members.select_related("agent")]
