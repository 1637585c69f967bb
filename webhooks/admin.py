import json

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline
from webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    webhook_endpoint_enable,
    webhook_endpoint_rotate_secret,
    webhook_send_again,
    webhook_send_test,
    webhook_url_problem,
)

Format = WebhookEndpoint.Format
SIGNING_CHAT_TOOLS = (Format.DINGTALK, Format.FEISHU)


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=WebhookEndpoint._meta.get_field("events").help_text,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "url", "format", "events", "is_active", "chat_secret")

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        # The same check as at every delivery (webhooks.network), told in words here.
        problem = webhook_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("chat_secret") and cleaned.get("format") not in SIGNING_CHAT_TOOLS:
            self.add_error(
                "chat_secret",
                _("Only DingTalk and Feishu robots sign with a secret; leave this empty."),
            )
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantModelAdmin):
    form = WebhookEndpointForm
    list_display = (
        "name",
        "format",
        "host",
        "is_active",
        "consecutive_failures",
        "last_success_at",
        "disabled_at",
    )
    list_filter = ("format", "is_active")
    search_fields = ("name",)
    readonly_fields = (
        "secret",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "disabled_at",
        "disabled_reason",
        "delivery_log",
    )
    actions = ["send_test_event", "rotate_secret", "turn_on_again"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ("name", "url", "format", "events", "is_active")}),
            (
                _("Signatures"),
                {"fields": (("secret",) if obj else ()) + ("chat_secret",)},
            ),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    _("Deliveries"),
                    {
                        "fields": (
                            "consecutive_failures",
                            "last_success_at",
                            "last_failure_at",
                            "disabled_at",
                            "disabled_reason",
                            "delivery_log",
                        )
                    },
                )
            )
        return fieldsets

    @admin.display(description=_("posts to"))
    def host(self, endpoint):
        from urllib.parse import urlsplit

        # Not the whole URL in the list: a chat tool's key is in its path or query.
        return urlsplit(endpoint.url).netloc

    @admin.display(description=_("delivery log"))
    def delivery_log(self, endpoint):
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">{}</a>',
            url,
            endpoint.pk,
            _("This endpoint's deliveries"),
        )

    def save_model(self, request, obj, form, change):
        turned_on = change and "is_active" in form.changed_data and obj.is_active
        super().save_model(request, obj, form, change)
        if turned_on:
            webhook_endpoint_enable(endpoint=obj)

    @admin.action(description=_("Send a test event"))
    def send_test_event(self, request, queryset):
        endpoints = list(queryset)
        for endpoint in endpoints:
            webhook_send_test(endpoint=endpoint)
        self.message_user(
            request,
            ngettext(
                "A test event was queued for %(count)d endpoint; its delivery log shows "
                "the answer.",
                "A test event was queued for %(count)d endpoints; their delivery log shows "
                "the answers.",
                len(endpoints),
            )
            % {"count": len(endpoints)},
        )
        off = sum(not endpoint.is_active for endpoint in endpoints)
        if off:
            self.message_user(
                request,
                ngettext(
                    "%(count)d endpoint is turned off: its test waits until it is turned on.",
                    "%(count)d endpoints are turned off: their tests wait until they are "
                    "turned on.",
                    off,
                )
                % {"count": off},
                messages.WARNING,
            )

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request, queryset):
        rotated = [webhook_endpoint_rotate_secret(endpoint=endpoint) for endpoint in queryset]
        self.message_user(
            request,
            ngettext(
                "%(count)d endpoint has a new signing secret: give it to the receiving side.",
                "%(count)d endpoints have a new signing secret: give them to the receiving side.",
                len(rotated),
            )
            % {"count": len(rotated)},
            messages.WARNING,
        )

    @admin.action(description=_("Turn on again (failures count from zero)"))
    def turn_on_again(self, request, queryset):
        endpoints = list(queryset)
        for endpoint in endpoints:
            webhook_endpoint_enable(endpoint=endpoint)
        self.message_user(
            request,
            ngettext(
                "%(count)d endpoint is on; what waited for it is sent within a minute.",
                "%(count)d endpoints are on; what waited for them is sent within a minute.",
                len(endpoints),
            )
            % {"count": len(endpoints)},
        )


class WebhookAttemptInline(TenantTabularInline):
    model = WebhookAttempt
    fields = ("number", "started_at", "response_status", "response_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantModelAdmin):
    """The delivery log, read-only: what was posted where, and how each attempt went."""

    list_display = (
        "event_type",
        "endpoint",
        "status",
        "response_status",
        "response_ms",
        "attempts",
        "created_at",
        "delivered_at",
    )
    list_filter = ("endpoint", "status", "event_type")
    list_select_related = ("endpoint",)
    fields = (
        "endpoint",
        "event_type",
        "event_id",
        "delivery_id",
        "status",
        "attempts",
        "next_attempt_at",
        "response_status",
        "response_ms",
        "error",
        "response_excerpt",
        "posted_payload",
        "message",
        "created_at",
        "delivered_at",
    )
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    @admin.display(description=_("payload"))
    def posted_payload(self, delivery):
        text = json.dumps(delivery.payload, indent=2, ensure_ascii=False)
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', text)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again (failed deliveries)"))
    def send_again(self, request, queryset):
        queued = sum(webhook_send_again(delivery=delivery) for delivery in queryset)
        skipped = len(queryset) - queued
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued again.", "%(count)d deliveries queued again.", queued
            )
            % {"count": queued},
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery was left alone: only failed ones are sent again.",
                    "%(count)d deliveries were left alone: only failed ones are sent again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
