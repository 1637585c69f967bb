"""The viewsets: who sees which tickets, and the writes they make through services."""

from __future__ import annotations

from contextlib import nullcontext

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from helpdesk.admin_site import tenant_staff_queryset
from helpdesk.queries import without_parallel_workers
from plans.models import Organization, Plan
from tickets.api.common import PRIORITY_NAMES, is_agent, quoted
from tickets.api.pagination import PagePagination
from tickets.api.serializers import (
    CategorySerializer,
    CustomerMessageSerializer,
    CustomerTicketSerializer,
    CustomerTicketUpdateSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)
from tickets.forms import QueueFilterForm
from tickets.models import Category, Channel, Priority, Status, Ticket
from tickets.selectors import (
    QUEUE_API_RELATED,
    QUEUE_VIEWS,
    attachment_for_user,
    queue,
    thread_messages,
    ticket_for_agent,
    ticket_for_customer,
    tickets_visible_to_customer,
)
from tickets.services import (
    ticket_add_note,
    ticket_create,
    ticket_reply,
    ticket_solve,
    ticket_update,
)
from tickets.views.attachments import attachment_response


def _resolve_queue_filters(request) -> QueryDict:
    """The API's filter values, as the queue's form reads them.

    The API names categories, plans and organizations and gives people's emails;
    the queue's form takes ids, so names are looked up first (ids are accepted as
    they are, so a queue URL's filters work too). An unknown name is an error:
    dropping it silently would widen the list.
    """
    params = request.query_params
    data = QueryDict(mutable=True)
    for name in ("view", "status", "tag", "q"):
        if name in params:
            data.setlist(name, params.getlist(name))
    lookups = {
        "priority": lambda value: (
            Priority.from_name(value).value if value.upper() in Priority.__members__ else None
        ),
        "category": lambda value: Category.objects.filter(name__iexact=value),
        "plan": lambda value: Plan.objects.filter(name__iexact=value),
        "organization": lambda value: Organization.objects.filter(name__iexact=value),
        "assignee": lambda value: tenant_staff_queryset(request.tenant).filter(email__iexact=value),
    }
    errors = {}
    for name, lookup in lookups.items():
        ids = []
        for value in params.getlist(name):
            value = value.strip()
            found = lookup(value) if value else None
            if isinstance(found, QuerySet):
                found = found.values_list("pk", flat=True).first()
            if found is None and value.isascii() and value.isdigit():
                found = value
            if found is None:
                errors[name] = [_("Nothing here is named “%(value)s”.") % {"value": quoted(value)}]
                continue
            ids.append(str(found))
        data.setlist(name, ids)
    if errors:
        raise serializers.ValidationError(errors)
    return data


def _agent_tickets(request) -> QuerySet[Ticket]:
    form = QueueFilterForm(_resolve_queue_filters(request), tenant=request.tenant)
    if not form.is_valid():
        raise serializers.ValidationError(
            {
                name: [error["message"] for error in errors]
                for name, errors in form.errors.get_json_data().items()
            }
        )
    return queue(form.filters(), agent=request.user, member=request.membership).select_related(
        *QUEUE_API_RELATED
    )


def _customer_tickets(request) -> QuerySet[Ticket]:
    tickets = tickets_visible_to_customer(request.membership).select_related(
        "requester", "category"
    )
    statuses = request.query_params.getlist("status")
    if statuses:
        field = serializers.MultipleChoiceField(choices=Status.choices)
        try:
            statuses = field.run_validation(statuses)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"status": error.detail}) from None
        tickets = tickets.filter(status__in=statuses)
    return tickets.order_by("-updated_at", "-pk")


def _many(name: str, description, enum=None) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, many=True, explode=True, description=description, enum=enum
    )


LIST_FILTERS = [
    OpenApiParameter(
        "view",
        OpenApiTypes.STR,
        enum=list(QUEUE_VIEWS),
        description=_("Agents: a queue view (default open)."),
    ),
    _many(
        "status", _("Status; repeat for several. Customers may use this filter too."), Status.values
    ),
    _many("priority", _("Agents: priority name."), PRIORITY_NAMES),
    _many("category", _("Agents: category name.")),
    _many("plan", _("Agents: plan name.")),
    _many("assignee", _("Agents: assignee email.")),
    _many("organization", _("Agents: organization name.")),
    OpenApiParameter("tag", OpenApiTypes.STR, description=_("Agents: a tag.")),
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description=_(
            "Agents: words anywhere in the ticket (subject, messages and notes, requester, "
            "organization, tags) or #number."
        ),
    ),
]
NUMBER = OpenApiParameter(
    "number",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description=_("The ticket's number."),
    examples=[OpenApiExample("The desk's first ticket", value=1)],
)
KEY = OpenApiParameter(
    "key",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description=_("The attachment's key, from its message's `attachments`."),
)


# Agents and customers get different shapes of a ticket and of a message (customers' lack
# the assignee, tags, plan, internal notes...): the schema says "one of the two".
def _either(name: str, agents, customers, *, many: bool = False) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[agents, customers],
        resource_type_field_name=None,
        many=many,
    )


ANY_TICKET = "AgentOrCustomerTicket"
ANY_MESSAGE = "AgentOrCustomerMessage"


# -- viewsets -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List tickets",
        description=(
            "Agents and admins: the tenant's tickets with the agent queue's filters "
            "(most urgent, then oldest first; the solved view newest solved first). "
            "Customers: their own requests (an organization manager also sees the "
            "organization's), most recently updated first, without assignee, tags and plan."
        ),
        parameters=LIST_FILTERS,
        responses=_either(ANY_TICKET, TicketSerializer, CustomerTicketSerializer, many=True),
    ),
    create=extend_schema(
        summary="File a ticket",
        description=(
            "Customers file for themselves. Agents may file on behalf of a member "
            "(`requester`) and set tags. Urgent priority is for plans that allow it."
        ),
        request=TicketCreateSerializer,
        responses={201: _either(ANY_TICKET, TicketSerializer, CustomerTicketSerializer)},
    ),
    retrieve=extend_schema(
        summary="Show a ticket",
        parameters=[NUMBER],
        responses=_either(ANY_TICKET, TicketSerializer, CustomerTicketSerializer),
    ),
    partial_update=extend_schema(
        summary="Change a ticket",
        description=(
            'Agents: status, priority, category, assignee, tags. Customers: only `{"status": '
            '"solved"}` on their own request.'
        ),
        parameters=[NUMBER],
        request=TicketUpdateSerializer,
        responses=_either(ANY_TICKET, TicketSerializer, CustomerTicketSerializer),
    ),
)
class TicketViewSet(viewsets.GenericViewSet):
    lookup_field = "number"
    # Nine digits at most: a longer number cannot exist and would overflow the column.
    lookup_value_regex = "[0-9]{1,9}"
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = PagePagination

    def get_serializer_class(self):
        agent = getattr(self, "swagger_fake_view", False) or is_agent(self.request)
        action = self.action
        if action == "metadata":
            # OPTIONS describes what POST would take on this route (DRF swaps in a POST
            # request while it asks).
            action = self.action_map.get(self.request.method.lower(), action)
        if action == "create":
            return TicketCreateSerializer
        if action == "partial_update":
            return TicketUpdateSerializer if agent else CustomerTicketUpdateSerializer
        if action == "messages":
            if self.request.method == "POST":
                return MessageCreateSerializer
            return MessageSerializer if agent else CustomerMessageSerializer
        return TicketSerializer if agent else CustomerTicketSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["is_agent"] = is_agent(self.request)
        return context

    def _ticket(self, number) -> Ticket:
        """The ticket #number if the caller may see it; 404 alike for missing and not theirs."""
        if is_agent(self.request):
            return ticket_for_agent(int(number), member=self.request.membership)
        return ticket_for_customer(self.request.membership, int(number))

    def _show(self, ticket: Ticket, **kwargs) -> Response:
        serializer_class = TicketSerializer if is_agent(self.request) else CustomerTicketSerializer
        data = serializer_class(ticket, context=self.get_serializer_context()).data
        return Response(data, **kwargs)

    def list(self, request):
        tickets = _agent_tickets(request) if is_agent(request) else _customer_tickets(request)
        searching = is_agent(request) and request.query_params.get("q", "").strip()
        with without_parallel_workers() if searching else nullcontext():
            page = self.paginate_queryset(tickets)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        requester = data.get("requester") or request.user
        ticket = ticket_create(
            tenant=request.tenant,
            requester=requester,
            subject=data["subject"],
            body=data["body"],
            category=data.get("category"),
            priority=data["priority"],
            channel=Channel.API,
            actor=request.user,
            tags=data.get("tags", ()),
            requester_membership=request.membership if requester == request.user else None,
        )
        # Shown as created: its requester, organization and category are the objects just
        # used, so reading it back would only repeat them.
        return self._show(ticket, status=status.HTTP_201_CREATED)

    def retrieve(self, request, number=None):
        return self._show(self._ticket(number))

    def partial_update(self, request, number=None):
        ticket = self._ticket(number)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not is_agent(request):
            # The help center's "my problem is solved": only while the ticket is unsolved.
            if ticket.is_unsolved:
                ticket_solve(ticket=ticket, actor=request.user)
        else:
            ticket_update(
                ticket=ticket,
                actor=request.user,
                status=data.get("status"),
                priority=data.get("priority"),
                category=data.get("category", ...),
                assignee=data.get("assignee", ...),
                group=data.get("group", ...),
                tags=data.get("tags"),
            )
        return self._show(self._ticket(number))

    @extend_schema(
        methods=["GET"],
        summary="List a ticket's messages",
        description="Oldest first. Customers see the public thread; agents also internal notes.",
        parameters=[NUMBER],
        responses=_either(ANY_MESSAGE, MessageSerializer, CustomerMessageSerializer, many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Reply to a ticket",
        description=(
            "A public reply (a customer's reply reopens a solved ticket). Agents may send "
            '`"internal": true` to add an internal note instead.'
        ),
        parameters=[NUMBER],
        request=MessageCreateSerializer,
        responses={201: _either(ANY_MESSAGE, MessageSerializer, CustomerMessageSerializer)},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, number=None):
        ticket = self._ticket(number)
        agent = is_agent(request)
        if request.method != "POST":  # GET, and HEAD which DRF routes to the same handler
            page = self.paginate_queryset(thread_messages(ticket, include_internal=agent))
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if agent and data["internal"]:
            message = ticket_add_note(ticket=ticket, author=request.user, body=data["body"])
        else:
            message = ticket_reply(
                ticket=ticket, author=request.user, body=data["body"], channel=Channel.API
            )
        shown = (MessageSerializer if agent else CustomerMessageSerializer)(
            message, context=self.get_serializer_context()
        )
        return Response(shown.data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List categories",
        description="Customers see the active categories; agents all of them.",
        responses=CategorySerializer(many=True),
    )
)
class CategoryViewSet(viewsets.GenericViewSet):
    serializer_class = CategorySerializer
    pagination_class = PagePagination

    def list(self, request):
        categories = Category.objects.all()
        if not is_agent(request):
            categories = categories.filter(is_active=True)
        page = self.paginate_queryset(categories.order_by("position", "name", "pk"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(
    retrieve=extend_schema(
        summary="Download an attachment",
        description=(
            "The file of an attachment listed in a message (its `api_url`), for whoever may "
            "see that message: customers the public messages of their requests, agents "
            "everything in their desk. Anyone else gets a 404. Images, PDF and text come "
            "inline with their own type, any other file as an `application/octet-stream` "
            "download."
        ),
        parameters=[KEY],
        # The file's own type (an image, a PDF, text) or application/octet-stream.
        responses={(200, "*/*"): OpenApiTypes.BINARY},
    )
)
class AttachmentViewSet(viewsets.GenericViewSet):
    lookup_field = "key"
    lookup_value_regex = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    http_method_names = ["get", "head", "options"]

    def perform_content_negotiation(self, request, force=False):
        # The answer is a file of its own type (JSON only for errors): an Accept header
        # naming that type, or any other, is no reason for a 406.
        return super().perform_content_negotiation(request, force=True)

    def retrieve(self, request, key=None):
        attachment = attachment_for_user(key, user=request.user, membership=request.membership)
        return attachment_response(attachment)
