"""What happens to tickets, as domain events (helpdesk/events.py).

Ticket services publish these inside their transaction; notifications, CSAT, triggers
and webhooks subscribe. Fields are plain values: ids, codes and text, so an event
stored for a worker reads back the same. `actor_id` is who did it (None: the system).
"""

from __future__ import annotations

from helpdesk.events import DomainEvent, domain_event


@domain_event("ticket.created")
class TicketCreated(DomainEvent):
    ticket_id: int
    message_id: int | None
    actor_id: int | None
    # Opened by an agent for the customer (a call, a conversation elsewhere).
    by_desk: bool = False
    # False when the customer is on the line (a chat): nobody is emailed.
    notify: bool = True
    assignee_id: int | None = None


@domain_event("ticket.changed")
class TicketChanged(DomainEvent):
    """Fields that changed, each `{"old": ..., "new": ...}` in stored values: status
    and channel codes, priority numbers, category and assignee ids, tag lists."""

    ticket_id: int
    actor_id: int | None
    changes: dict


@domain_event("ticket.customer_replied")
class CustomerReplied(DomainEvent):
    ticket_id: int
    message_id: int
    actor_id: int | None
    notify: bool = True


@domain_event("ticket.agent_replied")
class AgentReplied(DomainEvent):
    ticket_id: int
    message_id: int
    actor_id: int | None
    notify: bool = True


@domain_event("ticket.note_added")
class NoteAdded(DomainEvent):
    ticket_id: int
    message_id: int
    actor_id: int | None


@domain_event("ticket.mail_held")
class MailHeld(DomainEvent):
    """Mail that could not be proven to come from its sender, kept for an agent's review."""

    ticket_id: int
    message_id: int


@domain_event("ticket.solved")
class TicketSolved(DomainEvent):
    ticket_id: int
    actor_id: int | None
    solved_at: str  # ISO 8601


@domain_event("ticket.reopened")
class TicketReopened(DomainEvent):
    ticket_id: int
    actor_id: int | None


@domain_event("ticket.merged")
class TicketMerged(DomainEvent):
    ticket_id: int
    into_ticket_id: int
    actor_id: int | None


@domain_event("ticket.transcript_asked")
class TranscriptAsked(DomainEvent):
    """The customer asked for a chat's transcript by email."""

    ticket_id: int
