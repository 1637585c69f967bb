"""Feedback's domain events (helpdesk/events.py)."""

from helpdesk.events import DomainEvent, domain_event


@domain_event("csat.rated")
class CsatRated(DomainEvent):
    """A customer rated a solved ticket (or changed their rating)."""

    ticket_id: int
    survey_id: int
    rating: int
    # The first time this survey's rating is a bad one.
    turned_bad: bool = False
