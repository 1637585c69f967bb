"""The SLA's domain events (helpdesk/events.py): a due time is near, was missed, or a
missed one handed the ticket to the escalation agent. Published when the notice is
delivered (sla_notices_deliver), once per notice."""

import dataclasses

from helpdesk.events import DomainEvent, domain_event


@dataclasses.dataclass(frozen=True, kw_only=True)
class _SlaEvent(DomainEvent):
    ticket_id: int
    metric: str  # sla.models.Metric
    due_at: str  # ISO 8601


@domain_event("sla.warning")
class SlaWarning(_SlaEvent):
    pass


@domain_event("sla.breached")
class SlaBreached(_SlaEvent):
    pass


@domain_event("sla.escalated")
class SlaEscalated(_SlaEvent):
    pass
