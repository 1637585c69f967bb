"""Running triggers and automations (docs/rules.md).

Triggers. Every ticket event of a transaction (created, changed, replied, noted) is
gathered, per ticket, into one outbox job of that transaction (`note_ticket_event`,
an in-transaction subscriber): one request that replies and solves is one update, as
an agent sees it. After commit a worker runs the job (`run_triggers`): the desk's
active triggers are checked in order against the ticket as it is now, the update's
changes (`{field: {"old", "new"}}`, oldest old and newest new) and its kind. A trigger
that matches fires; its changes join the update, and checking starts again from the
top, so a later trigger sees an earlier one's work. Each trigger fires at most once per
update: two triggers that undo each other cannot loop. Their changes are the ticket
services' (audit rows "by trigger …", clocks, events for emails and webhooks), and
happen in the job's transaction, so a worker killed half way leaves nothing half done
and the job runs again from the start.

Automations. Beat runs `automations_run` every minute: each active automation is a
query (its conditions, rules/conditions.py `as_q`) over the desk's tickets, minus
those it already fired on for the current value of its clock (`AutomationFiring`,
unique per rule, ticket and window). Tickets are locked and re-checked in batches, the
firings inserted with ON CONFLICT DO NOTHING, and only the ticket whose firing row was
inserted is acted on: two runs at once, or one run twice, fire once.
"""

from __future__ import annotations

import functools
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from helpdesk.models import Membership, OutboxJob, Role, Tenant
from helpdesk.outbox import outbox_enqueue, outbox_handler
from rules.actions import Step, apply_steps
from rules.conditions import (
    CHANGE_OPS,
    PYTHON_ONLY,
    TIME_FIELDS,
    Actor,
    Facts,
    Update,
    ValueNames,
    as_q,
    holds,
    window_column,
)
from rules.models import AutomationFiring, Rule
from rules.webhooks import call_webhook
from sla.selectors import policy_book
from tickets.events import AgentReplied, CustomerReplied, NoteAdded, TicketChanged, TicketCreated
from tickets.models import Message, Status, Ticket
from tickets.services import changes_by_rule, ticket_record_rule

# -- the rules, compiled and cached ---------------------------------------------------------


@dataclass(frozen=True)
class Check:
    field: str
    op: str
    value: str

    def holds(self, facts: Facts) -> bool:
        return holds(self.field, self.op, self.value, facts)

    @property
    def is_query(self) -> bool:
        return self.op not in CHANGE_OPS and self.field not in PYTHON_ONLY


@dataclass(frozen=True)
class CompiledRule:
    """A rule as the runners read it: conditions that must all hold, conditions of which
    one must (if any), and its steps."""

    pk: int
    name: str
    kind: str
    runs_on: str
    all: tuple[Check, ...]
    any: tuple[Check, ...]
    steps: tuple[Step, ...]

    def runs_for(self, updates: frozenset[str]) -> bool:
        created = Update.CREATED in updates
        if self.runs_on == Rule.RunsOn.CREATED:
            return created
        if self.runs_on == Rule.RunsOn.UPDATED:
            return not created
        return True

    def matches(self, facts: Facts) -> bool:
        return all(c.holds(facts) for c in self.all) and (
            not self.any or any(c.holds(facts) for c in self.any)
        )

    def query(self, now: datetime) -> Q:
        """What of the rule a query can ask (the rest: `python_checks`)."""
        q = Q()
        for check in self.all:
            if check.is_query:
                q &= as_q(check.field, check.op, check.value, now)
        if self.any and all(check.is_query for check in self.any):
            alternatives = Q(pk__in=[])
            for check in self.any:
                alternatives |= as_q(check.field, check.op, check.value, now)
            q &= alternatives
        return q

    def python_checks_hold(self, facts: Facts) -> bool:
        """The conditions a query could not ask, checked on one ticket."""
        if not all(c.holds(facts) for c in self.all if not c.is_query):
            return False
        if self.any and not all(c.is_query for c in self.any):
            return any(c.holds(facts) for c in self.any)
        return True

    @property
    def has_python_checks(self) -> bool:
        return any(not c.is_query for c in (*self.all, *self.any))

    @property
    def window_field(self) -> str | None:
        """The clock an automation's firings are counted against: its first time
        condition (one of "all"; an automation must have one)."""
        return next((c.field for c in self.all if c.field in TIME_FIELDS), None)


# The rules of every desk are read on every ticket event of desks that have some; the
# shared cache (Redis) keeps only a version per desk, changed whenever a rule changes
# (rules/apps.py), and each process keeps the compiled rules of the version it read:
# an event costs one small cache read, not unpickling two hundred rules.
CACHE_SECONDS = 3600
_compiled: dict[tuple[int, str], tuple[str, list[CompiledRule]]] = {}


def _version_key(tenant_id: int) -> str:
    return f"rules:version:v1:{tenant_id}"


def forget_rules(tenant_id: int) -> None:
    cache.delete(_version_key(tenant_id))


def active_rules(tenant_id: int, kind: str) -> list[CompiledRule]:
    """The desk's active rules of `kind` in order (the desk in scope)."""
    key = _version_key(tenant_id)
    version = cache.get(key)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(key, version, CACHE_SECONDS):
            version = cache.get(key) or version
    known = _compiled.get((tenant_id, kind))
    if known is not None and known[0] == version:
        return known[1]
    rules = _load(kind)
    _compiled[(tenant_id, kind)] = (version, rules)
    return rules


def _load(kind: str) -> list[CompiledRule]:
    rows = Rule.objects.filter(kind=kind, is_active=True).prefetch_related("conditions", "actions")
    return [compile_rule(rule) for rule in rows.order_by("position", "pk")]


def compile_rule(rule: Rule) -> CompiledRule:
    conditions = list(rule.conditions.all())
    return CompiledRule(
        pk=rule.pk,
        name=rule.name,
        kind=rule.kind,
        runs_on=rule.runs_on,
        all=tuple(Check(c.field, c.operator, c.value) for c in conditions if c.match == "all"),
        any=tuple(Check(c.field, c.operator, c.value) for c in conditions if c.match == "any"),
        steps=tuple(
            Step(
                kind=a.kind,
                value=a.value,
                subject=a.subject,
                body=a.body,
                endpoint_id=getattr(a, "endpoint_id", None),
            )
            for a in rule.actions.all()
        ),
    )


# -- gathering a transaction's ticket events into one update --------------------------------


@dataclass
class PendingUpdate:
    """What happened to one ticket so far in a transaction (or in a trigger cycle)."""

    ticket_id: int
    origin: str = field(default_factory=lambda: uuid.uuid4().hex)
    updates: list[str] = field(default_factory=list)
    changes: dict = field(default_factory=dict)
    actor_id: int | None = None
    message_ids: list[int] = field(default_factory=list)
    job_id: int | None = None

    def absorb(self, event) -> None:
        update = _update_kind(event)
        if update not in self.updates:
            self.updates.append(update)
        if isinstance(event, TicketChanged):
            for name, change in event.changes.items():
                if name in self.changes:
                    merged = {"old": self.changes[name]["old"], "new": change["new"]}
                    if merged["old"] == merged["new"]:
                        del self.changes[name]  # changed and changed back: no change
                    else:
                        self.changes[name] = merged
                else:
                    self.changes[name] = dict(change)
        message_id = getattr(event, "message_id", None)
        if message_id and message_id not in self.message_ids:
            self.message_ids.append(message_id)

    def payload(self) -> dict:
        return {
            "ticket_id": self.ticket_id,
            "origin": self.origin,
            "updates": self.updates,
            "changes": self.changes,
            "actor_id": self.actor_id,
            "message_ids": self.message_ids,
        }


def _update_kind(event) -> str:
    return {
        TicketCreated: Update.CREATED,
        CustomerReplied: Update.CUSTOMER_REPLY,
        AgentReplied: Update.AGENT_REPLY,
        NoteAdded: Update.NOTE,
    }.get(type(event), Update.FIELD_CHANGE)


# The update a trigger cycle is working on: the changes its own actions make join it
# instead of starting another update (so a trigger cannot wake itself or another twice).
_cycle: ContextVar[PendingUpdate | None] = ContextVar("trigger_cycle", default=None)


def desk_has_triggers(event) -> bool:
    return bool(active_rules(event.tenant_id, Rule.Kind.TRIGGER))


def note_ticket_event(event) -> None:
    """Add a ticket event to its transaction's update of that ticket (in transaction)."""
    cycle = _cycle.get()
    if cycle is not None and cycle.ticket_id == event.ticket_id:
        cycle.absorb(event)
        return
    with connection.cursor() as cursor:
        # The transaction's id: what is pending belongs to this transaction alone (one
        # rolled back leaves entries that can never match again).
        cursor.execute("SELECT pg_current_xact_id()::text")
        xid = cursor.fetchone()[0]
    pending: dict = connection.__dict__.setdefault("_rules_pending", {})
    key = (xid, event.ticket_id)
    update = pending.get(key)
    if update is None:
        for stale in [k for k in pending if k[0] != xid]:
            del pending[stale]
        update = PendingUpdate(ticket_id=event.ticket_id, actor_id=event.actor_id)
        update.absorb(event)
        desk = event.live.get("tenant") or Tenant(pk=event.tenant_id)
        job = outbox_enqueue(tenant=desk, handler=run_triggers, **update.payload())
        update.job_id = job.pk
        pending[key] = update
    else:
        update.absorb(event)
        OutboxJob.objects.filter(pk=update.job_id).update(payload=update.payload())


# -- running triggers -----------------------------------------------------------------------


def _actor_kind(actor_id: int | None) -> str:
    if actor_id is None:
        return Actor.DESK
    staff = Membership.objects.filter(
        user_id=actor_id, role__in=[Role.AGENT, Role.ADMIN], is_active=True
    ).exists()
    return Actor.AGENT if staff else Actor.CUSTOMER


def business_open(ticket: Ticket, now: datetime):
    def is_open() -> bool:
        book = policy_book(ticket.tenant_id)
        return book.schedule(book.policy_for_ticket(ticket)).is_open(now)

    return is_open


def _locked(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("requester", "organization", "assignee", "tenant")
        .filter(pk=ticket_id)
        .first()
    )


@outbox_handler
def run_triggers(
    tenant: Tenant,
    *,
    ticket_id: int,
    origin: str,
    updates: list[str],
    changes: dict,
    actor_id: int | None,
    message_ids: list[int],
) -> list[int]:
    """Check the desk's triggers against one update of a ticket (see the module's
    notes); the ids of those that fired, in order."""
    rules = active_rules(tenant.pk, Rule.Kind.TRIGGER)
    ticket = _locked(ticket_id) if rules else None
    if ticket is None:
        return []
    now = timezone.now()
    bodies = Message.objects.filter(pk__in=message_ids).values_list("body", flat=True)
    text = "\n".join([ticket.subject, *bodies]).lower()
    cycle = PendingUpdate(
        ticket_id=ticket_id,
        origin=origin,
        updates=list(updates),
        changes=dict(changes),
        actor_id=actor_id,
    )
    actor = _actor_kind(actor_id)
    fired: list[int] = []
    token = _cycle.set(cycle)
    try:
        while True:
            facts = Facts(
                ticket=ticket,
                now=now,
                changes=cycle.changes,
                updates=frozenset(cycle.updates),
                actor=actor,
                text=text,
                business_open=business_open(ticket, now),
            )
            rule = next(
                (
                    r
                    for r in rules
                    if r.pk not in fired and r.runs_for(facts.updates) and r.matches(facts)
                ),
                None,
            )
            if rule is None:
                return fired
            fired.append(rule.pk)
            ticket = _fire(rule, ticket, occurrence=f"trigger:{rule.pk}:{origin}")
    finally:
        _cycle.reset(token)


def _fire(rule: CompiledRule, ticket: Ticket, *, occurrence: str, reread: bool = True) -> Ticket:
    with changes_by_rule(rule.kind, rule.name):
        ticket_record_rule(ticket=ticket, kind=rule.kind, name=rule.name)
        webhook = functools.partial(call_webhook, rule)
        ticket = apply_steps(list(rule.steps), ticket, occurrence=occurrence, webhook=webhook)
    # Read again for the next trigger: a note does not change the object it was given.
    return (_locked(ticket.pk) or ticket) if reread else ticket


# -- automations ---------------------------------------------------------------------------

# Tickets claimed per statement, and acted on per job.
CLAIM_BATCH = 500
ACT_BATCH = 50
# One run claims at most this many tickets per automation; the next minute's run
# takes the rest (the firings already made keep them from being done twice).
MOST_PER_RUN = 5000


def automations_run(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Fire the desk's active automations on the tickets they match now; how many firings.

    Set-based: one query per automation finds what matches, the firings are claimed a
    few hundred per statement, and their actions are outbox jobs of the claim's
    transaction (`automation_act`, fifty tickets each), which workers run after commit
    as they run every other side effect of a write.
    """
    now = now or timezone.now()
    rules = active_rules(tenant.pk, Rule.Kind.AUTOMATION)
    return sum(automation_run(rule, tenant=tenant, now=now) for rule in rules)


def automation_matches(rule: CompiledRule, now: datetime):
    """The tickets an automation would fire on now, with their window (`window`)."""
    window = window_column(rule.window_field)
    done = AutomationFiring.objects.filter(
        rule_id=rule.pk, ticket_id=OuterRef("pk"), window=OuterRef("window")
    )
    return (
        Ticket.objects.filter(rule.query(now))
        .exclude(status=Status.CLOSED)
        .annotate(window=window)
        .filter(window__isnull=False)
        .exclude(Exists(done))
    )


def automation_run(rule: CompiledRule, *, tenant: Tenant, now: datetime) -> int:
    if rule.window_field is None:
        return 0  # the editor never saves one; an old row is skipped, never run on every ticket
    matches = automation_matches(rule, now).order_by("pk")
    if rule.has_python_checks:
        # Business hours now: each ticket's policy calendar, read in Python.
        found = [
            (t.pk, t.window)
            for t in matches.select_related("organization")[:MOST_PER_RUN]
            if rule.python_checks_hold(
                Facts(ticket=t, now=now, business_open=business_open(t, now))
            )
        ]
    else:
        found = list(matches.values_list("pk", "window")[:MOST_PER_RUN])
    fired = 0
    for start in range(0, len(found), CLAIM_BATCH):
        with transaction.atomic():
            claimed = _claim(rule, tenant, found[start : start + CLAIM_BATCH], now)
            for first in range(0, len(claimed), ACT_BATCH):
                firings = [
                    [pk, window.isoformat()] for pk, window in claimed[first : first + ACT_BATCH]
                ]
                outbox_enqueue(
                    tenant=tenant, handler=automation_act, rule_id=rule.pk, firings=firings
                )
        fired += len(claimed)
    return fired


def _claim(rule: CompiledRule, tenant: Tenant, found: list, now: datetime) -> list:
    """Insert the firings of (ticket id, window) pairs; those this call inserted (a run
    beside it, or before it, has the others)."""
    if not found:
        return []
    table = AutomationFiring._meta.db_table
    rows = [(tenant.pk, rule.pk, pk, window, now) for pk, window in found]
    placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} (tenant_id, rule_id, ticket_id, "window", fired_at) '  # noqa: S608 - our table
            f'VALUES {placeholders} ON CONFLICT DO NOTHING RETURNING ticket_id, "window"',
            [value for row in rows for value in row],
        )
        return sorted(cursor.fetchall())


@outbox_handler
def automation_act(tenant: Tenant, *, rule_id: int, firings: list[list]) -> int:
    """Do an automation's actions on the tickets it fired on (claimed by the run); how
    many it acted on. A ticket closed meanwhile is left alone; a rule switched off or
    deleted since acts no more."""
    rule = next((r for r in active_rules(tenant.pk, Rule.Kind.AUTOMATION) if r.pk == rule_id), None)
    if rule is None:
        return 0
    # The job's tickets locked and read in one query, in id order (as every batch locks).
    tickets = {
        t.pk: t
        for t in Ticket.objects.select_for_update(of=("self",))
        .select_related("requester", "organization", "assignee", "tenant")
        .filter(pk__in=[ticket_id for ticket_id, _window in firings])
        .order_by("pk")
    }
    acted = 0
    for ticket_id, window in firings:
        ticket = tickets.get(ticket_id)
        if ticket is None or ticket.status == Status.CLOSED:
            continue
        occurrence = f"automation:{rule.pk}:{ticket_id}:{window}"
        _fire(rule, ticket, occurrence=occurrence, reread=False)
        acted += 1
    return acted


def tenants_with_automations() -> list[int]:
    with scopes_disabled():
        return list(
            Rule.objects.filter(kind=Rule.Kind.AUTOMATION, is_active=True)
            .values_list("tenant_id", flat=True)
            .distinct()
        )


# -- the editor's preview --------------------------------------------------------------------

PREVIEW_DAYS = 30


@dataclass
class Preview:
    count: int
    tickets: list[Ticket]
    # Conditions only an update can tell (what changed, who, business hours then): the
    # preview cannot check them over past tickets.
    unchecked: list[str]


def rule_preview(rule: Rule, *, now: datetime | None = None, shown: int = 50) -> Preview:
    """The tickets updated in the last 30 days that the rule's conditions match now."""
    now = now or timezone.now()
    compiled = compile_rule(rule)
    query = compiled.query(now)
    tickets = Ticket.objects.filter(query, updated_at__gte=now - timedelta(days=PREVIEW_DAYS))
    names = ValueNames()
    unchecked = [
        names.condition(c.field, c.operator, c.value)
        for c in rule.conditions.all()
        if not Check(c.field, c.operator, c.value).is_query
    ]
    ordered = tickets.select_related("requester", "assignee").order_by("-updated_at", "-pk")
    return Preview(count=tickets.count(), tickets=list(ordered[:shown]), unchecked=unchecked)
