"""Names shared by the API modules."""

from __future__ import annotations

from helpdesk.access import has_role
from helpdesk.models import Role
from tickets.models import Priority

PRIORITY_NAMES = [priority.slug for priority in Priority]  # urgent, high, medium, low
MAX_TAGS = 20


def is_agent(request) -> bool:
    return has_role(request, Role.AGENT)


def quoted(value: str, limit: int = 100) -> str:
    """A value echoed back in an error message, cut short if long."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
