"""Role checks for views: one decorator and one mixin, nothing ad hoc.

    @role_required(Role.AGENT)
    def queue(request): ...

    class QueueView(RoleRequiredMixin, ListView):
        required_role = Role.AGENT

- no tenant (platform host): 404
- not signed in: redirect to the tenant's login page
- signed in without a membership here: the "no access" page (403)
- a membership with a weaker role: the "forbidden" page (403)

Platform operators (superusers) count as admins of every tenant.
"""

import functools

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from helpdesk.models import ROLE_RANK, Role


def effective_role(request) -> str | None:
    if request.user.is_authenticated and request.user.is_superuser:
        return Role.ADMIN
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_active:
        return None
    return membership.role


def has_role(request, role: str) -> bool:
    current = effective_role(request)
    return current is not None and ROLE_RANK[current] >= ROLE_RANK[role]


def denial(request, role: str):
    """The response for a request that may not see a page requiring `role`, or None."""
    if getattr(request, "tenant", None) is None:
        raise Http404
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    current = effective_role(request)
    if current is None:
        return render(
            request, "helpdesk/no_access.html", {"refused_email": request.user.email}, status=403
        )
    if ROLE_RANK[current] < ROLE_RANK[role]:
        return render(request, "helpdesk/forbidden.html", {"required_role": Role(role)}, status=403)
    return None


def role_required(role: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            return denial(request, role) or view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin:
    required_role: str = Role.CUSTOMER

    def dispatch(self, request, *args, **kwargs):
        return denial(request, self.required_role) or super().dispatch(request, *args, **kwargs)
