"""/api/v1/success/events/: a tenant's product reports usage and payments.

POST one event, or a list of up to 1,000, with an admin's token. Each event names
its organization (its id, or its name), a metric, a value, when it happened and the
sender's own id for it; an id the desk already has is a duplicate and changes
nothing, so a retried post is harmless. A batch is all or nothing: if any event is
invalid, none is recorded and the answer says which ones and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from helpdesk.api_auth import IsTenantAdmin, IsTenantMember
from helpdesk.input_values import ApiDateTimeField
from success.models import Metric
from success.selectors import organizations_by_reference
from success.services import EVENTS_PER_REQUEST, NewEvent, event_problems, events_record
from tickets.api.common import quoted
from tickets.api.serializers import InputSerializer


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class OrganizationReference(serializers.Field):
    """An organization by its id (a number) or its name (a string, any case); looked up
    for the whole batch at once by the view."""

    default_error_messages = {
        "invalid": _("Give the organization's id (a number) or its name (a string)."),
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str):
            data = data.strip()
            if not data or len(data) > 200:
                self.fail("invalid")
        elif not 1 <= data < 2**63:  # beyond a bigint no id exists (nor fits a query)
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class UsageEventSerializer(InputSerializer):
    event_id = serializers.CharField(
        max_length=100,
        help_text=_("Your own id for this event; sending it again is a harmless duplicate."),
    )
    organization = OrganizationReference(help_text=_("The organization's id, or its name."))
    metric = serializers.ChoiceField(choices=Metric.choices)
    value = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        coerce_to_string=False,
        required=False,
        default=Decimal(1),
        help_text=_(
            "How many (logins, records created) or how much (an invoice's amount); default 1."
        ),
    )
    timestamp = ApiDateTimeField(
        help_text=_("When it happened, ISO 8601; without an offset, in the desk's time zone.")
    )
    feature = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("feature_used only: which feature."),
    )

    def validate(self, attrs):
        problems = event_problems(
            metric=attrs["metric"],
            value=attrs["value"],
            feature=attrs["feature"],
            occurred_at=attrs["timestamp"],
            now=timezone.now(),
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class EventsRecordedSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text=_("Events recorded now."))
    duplicates = serializers.IntegerField(
        help_text=_("Events whose id the desk already had (not recorded again).")
    )


class BatchErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.ListField(
        child=serializers.DictField(),
        help_text=_('One entry per invalid event: {"index": n, "errors": {"field": ["message"]}}.'),
    )


EXAMPLE = {
    "event_id": "evt_2026-11-20_1842",
    "organization": 42,
    "metric": "login",
    "value": 3,
    "timestamp": "2026-11-20T09:30:00Z",
}


@extend_schema(
    summary="Report usage and payment events",
    description=(
        "Tenant admins' tokens only. Send one event or a list of up to 1,000. Metrics: "
        "`login`, `feature_used` (with `feature`), `records_created`, `invoice_paid`, "
        "`invoice_overdue`, `payment_failed`. An `event_id` already received is counted "
        "as a duplicate and changes nothing. 201 when something was recorded, 200 when "
        "everything was a duplicate. A batch with an invalid event records nothing: 400 "
        "lists each invalid event by its position."
    ),
    request=PolymorphicProxySerializer(
        component_name="UsageEventOrBatch",
        serializers=[UsageEventSerializer, UsageEventSerializer(many=True)],
        resource_type_field_name=None,
        many=False,
    ),
    responses={
        201: EventsRecordedSerializer,
        200: EventsRecordedSerializer,
        400: BatchErrorSerializer,
    },
    examples=[
        OpenApiExample("One event", value=EXAMPLE, request_only=True),
        OpenApiExample(
            "A batch",
            value=[
                EXAMPLE,
                {
                    "event_id": "evt_2026-11-20_1843",
                    "organization": "Globex Corporation",
                    "metric": "feature_used",
                    "feature": "dashboards",
                    "timestamp": "2026-11-20T09:31:00Z",
                },
            ],
            request_only=True,
        ),
    ],
)
class UsageEventViewSet(viewsets.GenericViewSet):
    permission_classes = [IsTenantMember, IsTenantAdmin]
    serializer_class = UsageEventSerializer
    http_method_names = ["post", "options"]

    def create(self, request):
        data = request.data
        if isinstance(data, Mapping):
            return self._record([data], single=True)
        if not isinstance(data, list):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Send an event object or a list of them.")]}
            )
        if not data:
            raise serializers.ValidationError({"non_field_errors": [_("Send at least one event.")]})
        if len(data) > EVENTS_PER_REQUEST:
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        _("Send at most %(count)s events at once.")
                        % {"count": f"{EVENTS_PER_REQUEST:,}"}
                    ]
                }
            )
        return self._record(data, single=False)

    def _record(self, items: list, *, single: bool) -> Response:
        checker = UsageEventSerializer(context=self.get_serializer_context())
        valid: dict[int, dict] = {}
        errors: dict[int, dict] = {}
        for index, item in enumerate(items):
            try:
                valid[index] = checker.run_validation(item)
            except serializers.ValidationError as error:
                detail = error.detail
                errors[index] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        found, unknown = organizations_by_reference(
            [attrs["organization"] for attrs in valid.values()]
        )
        for index, attrs in valid.items():
            if attrs["organization"] in unknown:
                errors[index] = {
                    "organization": [
                        _("There is no organization “%(value)s” here.")
                        % {"value": quoted(str(attrs["organization"]))}
                    ]
                }
        if errors:
            if single:
                raise serializers.ValidationError(errors[0])
            # Returned rather than raised: DRF would turn the indexes into strings.
            return Response(
                {
                    "detail": _("Nothing was recorded: %(bad)d of %(total)d events are not valid.")
                    % {"bad": len(errors), "total": len(items)},
                    "errors": [
                        {"index": index, "errors": errors[index]} for index in sorted(errors)
                    ],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        recorded = events_record(
            tenant=self.request.tenant,
            events=[
                NewEvent(
                    organization_id=found[attrs["organization"]],
                    metric=attrs["metric"],
                    occurred_at=attrs["timestamp"],
                    event_id=attrs["event_id"],
                    value=attrs["value"],
                    feature=attrs["feature"].strip(),
                )
                for attrs in valid.values()
            ],
        )
        return Response(
            EventsRecordedSerializer(recorded).data,
            status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK,
        )
