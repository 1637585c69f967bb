"""The phone channel's pages: a customer asks for a callback; an agent logs a call."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.access import role_required
from helpdesk.models import Role
from phone.forms import CallbackRequestForm, CallLogForm
from phone.selectors import last_phone_number, phone_hours
from phone.services import call_log, callback_request
from plans.selectors import plan_for_membership, plans_above
from tickets.selectors import ticket_for_agent
from tickets.views.agent import _ticket_page
from tickets.views.helpcenter import _apply_errors


@require_http_methods(["GET", "POST"])
@role_required(Role.CUSTOMER)
def callback_new(request):
    """'Request a callback': the form on plans with phone support; elsewhere what a
    higher plan would give, and a refusal (403) for a request sent all the same."""
    plan = plan_for_membership(request.membership)
    if plan is None or not plan.offers_phone:
        upgrades = [higher for higher in plans_above(plan) if higher.offers_phone] if plan else []
        return render(
            request,
            "phone/callback_upsell.html",
            {"plan": plan, "upgrades": upgrades, "refused": request.method == "POST"},
            status=403 if request.method == "POST" else 200,
        )
    hours = phone_hours(plan)
    initial = {"phone_number": last_phone_number(request.user)}
    form = CallbackRequestForm(request.POST or None, hours=hours, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            callback = callback_request(
                tenant=request.tenant,
                requester=request.user,
                phone_number=data["phone_number"],
                window_start=data["window_start"],
                window_end=data["window_end"],
                subject=data["subject"],
                details=data["details"],
                requester_membership=request.membership,
            )
        except ValidationError as error:
            form.add_service_error(error)
        except PermissionDenied as error:  # the plan changed while the form was open
            messages.error(request, " ".join(map(str, error.args)) or _("Not allowed."))
            return redirect("callback_new")
        else:
            messages.success(
                request,
                _("Request #%(number)d was sent: we will call you in the window you chose.")
                % {"number": callback.ticket.number},
            )
            return redirect("hc_ticket_detail", number=callback.ticket.number)
    return render(
        request,
        "phone/callback_new.html",
        {"form": form, "plan": plan, "hours": hours},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@role_required(Role.AGENT)
def call_log_add(request, number: int):
    """Log a call on the ticket: agents only, shown in its thread among the messages."""
    ticket = ticket_for_agent(number, member=request.membership)
    form = CallLogForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            call = call_log(
                ticket=ticket,
                agent=request.user,
                direction=data["direction"],
                outcome=data["outcome"],
                duration_seconds=form.duration_seconds,
                notes=data["notes"],
                phone_number=data["phone_number"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Call logged."))
            return redirect(f"{reverse('agent_ticket', args=[number])}#call{call.pk}")
    return _ticket_page(request, ticket, call_form=form, status=400)
