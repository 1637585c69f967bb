"""Domain events: a service says what happened; whoever cares subscribes.

A service publishes one event per change, inside its transaction:

    events.publish(TicketSolved(tenant_id=t.tenant_id, ticket_id=t.pk, ...), ticket=t)

and never imports who reacts. Subscribers live in each app's `subscribers.py` (found
when Django starts, see HelpdeskConfig.ready), take the event, and say when they run:

- `IN_TRANSACTION`: now, inside the publisher's transaction, with the live objects it
  passed (`event.live`). Only for what must commit or roll back with the change (a
  CSAT survey planned with the solve that asks for it). An error here undoes the change.
- `WORKER` (the default): after commit, in a worker. Publishing stores one outbox row
  for the event in the publisher's transaction (helpdesk/outbox.py), so a subscriber
  runs even if the broker or the process dies; each runs in its own savepoint, and
  one that raises is retried alone, with the outbox's back-off, without undoing the
  change or its neighbours' work. A subscriber that cares for some of an event's
  occurrences says which (`only_if`): an event none wants stores no row at all.
- `ON_COMMIT`: right after commit, in the publishing process (a wake-up, a cache to
  drop): best effort, errors are logged. Nothing that must happen goes here.

An event is a frozen dataclass of plain values (ids, codes, text) so it can be stored
and read back in the worker; `live` carries the publisher's objects to in-transaction
subscribers and is never stored. Each event has an `id`, which subscribers use to act
once per event however often they run (an email's dedupe key, a webhook's delivery id).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django.db import transaction

from helpdesk.models import Tenant
from helpdesk.outbox import outbox_enqueue, outbox_handler

logger = logging.getLogger(__name__)

IN_TRANSACTION = "in_transaction"
ON_COMMIT = "on_commit"
WORKER = "worker"
PHASES = (IN_TRANSACTION, ON_COMMIT, WORKER)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """What happened, in plain values. Subclasses are declared with @domain_event."""

    name: ClassVar[str] = ""
    tenant_id: int
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    live: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def payload(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "live"}


E = TypeVar("E", bound=type[DomainEvent])
_events: dict[str, type[DomainEvent]] = {}
Subscriber = Callable[[Any], Any]
_subscribers: dict[str, dict[str, list[Subscriber]]] = defaultdict(lambda: defaultdict(list))
_by_name: dict[str, Subscriber] = {}
_only_if: dict[str, Callable[[Any], bool]] = {}


def domain_event(name: str) -> Callable[[E], E]:
    """Declare an event class: `@domain_event("ticket.solved")` over a class of fields."""

    def declare(cls: E) -> E:
        if name in _events and _events[name].__qualname__ != cls.__qualname__:
            raise ValueError(f"Two events are called {name}")
        cls = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        cls.name = name
        _events[name] = cls
        return cls

    return declare


def event_named(name: str) -> type[DomainEvent]:
    return _events[name]


def subscriber_name(function: Subscriber) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def subscribe(
    *event_classes: type[DomainEvent],
    phase: str = WORKER,
    only_if: Callable[[Any], bool] | None = None,
):
    """Declare `function(event)` a subscriber of these events, run in `phase`; with
    `only_if(event)`, only for the events it accepts (decided as they are published)."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}")

    def register(function: Subscriber) -> Subscriber:
        name = subscriber_name(function)
        if only_if is None:
            _only_if.pop(name, None)
        else:
            _only_if[name] = only_if
        for event_class in event_classes:
            listeners = _subscribers[event_class.name][phase]
            # A module imported twice (tests reloading it) replaces, never doubles.
            listeners[:] = [f for f in listeners if subscriber_name(f) != name]
            listeners.append(function)
        _by_name[name] = function
        return function

    return register


def subscribers_of(event_class: type[DomainEvent], phase: str) -> list[str]:
    """Names of the subscribers of an event in a phase, in the order they subscribed."""
    return [subscriber_name(f) for f in _subscribers[event_class.name][phase]]


def publish(event: DomainEvent, **live: Any) -> DomainEvent:
    """Tell the subscribers that `event` happened (see the module's notes).

    `live` objects (the ticket being changed, ...) reach in-transaction subscribers only.
    """
    if live:
        event.live.update(live)
    listeners = _subscribers.get(event.name, {})
    for function in _wanting(listeners.get(IN_TRANSACTION, ()), event):
        function(event)
    workers = [subscriber_name(f) for f in _wanting(listeners.get(WORKER, ()), event)]
    if workers:
        # The row names its desk; the publisher's Tenant object is not needed for it.
        desk = event.live.get("tenant") or Tenant(pk=event.tenant_id)
        outbox_enqueue(
            tenant=desk, handler=deliver_event, event=event.name, data=event.payload(), only=workers
        )
    for function in _wanting(listeners.get(ON_COMMIT, ()), event):
        transaction.on_commit(functools.partial(_after_commit, function, event))
    return event


def _wanting(functions, event: DomainEvent) -> list[Subscriber]:
    wanted = []
    for function in functions:
        condition = _only_if.get(subscriber_name(function))
        if condition is None or condition(event):
            wanted.append(function)
    return wanted


def _after_commit(function: Subscriber, event: DomainEvent) -> None:
    try:
        function(event)
    except Exception:
        logger.exception("Subscriber %s of %s failed", subscriber_name(function), event.name)


@outbox_handler
def deliver_event(tenant: Tenant, *, event: str, data: dict, only: list[str] | None = None) -> int:
    """Run the worker subscribers that wanted the event when it was published (`only`;
    all of them if the row does not say); how many ran.

    Alone, a subscriber's error is the job's: the outbox backs off and runs it again.
    Among several, each runs in its own savepoint; those that fail get a job of their own,
    so the ones that succeeded are not run twice.
    """
    instance = event_named(event)(**data)
    instance.live["tenant"] = tenant
    names = only if only is not None else subscribers_of(type(instance), WORKER)
    functions = [_by_name[name] for name in names if name in _by_name]
    if len(functions) == 1:
        functions[0](instance)
        return 1
    ran = 0
    for function in functions:
        try:
            with transaction.atomic():
                function(instance)
        except Exception:
            name = subscriber_name(function)
            logger.exception("Subscriber %s of %s failed; it runs again later", name, event)
            outbox_enqueue(
                tenant=tenant, handler=deliver_event, event=event, data=data, only=[name]
            )
        else:
            ran += 1
    return ran
