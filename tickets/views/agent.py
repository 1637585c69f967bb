"""The agent workspace: the queue and the ticket page."""

from contextlib import nullcontext
from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from feedback.selectors import ticket_satisfaction
from helpdesk import highlight
from helpdesk.access import role_required
from helpdesk.input_values import is_whole_number
from helpdesk.models import Role
from helpdesk.queries import without_parallel_workers
from phone.forms import CallLogForm
from phone.selectors import callback_of, calls_of
from plans.selectors import plans_with_organizations
from success.selectors import latest_score
from tickets import search as ticket_search
from tickets.external_images import shows_external_images_on_request
from tickets.forms import (
    AgentReplyForm,
    BulkForm,
    MailReviewForm,
    MergeForm,
    QueueFilterForm,
    TicketFieldsForm,
    TicketOpenForm,
)
from tickets.models import Channel, Macro, Priority, Status
from tickets.selectors import (
    QUEUE_PAGE_RELATED,
    TICKET_PAGE_RELATED,
    agent_choices,
    audit_trail,
    customers_matching,
    desk_lists,
    queue,
    queue_page,
    requester_context,
    thread,
    ticket_for_agent,
    tickets_visible_to_agent,
    unverified_mail_for_agent,
    unverified_mail_publishable_as,
)
from tickets.services import (
    macro_render,
    ticket_add_note,
    ticket_apply_macro,
    ticket_bulk_update,
    ticket_merge,
    ticket_open_for_customer,
    ticket_reply,
    ticket_update,
    unverified_mail_keep,
    unverified_mail_publish,
)
from tickets.views.helpcenter import _apply_errors

# Lazy: translated when a page shows them, in its reader's language.
QUEUE_VIEW_LABELS = {
    "mine": gettext_lazy("My open"),
    "groups": gettext_lazy("My groups"),
    "unassigned": gettext_lazy("Unassigned"),
    "open": gettext_lazy("All open"),
    "pending": gettext_lazy("Pending"),
    "on_hold": gettext_lazy("On hold"),
    "solved": gettext_lazy("Recently solved"),
    "all": gettext_lazy("All tickets"),
}


@require_GET
@role_required(Role.AGENT)
def ticket_queue(request):
    filter_form = QueueFilterForm(request.GET or None, tenant=request.tenant)
    filters = filter_form.filters()
    page_number = (filter_form.cleaned_data.get("page") if filter_form.is_bound else None) or 1
    with without_parallel_workers() if filters.q else nullcontext():
        tickets, has_next = queue_page(
            queue(filters, agent=request.user, member=request.membership).select_related(
                *QUEUE_PAGE_RELATED
            ),
            page_number,
        )
    choices = agent_choices(request.tenant)
    selected = {int(n) for n in request.GET.getlist("selected") if is_whole_number(n)}
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("selected", None)
    context = {
        "tickets": tickets,
        "marked_subjects": _marked_subjects(tickets, filters.q),
        "excerpts": ticket_search.matching_excerpts(tickets, filters.q) if filters.q else {},
        "has_next": has_next,
        "page": page_number,
        "filters": filters,
        # Plain choice lists: the sidebar is rendered with loops, because Django's
        # widget templates (one include per option) cost more than the queries.
        "choices": choices,
        "sorts": QueueFilterForm.base_fields["sort"].choices,
        # Resolved once per page rather than once per row.
        "ticket_path": reverse("agent_ticket", args=[0]).removesuffix("0/"),
        "labels": {
            "status": {value: str(label) for value, label in Status.choices},
            "priority": {value: str(label) for value, label in Priority.choices},
            "plan": dict(choices["plan"]),
            "staff": dict(choices["assignee"]),
        },
        "views": QUEUE_VIEW_LABELS,
        "selected": selected,
        "base_query": query.urlencode(),
        "view_query": {
            view: urlencode(
                {**{k: v for k, v in query.lists() if k != "view"}, "view": view}, doseq=True
            )
            for view in QUEUE_VIEW_LABELS
        },
    }
    if request.htmx:
        return render(request, "tickets/agent_queue_rows.html", context)
    return render(request, "tickets/agent_queue.html", context)


def _marked_subjects(tickets, query: str) -> dict:
    """The subjects with what the search matched marked in whole words, by ticket id
    (one query for the page's rows at most); none for a "#number" search."""
    query = (query or "").strip()
    if not query or query.startswith("#"):
        return {}
    found = highlight.matches([ticket.subject for ticket in tickets], highlight.words_of(query))
    return {
        ticket.pk: highlight.marked(ticket.subject, terms)
        for ticket, terms in zip(tickets, found, strict=True)
    }


@require_POST
@role_required(Role.AGENT)
def ticket_bulk(request):
    form = BulkForm(request.POST, tenant=request.tenant)
    back = request.POST.get("next") or "/agent/"
    if not back.startswith("/agent/"):
        back = "/agent/"
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect(back)
    data = form.cleaned_data
    tickets = list(tickets_visible_to_agent(request.membership).filter(number__in=data["selected"]))
    assignee = None if data["unassign"] else (data["assignee"] or ...)
    try:
        count = ticket_bulk_update(
            tickets=tickets, actor=request.user, status=data["status"] or None, assignee=assignee
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Updated %(count)d tickets.") % {"count": count})
    return redirect(back)


def _ticket_page(
    request,
    ticket,
    *,
    reply_form=None,
    fields_form=None,
    merge_form=None,
    call_form=None,
    status=200,
):
    messages_of_thread = thread(ticket, include_internal=True)
    callback = callback_of(ticket) if ticket.channel == Channel.PHONE else None
    return render(
        request,
        "tickets/agent_ticket.html",
        {
            "ticket": ticket,
            # The messages and the calls logged on it (agents only), oldest first.
            "thread": sorted(
                [*messages_of_thread, *calls_of(ticket)], key=lambda entry: entry.created_at
            ),
            "callback": callback,
            "call_form": call_form
            or CallLogForm(initial={"phone_number": callback.phone_number if callback else ""}),
            # Whom each unverified mail awaiting review may be published as.
            "publishable_as": unverified_mail_publishable_as(ticket, messages_of_thread),
            "events": audit_trail(ticket),
            "reply_form": reply_form or AgentReplyForm(),
            "fields_form": fields_form
            or TicketFieldsForm(
                tenant=request.tenant,
                initial={
                    "status": ticket.status,
                    "priority": ticket.priority,
                    # Ids, not objects: the page does not join them (see TICKET_PAGE_RELATED).
                    "category": ticket.category_id,
                    "assignee": ticket.assignee_id,
                    "tags": ", ".join(ticket.tags),
                },
            ),
            "merge_form": merge_form or MergeForm(),
            "context": requester_context(ticket, member=request.membership),
            "satisfaction": ticket_satisfaction(ticket),
            "plan": ticket.organization.plan if ticket.organization_id else None,
            # The organization's latest health score: one query, with or without one.
            "health": latest_score(ticket.organization_id),
            # The forms' selects are built from these (the options tag), not by widgets.
            "choices": agent_choices(request.tenant),
        },
        status=status,
    )


@require_GET
@role_required(Role.AGENT)
@shows_external_images_on_request
def ticket_detail(request, number: int):
    return _ticket_page(
        request, ticket_for_agent(number, member=request.membership, related=TICKET_PAGE_RELATED)
    )


@require_POST
@role_required(Role.AGENT)
def ticket_respond(request, number: int):
    """A public reply or an internal note, possibly from a macro."""
    ticket = ticket_for_agent(number, member=request.membership)
    form = AgentReplyForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["is_internal"]:
                ticket_add_note(
                    ticket=ticket,
                    author=request.user,
                    body=data["body"],
                    uploads=data["attachments"],
                )
                messages.success(request, _("Note added."))
            elif data["macro"]:
                ticket_apply_macro(
                    ticket=ticket, macro=data["macro"], actor=request.user, body=data["body"]
                )
                messages.success(request, _("Reply sent."))
            else:
                ticket_reply(
                    ticket=ticket,
                    author=request.user,
                    body=data["body"],
                    uploads=data["attachments"],
                    status=data["status"] or None,
                )
                messages.success(request, _("Reply sent."))
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("agent_ticket", number=number)
    return _ticket_page(request, ticket, reply_form=form, status=400)


@require_POST
@role_required(Role.AGENT)
def ticket_change(request, number: int):
    ticket = ticket_for_agent(number, member=request.membership)
    form = TicketFieldsForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket_update(
                ticket=ticket,
                actor=request.user,
                status=data["status"],
                priority=data["priority"],
                category=data["category"],
                assignee=data["assignee"],
                tags=data["tags"],
                # A form that shows no group (the desk has none) leaves it alone.
                group=data["group"] if "group" in request.POST else ...,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Ticket updated."))
            return redirect("agent_ticket", number=number)
    return _ticket_page(request, ticket, fields_form=form, status=400)


@require_POST
@role_required(Role.AGENT)
def ticket_merge_into(request, number: int):
    ticket = ticket_for_agent(number, member=request.membership)
    form = MergeForm(request.POST)
    if form.is_valid():
        target = (
            tickets_visible_to_agent(request.membership)
            .filter(number=form.cleaned_data["target"])
            .first()
        )
        if target is None:
            form.add_error("target", _("There is no ticket with this number."))
        else:
            try:
                ticket_merge(source=ticket, target=target, actor=request.user)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("Merged into #%(number)d.") % {"number": target.number})
                return redirect("agent_ticket", number=target.number)
    return _ticket_page(request, ticket, merge_form=form, status=400)


@require_POST
@role_required(Role.AGENT)
def unverified_mail_review(request, number: int, key):
    """An agent's decision on unverified mail: publish it as its customer's reply, or
    keep it an internal note."""
    ticket = ticket_for_agent(number, member=request.membership)
    message = unverified_mail_for_agent(ticket, key)
    form = MailReviewForm(request.POST)
    if form.is_valid():
        publish = form.cleaned_data["decision"] == "publish"
        review = unverified_mail_publish if publish else unverified_mail_keep
        try:
            review(message=message, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Published as the customer's reply.") if publish else _("Kept as a note."),
            )
            return redirect(f"{reverse('agent_ticket', args=[number])}#m{message.pk}")
    else:
        messages.error(request, " ".join(form.errors["decision"]))
    return _ticket_page(request, ticket, status=400)


@require_GET
@role_required(Role.AGENT)
def macro_preview(request, number: int, macro_id: int):
    """The macro's text for this ticket, to fill the reply box (htmx)."""
    ticket = ticket_for_agent(number, member=request.membership)
    macro = get_object_or_404(Macro, pk=macro_id, is_active=True)
    return HttpResponse(
        macro_render(macro=macro, ticket=ticket, agent=request.user),
        content_type="text/plain; charset=utf-8",
    )


PRESENCE_SECONDS = 30


@require_http_methods(["GET", "POST"])
@role_required(Role.AGENT)
def ticket_presence(request, number: int):
    """Who else has this ticket open or is typing a reply: polled by the ticket page.

    Each agent's heartbeat is a cache key that expires on its own, so a closed
    tab disappears within PRESENCE_SECONDS without any cleanup.
    """
    ticket = ticket_for_agent(number, member=request.membership, related=())
    prefix = f"presence:{request.tenant.pk}:{ticket.pk}:"
    state = "replying" if request.POST.get("typing") == "1" else "viewing"
    cache.set(
        f"{prefix}{request.user.pk}", f"{state}:{request.user.display_name}", PRESENCE_SECONDS
    )
    staff = [pk for pk, _name in desk_lists(request.tenant)["assignee"] if pk != request.user.pk]
    found = cache.get_many([f"{prefix}{pk}" for pk in staff])
    others = sorted(value.split(":", 1) for value in found.values())
    return render(request, "tickets/agent_presence.html", {"others": others})


@require_GET
@role_required(Role.AGENT)
def customers(request):
    return render(request, "tickets/agent_customers.html", {"plans": plans_with_organizations()})


@require_http_methods(["GET", "POST"])
@role_required(Role.AGENT)
def ticket_open(request):
    """Open a ticket for a customer: find them (or add a new one), then what it is about."""
    form = TicketOpenForm(
        request.POST or None,
        tenant=request.tenant,
        initial={"assignee": request.user.pk, **_prefilled(request)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_open_for_customer(
                tenant=request.tenant,
                actor=request.user,
                requester=data["requester"],
                new_customer_email=data["new_email"],
                new_customer_name=data["new_name"],
                new_customer_organization=data["new_organization"],
                subject=data["subject"],
                body=data["body"],
                channel=data["channel"],
                priority=data["priority"],
                category=data["category"],
                assignee=data["assignee"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                _("Ticket #%(number)d was opened for %(customer)s.")
                % {"number": ticket.number, "customer": ticket.requester.display_name},
            )
            return redirect("agent_ticket", number=ticket.number)
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()[:200]
    return render(
        request,
        "tickets/agent_ticket_new.html",
        {
            "form": form,
            "q": query,
            "customers": _customer_choices(form, query),
            "choices": agent_choices(request.tenant),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _prefilled(request) -> dict:
    """What a "Search" without JavaScript sent along (a GET of the whole form)."""
    names = ("new_email", "new_name", "subject", "body", "channel", "priority")
    return {name: request.GET[name] for name in names if request.GET.get(name)}


def _customer_choices(form, query: str) -> list:
    """The search's customers, the one already chosen first (a refused form keeps it)."""
    found = customers_matching(query)
    chosen = (
        form.cleaned_data.get("requester")
        if form.is_bound and hasattr(form, "cleaned_data")
        else None
    )
    if chosen is not None and all(m.user_id != chosen.pk for m in found):
        found = [*customers_matching(chosen.email, limit=1), *found]
    return found


@require_GET
@role_required(Role.AGENT)
def customer_search(request):
    """The customers matching what the agent types, as the new ticket's choices (htmx)."""
    query = request.GET.get("q", "").strip()[:200]
    return render(
        request,
        "tickets/agent_customer_choices.html",
        {"customers": customers_matching(query), "q": query, "chosen": ""},
    )
