"""Reads of tickets: who may see which, and the agent queue."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet, Value
from django.http import Http404

from helpdesk.localized import localized_name
from helpdesk.models import Membership, Role, User
from helpdesk.read_cache import cached_read, tenant_source
from tickets import search as ticket_search
from tickets.models import (
    UNSOLVED,
    Attachment,
    GroupMember,
    Message,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)


def _customer_visibility(membership: Membership) -> Q:
    """A customer's own tickets; an organization manager also sees their organization's."""
    visible = Q(requester_id=membership.user_id)
    if membership.is_org_manager and membership.organization_id:
        visible |= Q(organization_id=membership.organization_id)
    return visible


def member_by_email(email: str) -> Membership | None:
    """The active member of the desk in scope who signs in with this address, with
    their user and organization: how mail finds the person its From names."""
    if not email:
        return None
    return (
        Membership.objects.filter(user__email__iexact=email, is_active=True)
        .select_related("user", "organization")
        .first()
    )


def customer_may_see(membership: Membership | None, ticket: Ticket) -> bool:
    """Is this an active customer membership that may see `ticket` in the help center?"""
    if membership is None or not membership.is_active or membership.is_staff_member:
        return False
    return tickets_visible_to_customer(membership).filter(pk=ticket.pk).exists()


def tickets_visible_to_customer(membership: Membership) -> QuerySet[Ticket]:
    return Ticket.objects.filter(_customer_visibility(membership), merged_into__isnull=True)


def ticket_for_customer(membership: Membership, number: int) -> Ticket:
    """The ticket #number if this customer may see it; 404 alike for missing and not theirs."""
    ticket = (
        tickets_visible_to_customer(membership)
        .select_related("requester", "organization__plan", "category", "assignee")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def merged_target_for_customer(membership: Membership, number: int) -> int | None:
    """The number a merged ticket of this customer now lives on, if any."""
    merged = Ticket.objects.filter(
        _customer_visibility(membership), number=number, merged_into__isnull=False
    )
    return merged.values_list("merged_into__number", flat=True).first()


# What each consumer of an agent's ticket joins. The merged-into ticket (rare) is
# loaded only when set; everything else a consumer always reads is joined, so its
# query count does not depend on the data. The ticket page shows category and
# assignee from its choice lists, so it joins only what it cannot: each join costs
# more to plan than to run (1.3 ms of planning for all five at 100,000 tickets).
TICKET_RELATED = (
    "requester",
    "organization__plan",
    "organization__success_manager",
    "category",
    "assignee",
    "group",
)
TICKET_PAGE_RELATED = ("requester", "organization__plan", "organization__success_manager")


def _kept_to_groups(member: Membership | None) -> bool:
    return (
        member is not None
        and member.role == Role.AGENT
        and member.tenant.agents_see_own_groups_only
    )


def tickets_visible_to_agent(member: Membership | None) -> QuerySet[Ticket]:
    """Every ticket a member of the staff may see and work: all of them, unless the desk
    keeps agents to their groups (Tenant.agents_see_own_groups_only), when an agent sees
    the tickets of their groups and those assigned to them. Admins, and platform
    operators (no membership), see every ticket."""
    tickets = Ticket.objects.all()
    if not _kept_to_groups(member):
        return tickets
    their_groups = GroupMember.objects.filter(agent_id=member.user_id).values("group")
    return tickets.filter(Q(group__in=their_groups) | Q(assignee_id=member.user_id))


def ticket_for_agent(
    number: int, *, member: Membership | None, related: tuple[str, ...] = TICKET_RELATED
) -> Ticket:
    """Ticket #number if this member of the staff may see it; 404 alike otherwise."""
    try:
        return tickets_visible_to_agent(member).select_related(*related).get(number=number)
    except Ticket.DoesNotExist:
        raise Http404 from None


def thread_messages(ticket: Ticket, *, include_internal: bool) -> QuerySet[Message]:
    """The ticket's messages, oldest first, with authors and attachments: a queryset, so
    a page of it is fetched (and its attachments prefetched) for that page only.
    Customers are shown it with `include_internal=False`: internal notes never leave."""
    messages = Message.objects.filter(ticket=ticket)
    if not include_internal:
        messages = messages.filter(is_internal=False)
    return (
        messages.select_related("author", "reviewed_by")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )


def thread(ticket: Ticket, *, include_internal: bool) -> list[Message]:
    """The whole thread, as the ticket pages show it."""
    return list(thread_messages(ticket, include_internal=include_internal))


def unverified_mail_for_agent(ticket: Ticket, key) -> Message:
    """The unverified mail of `ticket` with this review key (404 for any other)."""
    message = Message.objects.filter(ticket=ticket, review_key=key).select_related("ticket").first()
    if message is None:
        raise Http404
    return message


def unverified_mail_publishable_as(ticket: Ticket, messages: list[Message]) -> dict[int, User]:
    """For each unverified mail awaiting review, the customer it may be published as:
    the member its From names, if a customer who may see the ticket. Never an agent
    or admin: an agent cannot be led to publish mail as a colleague. No query when
    nothing awaits review (the usual page); two per mail that does."""
    waiting = [m for m in messages if m.awaits_review and m.email_from]
    publishable = {}
    for message in waiting:
        membership = member_by_email(message.email_from)
        if customer_may_see(membership, ticket):
            publishable[message.pk] = membership.user
    return publishable


CUSTOMER_CHOICES = 20


def customers_matching(query: str, *, limit: int = CUSTOMER_CHOICES) -> list[Membership]:
    """Active customers of the desk in scope whose name, email or organization contains
    `query` (all of them, by name, without one), with their organization and plan."""
    members = Membership.objects.filter(role=Role.CUSTOMER, is_active=True).select_related(
        "user", "organization__plan"
    )
    query = query.strip()
    if query:
        members = members.filter(
            Q(user__email__icontains=query)
            | Q(user__full_name__icontains=query)
            | Q(organization__name__icontains=query)
        )
    return list(members.order_by("user__full_name", "user__email", "pk")[:limit])


def audit_trail(ticket: Ticket) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket).select_related("actor"))


def attachment_for_user(key, *, user: User, membership: Membership | None) -> Attachment:
    """An attachment, if the user may see the message it belongs to (404 otherwise)."""
    attachment = Attachment.objects.select_related("message", "ticket").filter(key=key).first()
    if attachment is None or membership is None:
        raise Http404
    if user.is_superuser:
        return attachment
    if membership.has_role(Role.AGENT):
        if _kept_to_groups(membership):
            visible = tickets_visible_to_agent(membership).filter(pk=attachment.ticket_id)
            if not visible.exists():
                raise Http404
        return attachment
    visible = tickets_visible_to_customer(membership).filter(pk=attachment.ticket_id).exists()
    if not visible or attachment.message is None or attachment.message.is_internal:
        raise Http404
    return attachment


# -- the agent queue ----------------------------------------------------------------------

QUEUE_VIEWS = {
    "mine": Q(status__in=UNSOLVED),  # plus assignee = the agent, added in queue()
    "groups": Q(status__in=UNSOLVED),  # plus the agent's groups, added in queue()
    "unassigned": Q(status__in=UNSOLVED, assignee__isnull=True),
    "open": Q(status__in=UNSOLVED),
    "pending": Q(status=Status.PENDING),
    "on_hold": Q(status=Status.ON_HOLD),
    # Every solved or closed ticket has its solved time (ticket_set_status): saying so
    # lets the newest-solved-first page skip the unsolved at the head of that index.
    "solved": Q(status__in=[Status.SOLVED, Status.CLOSED], solved_at__isnull=False),
    # Every ticket, whatever its status: where a search finds an old conversation.
    "all": Q(),
}
PAGE_SIZE = 50


@dataclass
class QueueFilters:
    view: str = "open"
    status: list[str] = field(default_factory=list)
    priority: list[int] = field(default_factory=list)
    category: list[int] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)
    assignee: list[int] = field(default_factory=list)
    organization: list[int] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    org: str = ""  # part of an organization's name
    tag: str = ""
    q: str = ""
    sort: str = "urgent"


# Queue orders; "urgent" (the default) is soonest SLA due time first (tickets
# without a running clock last), then highest priority, then oldest.
QUEUE_SORTS = {
    "urgent": ["sla_due_at", "priority", "created_at", "pk"],
    "priority": ["priority", "created_at", "pk"],
    "oldest": ["created_at", "pk"],
    "newest": ["-created_at", "-pk"],
    "updated": ["-updated_at", "-pk"],
}


def queue(filters: QueueFilters, *, agent: User, member: Membership | None) -> QuerySet[Ticket]:
    """The queue and its search as `agent` sees it (`member`: their membership here)."""
    tickets = tickets_visible_to_agent(member).filter(
        QUEUE_VIEWS.get(filters.view, QUEUE_VIEWS["open"])
    )
    if filters.view == "mine":
        tickets = tickets.filter(assignee=agent)
    elif filters.view == "groups":
        tickets = tickets.filter(group__in=GroupMember.objects.filter(agent=agent).values("group"))
    if filters.group:
        tickets = tickets.filter(group_id__in=filters.group)
    if filters.status:
        tickets = tickets.filter(status__in=filters.status)
    if filters.priority:
        tickets = tickets.filter(priority__in=filters.priority)
    if filters.category:
        tickets = tickets.filter(category_id__in=filters.category)
    if filters.plan:
        tickets = tickets.filter(organization__plan_id__in=filters.plan)
    if filters.assignee:
        tickets = tickets.filter(assignee_id__in=filters.assignee)
    if filters.organization:
        tickets = tickets.filter(organization_id__in=filters.organization)
    if filters.org:
        tickets = tickets.filter(organization__name__icontains=filters.org)
    if filters.tag:
        tickets = tickets.filter(tags__contains=[filters.tag])
    if filters.q:
        # Every word of the ticket, or its number (tickets/search.py).
        tickets = ticket_search.search(tickets, filters.q)
        if filters.sort == "relevance":
            return ticket_search.by_relevance(tickets, filters.q)
    if filters.view == "solved" and filters.sort == "urgent":
        order = ["-solved_at", "-pk"]  # recently solved first
    else:
        order = QUEUE_SORTS.get(filters.sort, QUEUE_SORTS["urgent"])
    return tickets.order_by(*order)


# What each consumer of the queue joins: the page shows plan and assignee names from
# the sidebar's own small lists, so it joins only the two it cannot (fewer joins plan
# faster; planning, not execution, dominated this query at 100,000 tickets).
QUEUE_PAGE_RELATED = ("requester", "organization")
QUEUE_API_RELATED = ("requester", "organization__plan", "category", "assignee", "group")


# The source (helpdesk/read_cache.py) of a tenant's categories, plans, staff and macros,
# changed by tickets/signals.py; staff names also come from the global "users" source.
DESK_LISTS = "desk_lists"
USERS = "users"


def desk_lists(tenant) -> dict[str, list[tuple]]:
    """The tenant's categories, plans, staff and active macros as (pk, label) pairs,
    categories and macros named in the reader's language.

    Every agent page shows them; they are cached (in both languages) until one of them
    changes.
    """
    lists = cached_read(
        f"tickets:desk_lists:{tenant.pk}",
        sources=[tenant_source(tenant.pk, DESK_LISTS), USERS],
        build=lambda: _build_desk_lists(tenant),
    )
    return {
        **lists,
        "category": [(pk, localized_name(*names)) for pk, *names in lists["category"]],
        "macro": [(pk, localized_name(*names)) for pk, *names in lists["macro"]],
        # .get: a list cached before groups existed has none.
        "group": [(pk, localized_name(*names)) for pk, *names in lists.get("group", ())],
    }


def _build_desk_lists(tenant) -> dict[str, list[tuple]]:
    from helpdesk.admin_site import tenant_staff_queryset
    from helpdesk.tenancy import tenant_scope
    from plans.models import Plan
    from tickets.models import Category, Group, Macro

    # The scope is the tenant's own (not merely the caller's): the value is cached under its id.
    with tenant_scope(tenant):
        return {
            "category": list(Category.objects.values_list("pk", "name", "name_zh_hans")),
            "plan": list(Plan.objects.order_by("rank").values_list("pk", "name")),
            "assignee": [
                (user.pk, user.display_name)
                for user in tenant_staff_queryset(tenant)
                .only("pk", "full_name", "email")
                .order_by("full_name", "email")
            ],
            "macro": list(
                Macro.objects.filter(is_active=True).values_list("pk", "name", "name_zh_hans")
            ),
            "group": list(
                Group.objects.filter(is_active=True).values_list("pk", "name", "name_zh_hans")
            ),
        }


def agent_choices(tenant) -> dict[str, list[tuple]]:
    """(value, label) pairs the agent pages offer: the queue's filters and bulk bar,
    the ticket's properties and the macros."""
    return {
        "status": list(Status.choices),
        "priority": list(Priority.choices),
        **desk_lists(tenant),
    }


def queue_page(tickets: QuerySet[Ticket], page: int) -> tuple[list[Ticket], bool]:
    """One page without COUNT(*): fetch one extra row to know whether another page exists."""
    page = max(page, 1)
    start = (page - 1) * PAGE_SIZE
    rows = list(tickets[start : start + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def requester_context(
    ticket: Ticket, *, member: Membership | None, limit: int = 5
) -> dict[str, list[Ticket]]:
    """Other recent tickets of the requester and of their organization that `member`
    may see (one query)."""
    others = (
        tickets_visible_to_agent(member)
        .exclude(pk=ticket.pk)
        .only("number", "subject", "status", "created_at", "priority")
    )
    by_requester = (
        others.filter(requester_id=ticket.requester_id)
        .annotate(side_list=Value("requester"))
        .order_by("-created_at")[:limit]
    )
    by_org = (
        others.filter(organization_id=ticket.organization_id)
        .exclude(requester_id=ticket.requester_id)
        .annotate(side_list=Value("organization"))
        .order_by("-created_at")[:limit]
    )
    # UNION ALL keeps each part's own order and limit, in one round trip.
    both = by_requester.union(by_org, all=True) if ticket.organization_id else by_requester
    found = {"requester": [], "organization": []}
    for other in both:
        found[other.side_list].append(other)
    for tickets in found.values():
        tickets.sort(key=lambda other: other.created_at, reverse=True)
    return found


__all__ = ["PAGE_SIZE", "Priority", "QueueFilters", "queue", "queue_page"]
