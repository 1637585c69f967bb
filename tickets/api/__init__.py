"""The tickets REST API (/api/v1/): serializers, pagination and viewsets.

Laid out as common.py (shared helpers), pagination.py, serializers.py and views.py.

Who sees what comes from tickets.selectors (customers: what the help center shows
them; agents and admins: their tenant), and every write is a call to
tickets.services, so the API follows the same rules as the pages. Tickets are
addressed by their per-tenant number; categories, plans and organizations by
name; people by email. Primary keys never appear.
"""

from tickets.api.views import AttachmentViewSet, CategoryViewSet, TicketViewSet

__all__ = ["AttachmentViewSet", "CategoryViewSet", "TicketViewSet"]
