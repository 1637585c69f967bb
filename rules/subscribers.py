"""Triggers hear of every change to a ticket (rules/services.py)."""

from helpdesk import events
from rules.services import desk_has_triggers, note_ticket_event
from tickets.events import AgentReplied, CustomerReplied, NoteAdded, TicketChanged, TicketCreated


@events.subscribe(
    TicketCreated,
    TicketChanged,
    CustomerReplied,
    AgentReplied,
    NoteAdded,
    phase=events.IN_TRANSACTION,
    only_if=desk_has_triggers,
)
def gather_for_triggers(event) -> None:
    """In the change's transaction: the ticket's events of one transaction become one
    update, checked against the triggers by a worker after commit."""
    note_ticket_event(event)
