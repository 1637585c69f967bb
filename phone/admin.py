"""The phone channel in the tenant admin: callback requests and call logs, listed
and searchable; they are records of what happened, so never added or edited here."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin
from phone.models import CallbackRequest, CallLog
from phone.numbers import phone_number_display


class _RecordAdmin(TenantModelAdmin):
    list_select_related = ("ticket",)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_link(self, row):
        url = reverse("agent_ticket", args=[row.ticket.number])
        return format_html('<a href="{}">{}</a>', url, row.ticket)

    @admin.display(description=_("phone number"), ordering="phone_number")
    def number(self, row):
        return phone_number_display(row.phone_number)


@admin.register(CallLog)
class CallLogAdmin(_RecordAdmin):
    list_display = (
        "created_at",
        "ticket_link",
        "agent",
        "direction",
        "outcome",
        "duration",
        "number",
    )
    list_filter = ("direction", "outcome")
    list_select_related = ("ticket", "agent")
    search_fields = ("ticket__subject", "notes", "phone_number", "agent__email", "agent__full_name")
    date_hierarchy = "created_at"
    fields = (
        "ticket",
        "agent",
        "direction",
        "outcome",
        "duration",
        "number",
        "notes",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=_("duration"), ordering="duration_seconds")
    def duration(self, call):
        return call.duration_text


@admin.register(CallbackRequest)
class CallbackRequestAdmin(_RecordAdmin):
    list_display = (
        "created_at",
        "ticket_link",
        "requester",
        "number",
        "window_start",
        "window_end",
        "called_at",
    )
    list_filter = (("called_at", admin.EmptyFieldListFilter),)
    list_select_related = ("ticket", "requester")
    search_fields = ("ticket__subject", "phone_number", "requester__email", "requester__full_name")
    date_hierarchy = "created_at"
    fields = (
        "ticket",
        "requester",
        "number",
        "window_start",
        "window_end",
        "called_at",
        "called_by",
        "created_at",
    )
    readonly_fields = fields
