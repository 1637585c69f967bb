"""The help center's upgrade buttons (success/upgrades.py): out to the plan's upgrade
page, or a request filed for the customer. Customers only; a plan is named by its rank,
and only plans above the customer's own can be asked for (404 otherwise)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.access import role_required
from helpdesk.models import Role
from plans.models import Plan
from plans.selectors import plan_for_membership
from plans.services import plan_settings, upgrade_url
from success.upgrades import upgrade_click_record, upgrade_enquiry_file


def _higher_plan(request, rank: int) -> Plan:
    membership = request.membership
    if membership is None or membership.is_staff_member:
        # Staff have no plan to upgrade; counting their clicks would fake a signal.
        raise PermissionDenied
    plan = Plan.objects.filter(rank=rank).first()
    current = plan_for_membership(membership)
    if plan is None or (current is not None and plan.rank <= current.rank):
        raise Http404
    return plan


@require_GET
@role_required(Role.CUSTOMER)
def upgrade_go(request, rank: int):
    """Count the click, then leave for the plan's upgrade page."""
    plan = _higher_plan(request, rank)
    url = upgrade_url(plan, plan_settings(tenant=request.tenant))
    if not url:
        raise Http404
    upgrade_click_record(membership=request.membership, plan=plan)
    return HttpResponseRedirect(url)


@require_POST
@role_required(Role.CUSTOMER)
def upgrade_ask(request, rank: int):
    """File "tell me about <plan>" as the customer's request and show it."""
    plan = _higher_plan(request, rank)
    ticket, filed = upgrade_enquiry_file(membership=request.membership, plan=plan)
    if filed:
        messages.success(
            request,
            _("Thank you: we have your question about %(plan)s and will get back to you.")
            % {"plan": plan.name},
        )
    else:
        messages.info(
            request,
            _("You asked about %(plan)s already; we will answer here.") % {"plan": plan.name},
        )
    return redirect("hc_ticket_detail", ticket.number)
