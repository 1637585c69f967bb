"""Live chat's domain events (helpdesk/events.py). Not chat/events.py: that module
speaks to the open sockets through the channel layer; these are the facts a chat's
life adds to its ticket's, for subscribers (surveys, and later triggers and webhooks)."""

from helpdesk.events import DomainEvent, domain_event


@domain_event("chat.started")
class ChatStarted(DomainEvent):
    chat_id: int
    ticket_id: int
    customer_id: int


@domain_event("chat.accepted")
class ChatAccepted(DomainEvent):
    """An agent took the chat (accepted an offer, or picked it from the queue)."""

    chat_id: int
    ticket_id: int
    agent_id: int


@domain_event("chat.transferred")
class ChatTransferred(DomainEvent):
    chat_id: int
    ticket_id: int
    from_agent_id: int | None
    to_agent_id: int
    actor_id: int


@domain_event("chat.ended")
class ChatEnded(DomainEvent):
    chat_id: int
    ticket_id: int
    actor_id: int | None
    # An agent replied before it ended; otherwise the customer left unanswered.
    answered: bool
