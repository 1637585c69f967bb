"""The tickets REST API (/api/v1/): serializers, pagination and viewsets.

Who sees what comes from tickets.selectors (customers: what the help center shows
them; agents and admins: their tenant), and every write is a call to
tickets.services, so the API follows the same rules as the pages. Tickets are
addressed by their per-tenant number; categories, plans and organizations by
name; people by email. Primary keys never appear.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from helpdesk.access import has_role
from helpdesk.admin_site import tenant_staff_queryset
from helpdesk.models import Role, User
from plans.models import Organization, Plan
from tickets.forms import MAX_PAGE, QueueFilterForm
from tickets.models import Category, Channel, Message, Priority, Status, Ticket
from tickets.selectors import (
    QUEUE_VIEWS,
    queue,
    thread,
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

PRIORITY_NAMES = [priority.slug for priority in Priority]  # urgent, high, medium, low
MAX_TAGS = 20


def _is_agent(request) -> bool:
    return has_role(request, Role.AGENT)


def _quoted(value: str, limit: int = 100) -> str:
    """A value echoed back in an error message, cut short if long."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# -- pagination ---------------------------------------------------------------------------


class PagePagination(BasePagination):
    """`?page=2&page_size=50`, answered without COUNT(*) (like the agent queue): one
    extra row tells whether there is a next page."""

    page_size = 50
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = self._number(request, "page", 1, MAX_PAGE)
        self.size = self._number(request, "page_size", self.page_size, self.max_page_size)
        start = (self.page - 1) * self.size
        rows = list(queryset[start : start + self.size + 1])
        self.has_next = len(rows) > self.size
        return rows[: self.size]

    @staticmethod
    def _number(request, name: str, default: int, maximum: int) -> int:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        field = serializers.IntegerField(min_value=1, max_value=maximum)
        try:
            return field.run_validation(raw)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({name: error.detail}) from None

    def _link(self, page: int) -> str:
        url = self.request.build_absolute_uri()
        return (
            remove_query_param(url, "page") if page == 1 else replace_query_param(url, "page", page)
        )

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page + 1) if self.has_next else None,
                "previous": self._link(self.page - 1) if self.page > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": str(_("Page number, from 1.")),
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": str(_("Results per page (default 50).")),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


# -- fields -------------------------------------------------------------------------------


class PriorityField(serializers.ChoiceField):
    """Priorities by name ("urgent", "high", "medium", "low"), stored as numbers."""

    def __init__(self, **kwargs):
        super().__init__(choices=PRIORITY_NAMES, **kwargs)

    def to_representation(self, value):
        return Priority(value).slug

    def to_internal_value(self, data):
        return Priority.from_name(super().to_internal_value(data))


@extend_schema_field(OpenApiTypes.STR)
class NamedField(serializers.Field):
    """An object of the tenant in scope, given by its name or email (case-insensitive)."""

    default_error_messages = {
        "invalid": _("Give a name as a string."),
        "unknown": _("There is nothing named “{value}” here."),
    }
    lookup = "name__iexact"

    def get_queryset(self) -> QuerySet:
        raise NotImplementedError

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        value = data.strip()
        found = self.get_queryset().filter(**{self.lookup: value}).first() if value else None
        if found is None:
            self.fail("unknown", value=_quoted(value))
        return found

    def to_representation(self, value):
        return getattr(value, self.lookup.split("__")[0])


class CategoryField(NamedField):
    default_error_messages = {"unknown": _("There is no category named “{value}”.")}

    def __init__(self, *, active_only: bool, **kwargs):
        self.active_only = active_only
        super().__init__(**kwargs)

    def get_queryset(self):
        categories = Category.objects.all()
        return categories.filter(is_active=True) if self.active_only else categories


class AgentField(NamedField):
    default_error_messages = {
        "invalid": _("Give the agent's email address."),
        "unknown": _("No agent or admin of this help desk has the email address “{value}”."),
    }
    lookup = "email__iexact"

    def get_queryset(self):
        return tenant_staff_queryset(self.context["request"].tenant)


class MemberField(NamedField):
    default_error_messages = {
        "invalid": _("Give the person's email address."),
        "unknown": _("No member of this help desk has the email address “{value}”."),
    }
    lookup = "email__iexact"

    def get_queryset(self):
        return User.objects.filter(
            memberships__tenant=self.context["request"].tenant, memberships__is_active=True
        )


class TagsField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=50), max_length=MAX_TAGS, **kwargs)


# -- serializers: what is shown -----------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as agents see it."""

    priority = PriorityField(read_only=True)
    category = serializers.CharField(source="category.name", read_only=True, allow_null=True)
    requester = PersonSerializer(read_only=True)
    organization = serializers.CharField(
        source="organization.name", read_only=True, allow_null=True
    )
    plan = serializers.CharField(source="organization.plan.name", read_only=True, allow_null=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    merged_into = serializers.IntegerField(
        source="merged_into.number", read_only=True, allow_null=True
    )

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "status",
            "priority",
            "category",
            "channel",
            "requester",
            "organization",
            "plan",
            "assignee",
            "tags",
            "merged_into",
            "created_at",
            "updated_at",
            "first_agent_reply_at",
            "solved_at",
            "closed_at",
        ]
        read_only_fields = fields


class CustomerTicketSerializer(TicketSerializer):
    """A ticket as its customer sees it in the help center: no assignee, tags or plan."""

    class Meta(TicketSerializer.Meta):
        fields = [
            "number",
            "subject",
            "status",
            "priority",
            "category",
            "requester",
            "created_at",
            "updated_at",
            "solved_at",
            "closed_at",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment) -> str:
        path = reverse("attachment_download", args=[attachment.key])
        return self.context["request"].build_absolute_uri(path)


class MessageSerializer(serializers.ModelSerializer):
    """A message of the thread as agents see it (internal notes included)."""

    author = PersonSerializer(read_only=True, allow_null=True)
    internal = serializers.BooleanField(source="is_internal", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["created_at", "author", "body", "body_html", "internal", "channel", "attachments"]
        read_only_fields = fields


class CustomerMessageSerializer(MessageSerializer):
    class Meta(MessageSerializer.Meta):
        fields = ["created_at", "author", "body", "body_html", "attachments"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["name", "is_active"]
        read_only_fields = fields


# -- serializers: what may be sent --------------------------------------------------------


class InputSerializer(serializers.Serializer):
    """Refuses fields it does not know instead of ignoring them, so a typo or a field
    the caller's role may not set is an error, not a silent no-op."""

    agent_only: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for name in data:
                if name in self.fields and name not in self.agent_only_here:
                    continue
                errors[name] = [
                    _("Only agents can set this.")
                    if name in self.agent_only
                    else _("Unknown field.")
                ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    @property
    def agent_only_here(self) -> frozenset[str]:
        return frozenset() if self.context.get("is_agent") else self.agent_only


class TicketCreateSerializer(InputSerializer):
    """A new ticket; the requester is the caller unless an agent names someone."""

    agent_only = frozenset({"requester", "tags"})

    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(help_text=_("Markdown."))
    category = CategoryField(active_only=True, required=False, allow_null=True)
    priority = PriorityField(required=False, default=Priority.MEDIUM)
    requester = MemberField(
        required=False,
        help_text=_("Agents only: file on behalf of this member (email). Default: yourself."),
    )
    tags = TagsField(required=False, help_text=_("Agents only."))


class TicketUpdateSerializer(InputSerializer):
    """The fields agents may change; omitted fields stay as they are."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = PriorityField(required=False)
    category = CategoryField(active_only=False, required=False, allow_null=True)
    assignee = AgentField(required=False, allow_null=True, help_text=_("Email, or null."))
    tags = TagsField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send at least one field to change."))
        return attrs


class CustomerTicketUpdateSerializer(InputSerializer):
    """Customers may only mark their request solved."""

    agent_only = frozenset({"priority", "category", "assignee", "tags"})

    status = serializers.ChoiceField(
        choices=[(Status.SOLVED.value, Status.SOLVED.label)],
        error_messages={"invalid_choice": _("You can only mark a request “solved”.")},
    )


class MessageCreateSerializer(InputSerializer):
    """A reply to the ticket, or an agent's internal note."""

    agent_only = frozenset({"internal"})

    body = serializers.CharField(help_text=_("Markdown."))
    internal = serializers.BooleanField(
        required=False, default=False, help_text=_("Agents only: an internal note.")
    )


# -- the agent queue's filters ------------------------------------------------------------


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
            if "\x00" in value:
                errors[name] = [_("This value is not valid.")]
                continue
            found = lookup(value) if value else None
            if isinstance(found, QuerySet):
                found = found.values_list("pk", flat=True).first()
            if found is None and value.isascii() and value.isdigit():
                found = value
            if found is None:
                errors[name] = [_("Nothing here is named “%(value)s”.") % {"value": _quoted(value)}]
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
    return queue(form.filters(), agent=request.user)


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
        "q", OpenApiTypes.STR, description=_("Agents: subject, requester email or #number.")
    ),
]
NUMBER = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The ticket's number.")
)


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
        responses=TicketSerializer(many=True),
    ),
    create=extend_schema(
        summary="File a ticket",
        description=(
            "Customers file for themselves. Agents may file on behalf of a member "
            "(`requester`) and set tags. Urgent priority is for plans that allow it."
        ),
        request=TicketCreateSerializer,
        responses={201: TicketSerializer},
    ),
    retrieve=extend_schema(
        summary="Show a ticket", parameters=[NUMBER], responses=TicketSerializer
    ),
    partial_update=extend_schema(
        summary="Change a ticket",
        description=(
            'Agents: status, priority, category, assignee, tags. Customers: only `{"status": '
            '"solved"}` on their own request.'
        ),
        parameters=[NUMBER],
        request=TicketUpdateSerializer,
        responses=TicketSerializer,
    ),
)
class TicketViewSet(viewsets.GenericViewSet):
    lookup_field = "number"
    # Nine digits at most: a longer number cannot exist and would overflow the column.
    lookup_value_regex = "[0-9]{1,9}"
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = PagePagination

    def get_serializer_class(self):
        agent = getattr(self, "swagger_fake_view", False) or _is_agent(self.request)
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
        context["is_agent"] = _is_agent(self.request)
        return context

    def _ticket(self, number) -> Ticket:
        """The ticket #number if the caller may see it; 404 alike for missing and not theirs."""
        if _is_agent(self.request):
            return ticket_for_agent(int(number))
        return ticket_for_customer(self.request.membership, int(number))

    def _show(self, ticket: Ticket, **kwargs) -> Response:
        serializer_class = TicketSerializer if _is_agent(self.request) else CustomerTicketSerializer
        data = serializer_class(ticket, context=self.get_serializer_context()).data
        return Response(data, **kwargs)

    def list(self, request):
        tickets = _agent_tickets(request) if _is_agent(request) else _customer_tickets(request)
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ticket = ticket_create(
            tenant=request.tenant,
            requester=data.get("requester") or request.user,
            subject=data["subject"],
            body=data["body"],
            category=data.get("category"),
            priority=data["priority"],
            channel=Channel.API,
            actor=request.user,
            tags=data.get("tags", ()),
        )
        return self._show(self._ticket(ticket.number), status=status.HTTP_201_CREATED)

    def retrieve(self, request, number=None):
        return self._show(self._ticket(number))

    def partial_update(self, request, number=None):
        ticket = self._ticket(number)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not _is_agent(request):
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
                tags=data.get("tags"),
            )
        return self._show(self._ticket(number))

    @extend_schema(
        methods=["GET"],
        summary="List a ticket's messages",
        description="Oldest first. Customers see the public thread; agents also internal notes.",
        parameters=[NUMBER],
        responses=MessageSerializer(many=True),
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
        responses={201: MessageSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, number=None):
        ticket = self._ticket(number)
        agent = _is_agent(request)
        if request.method != "POST":  # GET, and HEAD which DRF routes to the same handler
            page = self.paginate_queryset(thread(ticket, include_internal=agent))
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
        if not _is_agent(request):
            categories = categories.filter(is_active=True)
        page = self.paginate_queryset(categories.order_by("position", "name", "pk"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
