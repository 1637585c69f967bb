from django.conf import settings

from helpdesk.access import effective_role, has_role
from helpdesk.models import Role


def tenancy(request):
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": getattr(request, "membership", None),
        "current_role": effective_role(request) if hasattr(request, "user") else None,
        "is_agent": hasattr(request, "user") and has_role(request, Role.AGENT),
        "is_tenant_admin": hasattr(request, "user") and has_role(request, Role.ADMIN),
        "base_domain": settings.BASE_DOMAIN,
    }
