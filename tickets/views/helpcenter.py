"""The customer's side: file a request, follow it, answer, solve or reopen it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.access import has_role, role_required
from helpdesk.input_values import InvalidValue, parse_int
from helpdesk.models import Role
from knowledge.selectors import article_for_context
from knowledge.services import deflection_filed
from phone.selectors import callback_of
from plans.selectors import plan_for_membership, plans_above
from tickets.external_images import shows_external_images_on_request
from tickets.forms import MAX_PAGE, ReplyForm, TicketCreateForm
from tickets.models import UNSOLVED, Channel, Status
from tickets.selectors import (
    merged_target_for_customer,
    thread,
    ticket_for_customer,
    tickets_visible_to_customer,
)
from tickets.services import ticket_create, ticket_reopen, ticket_reply, ticket_solve

PAGE_SIZE = 25
HOME_OPEN_SHOWN = 5  # open requests on the help center's front page


def _apply_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, by field where it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_GET
@role_required(Role.CUSTOMER)
def home(request):
    """The help center's front page: the open requests, the customer's plan, its promise
    and their channels."""
    if has_role(request, Role.AGENT):
        return redirect("agent_queue")
    membership = request.membership
    plan = plan_for_membership(membership)
    # The same requests as My requests' open tab, most recently updated first.
    open_tickets = (
        tickets_visible_to_customer(membership).filter(status__in=UNSOLVED).order_by("-updated_at")
    )
    return render(
        request,
        "helpdesk/home.html",
        {
            "plan": plan,
            "organization": membership.organization,
            "upgrades": plans_above(plan) if plan else [],
            "open_tickets": open_tickets[:HOME_OPEN_SHOWN],
        },
    )


@require_GET
@role_required(Role.CUSTOMER)
def ticket_list(request):
    membership = request.membership
    tickets = tickets_visible_to_customer(membership).select_related("requester", "category")
    show = request.GET.get("show", "open")
    if show == "solved":
        tickets = tickets.exclude(status__in=UNSOLVED).order_by("-updated_at")
    else:
        show = "open"
        tickets = tickets.filter(status__in=UNSOLVED).order_by("-updated_at")
    query = request.GET.get("q", "").strip()
    if query:
        tickets = tickets.filter(subject__icontains=query)
    try:
        page = parse_int(request.GET.get("page", "1"), minimum=1, maximum=MAX_PAGE)
    except InvalidValue:
        page = 1
    rows = list(tickets[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
    return render(
        request,
        "tickets/hc_list.html",
        {
            "tickets": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page": page,
            "show": show,
            "query": query,
            "sees_organization": membership.is_org_manager and membership.organization_id,
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.CUSTOMER)
def ticket_new(request):
    plan = plan_for_membership(request.membership)
    form = TicketCreateForm(request.POST or None, request.FILES or None, plan=plan)
    # "Still need help?" on an article opens this form with the article as context.
    article = article_for_context(
        request.membership, request.POST.get("article") or request.GET.get("article")
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        body = data["body"]
        if article is not None:
            body += "\n\n---\n" + _("Asked from the article “%(title)s”: %(url)s") % {
                "title": article.title,
                "url": request.build_absolute_uri(
                    reverse("kb_article", args=[article.pk, article.slug])
                ),
            }
        try:
            ticket = ticket_create(
                tenant=request.tenant,
                requester=request.user,
                subject=data["subject"],
                body=body,
                category=data["category"],
                priority=data["priority"],
                channel=Channel.WEB,
                uploads=data["attachments"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            deflection_filed(ticket=ticket, user=request.user)
            messages.success(
                request, _("Request #%(number)d was sent.") % {"number": ticket.number}
            )
            return redirect("hc_ticket_detail", number=ticket.number)
    return render(request, "tickets/hc_new.html", {"form": form, "plan": plan, "article": article})


@require_http_methods(["GET", "POST"])
@role_required(Role.CUSTOMER)
@shows_external_images_on_request
def ticket_detail(request, number: int):
    merged_into = merged_target_for_customer(request.membership, number)
    if merged_into is not None:
        messages.info(request, _("Request #%(old)d was merged into this one.") % {"old": number})
        return redirect("hc_ticket_detail", number=merged_into)
    ticket = ticket_for_customer(request.membership, number)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_reply(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                uploads=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Your reply was added."))
            return redirect("hc_ticket_detail", number=ticket.number)
    return render(
        request,
        "tickets/hc_detail.html",
        {
            "ticket": ticket,
            "thread": thread(ticket, include_internal=False),
            "callback": callback_of(ticket) if ticket.channel == Channel.PHONE else None,
            "form": form,
            "can_reply": ticket.status != Status.CLOSED,
        },
    )


@require_POST
@role_required(Role.CUSTOMER)
def ticket_mark_solved(request, number: int):
    ticket = ticket_for_customer(request.membership, number)
    if ticket.is_unsolved:
        ticket_solve(ticket=ticket, actor=request.user)
        messages.success(request, _("Marked as solved. Reply any time to reopen it."))
    return redirect("hc_ticket_detail", number=number)


@require_POST
@role_required(Role.CUSTOMER)
def ticket_mark_reopened(request, number: int):
    ticket = ticket_for_customer(request.membership, number)
    try:
        ticket_reopen(ticket=ticket, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The request is open again."))
    return redirect("hc_ticket_detail", number=number)
