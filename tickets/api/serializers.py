"""How tickets, messages and categories look in JSON, and the input they accept."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import serializers

from helpdesk.admin_site import tenant_staff_queryset
from helpdesk.models import User
from helpdesk.queries import unique_match
from tickets.api.common import MAX_TAGS, PRIORITY_NAMES, quoted
from tickets.models import Category, Group, Message, Priority, Status, Ticket


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
        if not isinstance(data, str):
            self.fail("invalid")
        value = data.strip()
        found = unique_match(self.get_queryset().filter(**{self.lookup: value})) if value else None
        if found is None:
            self.fail("unknown", value=quoted(value))
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


class GroupField(NamedField):
    default_error_messages = {"unknown": _("There is no group named “{value}”.")}

    def get_queryset(self):
        return Group.objects.all()


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
    group = serializers.CharField(source="group.name", read_only=True, allow_null=True)
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
            "group",
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
    url = serializers.SerializerMethodField(
        help_text=_("The file in the help center, for a signed-in browser.")
    )
    api_url = serializers.SerializerMethodField(
        help_text=_("The file through the API, with a token (or a browser session).")
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, attachment) -> str:
        return self._absolute("attachment_download", attachment)

    @extend_schema_field(OpenApiTypes.URI)
    def get_api_url(self, attachment) -> str:
        return self._absolute("api-attachment-detail", attachment)

    def _absolute(self, view_name: str, attachment) -> str:
        path = reverse(view_name, args=[attachment.key])
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
    group = GroupField(required=False, allow_null=True, help_text=_("Its name, or null."))
    tags = TagsField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send at least one field to change."))
        return attrs


class CustomerTicketUpdateSerializer(InputSerializer):
    """Customers may only mark their request solved."""

    agent_only = frozenset({"priority", "category", "assignee", "group", "tags"})

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
