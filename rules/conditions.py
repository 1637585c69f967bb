"""What a rule's conditions can ask, how their values are read, and how they are checked.

A condition is (field, operator, value): "priority is greater than High", "tags contain
any of vip, enterprise", "hours since pending greater than 48". Values are typed by
admins in words (a category's name, an agent's email, "Urgent") and stored as what
the ticket stores (the category's id, the priority's number), so a rename does not
break a rule; `ValueNames` turns them back into words for the editor.

Two readers, one meaning:
- `holds(condition, facts)` checks one ticket in Python: triggers, on every change,
  against their rules cached in memory, with no query of their own;
- `as_q(condition, now)` turns the same condition into a query: automations over every
  ticket of the desk, and the admin's "what would this rule match" preview.
tests/rules/test_conditions.py checks that both agree for every field and operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.models import Membership, Role
from plans.models import Organization, Plan
from tickets.models import Category, Channel, Group, Message, Priority, Status, Ticket
from tickets.services import clean_tag


class Field(models.TextChoices):
    STATUS = "status", gettext_lazy("Status")
    PRIORITY = "priority", gettext_lazy("Priority")
    CATEGORY = "category", gettext_lazy("Category")
    GROUP = "group", gettext_lazy("Group")
    ASSIGNEE = "assignee", gettext_lazy("Assignee")
    CHANNEL = "channel", gettext_lazy("Channel")
    ORGANIZATION = "organization", gettext_lazy("Organization")
    PLAN = "plan", gettext_lazy("Plan")
    REQUESTER = "requester", gettext_lazy("Requester's email")
    TAGS = "tags", gettext_lazy("Tags")
    TEXT = "text", gettext_lazy("Subject or message")
    BUSINESS_HOURS = "business_hours", gettext_lazy("Business hours")
    # Triggers only: what the change that woke the trigger was, and who made it.
    UPDATE = "update", gettext_lazy("The update")
    ACTOR = "actor", gettext_lazy("Updated by")
    # Automations only: time passed, read when they run.
    HOURS_SINCE_CREATED = "hours_since_created", gettext_lazy("Hours since created")
    HOURS_SINCE_UPDATED = "hours_since_updated", gettext_lazy("Hours since updated")
    HOURS_SINCE_PENDING = "hours_since_pending", gettext_lazy("Hours since pending")
    HOURS_SINCE_SOLVED = "hours_since_solved", gettext_lazy("Hours since solved")
    SLA_DUE_IN = "sla_due_in", gettext_lazy("Minutes until the SLA is due")


class Op(models.TextChoices):
    IS = "is", gettext_lazy("is")
    IS_NOT = "is_not", gettext_lazy("is not")
    LESS_THAN = "less_than", gettext_lazy("less than")
    GREATER_THAN = "greater_than", gettext_lazy("greater than")
    CONTAINS = "contains", gettext_lazy("contains any of")
    NOT_CONTAINS = "not_contains", gettext_lazy("contains none of")
    IS_SET = "is_set", gettext_lazy("is set")
    IS_NOT_SET = "is_not_set", gettext_lazy("is not set")
    CHANGED = "changed", gettext_lazy("changed")
    NOT_CHANGED = "not_changed", gettext_lazy("did not change")
    CHANGED_TO = "changed_to", gettext_lazy("changed to")
    CHANGED_FROM = "changed_from", gettext_lazy("changed from")


class Update(models.TextChoices):
    CREATED = "created", gettext_lazy("created the ticket")
    CUSTOMER_REPLY = "customer_reply", gettext_lazy("is a customer's reply")
    AGENT_REPLY = "agent_reply", gettext_lazy("is an agent's reply")
    NOTE = "note", gettext_lazy("is an internal note")
    FIELD_CHANGE = "field_change", gettext_lazy("changed a field")


class Actor(models.TextChoices):
    CUSTOMER = "customer", gettext_lazy("a customer")
    AGENT = "agent", gettext_lazy("an agent")
    DESK = "desk", gettext_lazy("the desk (a rule, routing, a sweep)")


class BusinessHours(models.TextChoices):
    INSIDE = "inside", gettext_lazy("inside")
    OUTSIDE = "outside", gettext_lazy("outside")


# -- the facts a trigger reads ---------------------------------------------------------


@dataclass
class Facts:
    """A ticket as a trigger sees it: its fields now, what the update changed
    (`{field: {"old", "new"}}` in stored values), what kind of update it was, who
    made it, and its words (subject and the update's messages, lowercased)."""

    ticket: Ticket
    now: datetime
    changes: dict = field(default_factory=dict)
    updates: frozenset[str] = frozenset()
    actor: str = Actor.DESK
    text: str = ""
    # Whether the ticket's SLA calendar is open now: asked only by a condition on it.
    business_open: Callable[[], bool] = lambda: True


# -- the catalogue ------------------------------------------------------------------------

FIELD_OPS = (Op.IS, Op.IS_NOT, Op.IS_SET, Op.IS_NOT_SET)
CHANGE_OPS = (Op.CHANGED, Op.NOT_CHANGED, Op.CHANGED_TO, Op.CHANGED_FROM)
WORD_OPS = (Op.CONTAINS, Op.NOT_CONTAINS)
TIME_OPS = (Op.GREATER_THAN, Op.LESS_THAN)


@dataclass(frozen=True)
class Spec:
    operators: tuple[str, ...]
    triggers: bool = True
    automations: bool = True
    # Ops that take no value (is set, changed).
    valueless: tuple[str, ...] = (Op.IS_SET, Op.IS_NOT_SET, Op.CHANGED, Op.NOT_CHANGED)


SPECS: dict[str, Spec] = {
    Field.STATUS: Spec((Op.IS, Op.IS_NOT, *CHANGE_OPS)),
    Field.PRIORITY: Spec((Op.IS, Op.IS_NOT, Op.LESS_THAN, Op.GREATER_THAN, *CHANGE_OPS)),
    Field.CATEGORY: Spec((*FIELD_OPS, *CHANGE_OPS)),
    Field.GROUP: Spec((*FIELD_OPS, *CHANGE_OPS)),
    Field.ASSIGNEE: Spec((*FIELD_OPS, *CHANGE_OPS)),
    Field.CHANNEL: Spec((Op.IS, Op.IS_NOT)),
    Field.ORGANIZATION: Spec(FIELD_OPS),
    Field.PLAN: Spec((Op.IS, Op.IS_NOT)),
    Field.REQUESTER: Spec((Op.IS, Op.IS_NOT, *WORD_OPS)),
    Field.TAGS: Spec((*WORD_OPS, Op.CHANGED)),
    Field.TEXT: Spec(WORD_OPS),
    Field.BUSINESS_HOURS: Spec((Op.IS,)),
    Field.UPDATE: Spec((Op.IS, Op.IS_NOT), automations=False),
    Field.ACTOR: Spec((Op.IS, Op.IS_NOT), automations=False),
    Field.HOURS_SINCE_CREATED: Spec(TIME_OPS, triggers=False),
    Field.HOURS_SINCE_UPDATED: Spec(TIME_OPS, triggers=False),
    Field.HOURS_SINCE_PENDING: Spec(TIME_OPS, triggers=False),
    Field.HOURS_SINCE_SOLVED: Spec(TIME_OPS, triggers=False),
    Field.SLA_DUE_IN: Spec((Op.LESS_THAN,), triggers=False),
}

# An automation fires once per ticket for each value of the clock its first time
# condition reads (see rules/services.py): a ticket pending again is a new window.
TIME_FIELDS = {
    Field.HOURS_SINCE_CREATED: "created_at",
    Field.HOURS_SINCE_UPDATED: "updated_at",
    Field.HOURS_SINCE_PENDING: "status_changed_at",
    Field.HOURS_SINCE_SOLVED: "solved_at",
    Field.SLA_DUE_IN: "sla_due_at",
}
# The status a clock belongs to: "hours since pending" is about pending tickets.
TIME_FIELD_STATUS = {
    Field.HOURS_SINCE_PENDING: (Status.PENDING,),
    Field.HOURS_SINCE_SOLVED: (Status.SOLVED,),
}


def fields_for(kind: str) -> list[tuple[str, str]]:
    """The (value, label) choices of fields a rule of `kind` may ask about."""
    wanted = "triggers" if kind == "trigger" else "automations"
    return [(f.value, f.label) for f in Field if getattr(SPECS[f], wanted)]


def operators_for(field_name: str, kind: str) -> tuple[str, ...]:
    """What a rule of `kind` may ask of a field: changes are a trigger's to see."""
    operators = SPECS[field_name].operators
    if kind == "trigger":
        return operators
    return tuple(op for op in operators if op not in CHANGE_OPS)


def window_column(field_name: str) -> models.Expression | str:
    if field_name == Field.HOURS_SINCE_PENDING:
        # Tickets pending since before the column was recorded count from their update.
        return Coalesce("status_changed_at", "updated_at")
    return F(TIME_FIELDS[field_name])


# -- values: words in, stored values out, and back ---------------------------------------


def _words(text: str) -> list[str]:
    return [w.strip().lower() for w in text.split(",") if w.strip()]


def _choice(enum: type[models.Choices], text: str, what: str) -> str:
    """A choice typed as its code or its label, in any of the site's languages."""
    wanted = text.strip().casefold()
    for value, label in enum.choices:
        names = {str(value).casefold()}
        for code in ("en", "zh-hans"):
            with translation.override(code):
                names.add(str(label).casefold())
        if wanted in names:
            return str(value)
    labels = ", ".join(str(label) for _value, label in enum.choices)
    raise ValidationError(
        _("“%(text)s” is not a %(what)s. Use one of: %(labels)s.")
        % {"text": text, "what": what, "labels": labels}
    )


def _named(queryset, text: str, what: str) -> str:
    """A row of the desk named `text` (in either language), as its id."""
    wanted = text.strip().casefold()
    rows = list(queryset)
    for row in rows:
        names = {str(getattr(row, "name", "")).casefold()}
        names.add(str(getattr(row, "name_zh_hans", "") or "").casefold())
        if wanted in names - {""}:
            return str(row.pk)
    available = ", ".join(sorted(str(row) for row in rows)) or _("none yet")
    raise ValidationError(
        _("This desk has no %(what)s called “%(text)s”. Its %(what)s: %(available)s.")
        % {"what": what, "text": text, "available": available}
    )


def _agent(text: str) -> str:
    email = text.strip()
    match = (
        Membership.objects.filter(
            user__email__iexact=email, role__in=[Role.AGENT, Role.ADMIN], is_active=True
        )
        .values_list("user_id", flat=True)
        .first()
    )
    if match is None:
        raise ValidationError(
            _("“%(text)s” is not the email of one of this desk's agents.") % {"text": text}
        )
    return str(match)


def parse_value(field_name: str, op: str, text: str) -> str:
    """The stored value of what an admin typed (in the desk's scope), or a
    ValidationError that says what is wrong in words."""
    spec = SPECS[field_name]
    if op in spec.valueless:
        return ""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Give a value to compare with."))
    if field_name in TIME_FIELDS:
        try:
            number = int(text)
        except ValueError:
            number = -1
        if not 0 <= number <= 100_000:
            raise ValidationError(_("Give a whole number of hours or minutes, 0 or more."))
        return str(number)
    if field_name == Field.STATUS:
        return _choice(Status, text, _("status"))
    if field_name == Field.PRIORITY:
        return _choice(Priority, text, _("priority"))
    if field_name == Field.CHANNEL:
        return _choice(Channel, text, _("channel"))
    if field_name == Field.UPDATE:
        return _choice(Update, text, _("kind of update"))
    if field_name == Field.ACTOR:
        return _choice(Actor, text, _("kind of person"))
    if field_name == Field.BUSINESS_HOURS:
        return _choice(BusinessHours, text, _("choice of inside or outside"))
    if field_name == Field.CATEGORY:
        return _named(Category.objects.all(), text, _("category"))
    if field_name == Field.GROUP:
        return _named(Group.objects.all(), text, _("group"))
    if field_name == Field.ORGANIZATION:
        return _named(Organization.objects.all(), text, _("organization"))
    if field_name == Field.PLAN:
        return _named(Plan.objects.all(), text, _("plan"))
    if field_name == Field.ASSIGNEE:
        return _agent(text)
    words = _words(text)
    if field_name == Field.TAGS:
        words = [clean_tag(word) for word in words]  # as tickets store them
    if not words:
        raise ValidationError(_("Give a value to compare with."))
    return ", ".join(word[:100] for word in words)


CHOICES_BY_FIELD = {
    Field.STATUS: Status,
    Field.PRIORITY: Priority,
    Field.CHANNEL: Channel,
    Field.UPDATE: Update,
    Field.ACTOR: Actor,
    Field.BUSINESS_HOURS: BusinessHours,
}
ROWS_BY_FIELD = {
    Field.CATEGORY: Category,
    Field.GROUP: Group,
    Field.ORGANIZATION: Organization,
    Field.PLAN: Plan,
}


class ValueNames:
    """Stored values in words (a deleted row shows as such): each kind of row is read
    once however many conditions name one, so a list of rules costs a query per kind."""

    def __init__(self) -> None:
        self._names: dict[object, dict[str, str]] = {}

    def __call__(self, field_name: str, value: str) -> str:
        if not value:
            return ""
        if field_name in CHOICES_BY_FIELD:
            labels = {str(v): str(label) for v, label in CHOICES_BY_FIELD[field_name].choices}
            return labels.get(value, value)
        if field_name in ROWS_BY_FIELD:
            model = ROWS_BY_FIELD[field_name]
            if model not in self._names:
                self._names[model] = {
                    str(pk): str(name) for pk, name in model.objects.values_list("pk", "name")
                }
            return self._names[model].get(value, _("(deleted)"))
        if field_name == Field.ASSIGNEE:
            from helpdesk.models import User

            emails = self._names.setdefault(User, {})
            if value not in emails:
                found = User.objects.filter(pk=value).values_list("email", flat=True).first()
                emails[value] = found or _("(deleted)")
            return emails[value]
        return value

    def condition(self, field_name: str, op: str, value: str) -> str:
        """“Category is Billing”: a condition in words."""
        words = self(field_name, value)
        return " ".join(
            str(part) for part in (Field(field_name).label, Op(op).label, words) if part
        )


def display_value(field_name: str, value: str) -> str:
    """A stored value in words, for the editor."""
    return ValueNames()(field_name, value)


# -- checking one ticket (triggers) ------------------------------------------------------


def _current(field_name: str, ticket: Ticket):
    """The ticket's stored value for a field, in the form conditions store."""
    if field_name == Field.PLAN:
        return ticket.organization.plan_id if ticket.organization_id else None
    if field_name == Field.REQUESTER:
        return ticket.requester.email.lower()
    attribute = {
        Field.CATEGORY: "category_id",
        Field.GROUP: "group_id",
        Field.ASSIGNEE: "assignee_id",
        Field.ORGANIZATION: "organization_id",
    }.get(field_name, field_name)
    return getattr(ticket, attribute)


def _as_text(value) -> str | None:
    return None if value is None else str(value)


def _importance(priority) -> int:
    # Stored as 1 (urgent) .. 4 (low); "greater than High" means more important.
    return -int(priority)


def _hours_since(facts: Facts, field_name: str) -> float | None:
    ticket = facts.ticket
    statuses = TIME_FIELD_STATUS.get(field_name)
    if statuses and ticket.status not in statuses:
        return None
    at = getattr(ticket, TIME_FIELDS[field_name])
    if field_name == Field.HOURS_SINCE_PENDING:
        at = at or ticket.updated_at
    if at is None:
        return None
    return (facts.now - at).total_seconds() / 3600


def holds(field_name: str, op: str, value: str, facts: Facts) -> bool:
    """Does the condition hold for the ticket in `facts`?"""
    ticket = facts.ticket
    if op in CHANGE_OPS:
        change = facts.changes.get(field_name)
        if op == Op.CHANGED:
            return change is not None
        if op == Op.NOT_CHANGED:
            return change is None
        if change is None:
            return False
        side = change["new"] if op == Op.CHANGED_TO else change["old"]
        return _as_text(side) == value
    if field_name == Field.UPDATE:
        return (value in facts.updates) == (op == Op.IS)
    if field_name == Field.ACTOR:
        return (facts.actor == value) == (op == Op.IS)
    if field_name == Field.BUSINESS_HOURS:
        return facts.business_open() == (value == BusinessHours.INSIDE)
    if field_name in TIME_FIELDS:
        if field_name == Field.SLA_DUE_IN:
            due = ticket.sla_due_at
            return due is not None and due <= facts.now + timedelta(minutes=int(value))
        hours = _hours_since(facts, field_name)
        if hours is None:
            return False
        return hours >= int(value) if op == Op.GREATER_THAN else hours < int(value)
    if op in WORD_OPS:
        words = _words(value)
        if field_name == Field.TAGS:
            found = bool(set(words) & {tag.lower() for tag in ticket.tags})
        elif field_name == Field.TEXT:
            found = any(word in facts.text for word in words)
        else:
            found = any(word in _current(field_name, ticket) for word in words)
        return found == (op == Op.CONTAINS)
    current = _current(field_name, ticket)
    if op == Op.IS_SET:
        return current is not None
    if op == Op.IS_NOT_SET:
        return current is None
    if op in (Op.LESS_THAN, Op.GREATER_THAN):  # priority
        if op == Op.GREATER_THAN:
            return _importance(current) > _importance(value)
        return _importance(current) < _importance(value)
    equal = _as_text(current) == value
    return equal if op == Op.IS else not equal


# -- the same conditions as a query (automations, the preview) -------------------------


# Fields a query cannot ask; a rule with them is checked in Python after its query.
PYTHON_ONLY = {Field.BUSINESS_HOURS, Field.UPDATE, Field.ACTOR}


def as_q(field_name: str, op: str, value: str, now: datetime) -> Q:
    """The condition as a filter on tickets, meaning what `holds` means.

    Raises ValueError for what only an update can tell (changes, the update's kind and
    author, business hours now): callers check those in Python or leave them out."""
    if op in CHANGE_OPS or field_name in PYTHON_ONLY:
        raise ValueError(f"{field_name} {op} is not a query")
    if field_name in TIME_FIELDS:
        if field_name == Field.SLA_DUE_IN:
            return Q(sla_due_at__lte=now + timedelta(minutes=int(value)))
        cutoff = now - timedelta(hours=int(value))
        column = TIME_FIELDS[field_name]
        statuses = TIME_FIELD_STATUS.get(field_name)
        q = Q(status__in=statuses) if statuses else Q()
        if field_name == Field.HOURS_SINCE_PENDING:
            # Pending since before the column was recorded: counted from the update.
            recorded = Q(status_changed_at__isnull=False) & Q(**_time_lookup(column, op, cutoff))
            unrecorded = Q(status_changed_at__isnull=True) & Q(
                **_time_lookup("updated_at", op, cutoff)
            )
            return q & (recorded | unrecorded)
        return q & Q(**_time_lookup(column, op, cutoff))
    if op in WORD_OPS:
        words = _words(value)
        found = Q(pk__in=[])
        for word in words:
            if field_name == Field.TAGS:
                found |= Q(tags__contains=[word])
            elif field_name == Field.TEXT:
                found |= Q(subject__icontains=word) | Exists(
                    Message.objects.filter(ticket=OuterRef("pk"), body__icontains=word)
                )
            else:
                found |= Q(requester__email__icontains=word)
        return found if op == Op.CONTAINS else ~found
    column = {
        Field.CATEGORY: "category_id",
        Field.GROUP: "group_id",
        Field.ASSIGNEE: "assignee_id",
        Field.ORGANIZATION: "organization_id",
        Field.PLAN: "organization__plan_id",
        Field.REQUESTER: "requester__email__iexact",
    }.get(field_name, field_name)
    if op == Op.IS_SET:
        return Q(**{f"{column}__isnull": False})
    if op == Op.IS_NOT_SET:
        return Q(**{f"{column}__isnull": True})
    if op in (Op.LESS_THAN, Op.GREATER_THAN):  # priority: a smaller number is more urgent
        lookup = "priority__lt" if op == Op.GREATER_THAN else "priority__gt"
        return Q(**{lookup: int(value)})
    typed = int(value) if field_name == Field.PRIORITY else value
    if op == Op.IS:
        return Q(**{column: typed})
    # "is not" also matches an empty field, as in Python.
    if column.endswith("_id") or field_name == Field.PLAN:
        return ~Q(**{column: typed}) | Q(**{f"{column}__isnull": True})
    return ~Q(**{column: typed})


def _time_lookup(column: str, op: str, cutoff: datetime) -> dict:
    # "more than N hours since" = at or before the cutoff.
    return {f"{column}__lte" if op == Op.GREATER_THAN else f"{column}__gt": cutoff}
