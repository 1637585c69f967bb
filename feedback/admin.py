"""Feedback in Django admin: the desk's survey settings, the answers, the form's
submissions (browsable and exportable as CSV) and the opt-outs."""

import csv

from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from feedback.models import (
    CsatSurvey,
    FeedbackSettings,
    FeedbackSubmission,
    NpsSurvey,
    SurveyOptOut,
)
from helpdesk.admin_site import TenantModelAdmin


@admin.register(FeedbackSettings)
class FeedbackSettingsAdmin(TenantModelAdmin):
    list_display = ("__str__", "csat_enabled", "csat_delay_minutes", "nps_enabled")
    fieldsets = (
        (
            _("Satisfaction (CSAT) after each solved ticket"),
            {"fields": ("csat_enabled", "csat_delay_minutes", "csat_excluded_categories")},
        ),
        (_("Net Promoter Score (NPS)"), {"fields": ("nps_enabled", "nps_interval_days")}),
        (_("Help center feedback form"), {"fields": ("form_open_to_visitors",)}),
    )
    filter_horizontal = ("csat_excluded_categories",)

    def has_add_permission(self, request, *args):
        # One row per desk, created with the defaults on first use (deleting it
        # resets the defaults).
        return super().has_add_permission(request, *args) and not (
            FeedbackSettings.objects.exists()
        )


class _ReadOnly:
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CsatSurvey)
class CsatSurveyAdmin(_ReadOnly, TenantModelAdmin):
    list_display = ("ticket_number", "recipient", "agent", "status", "sent_at", "rating", "comment")
    list_filter = ("status", "rating")
    list_select_related = ("ticket", "recipient", "agent")
    search_fields = ("ticket__number", "recipient__email", "comment")
    date_hierarchy = "sent_at"
    fields = (
        "ticket",
        "recipient",
        "agent",
        "status",
        "solved_at",
        "send_at",
        "sent_at",
        "rating",
        "comment",
        "rated_at",
    )
    readonly_fields = fields

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, survey):
        return f"#{survey.ticket.number}"


@admin.register(NpsSurvey)
class NpsSurveyAdmin(_ReadOnly, TenantModelAdmin):
    list_display = ("recipient", "organization", "plan", "sent_at", "score", "comment")
    list_filter = ("plan", "score")
    list_select_related = ("recipient", "organization", "plan")
    search_fields = ("recipient__email", "organization__name", "comment")
    date_hierarchy = "sent_at"
    fields = ("recipient", "organization", "plan", "sent_at", "score", "comment", "responded_at")
    readonly_fields = fields


def _feedback_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="help-center-feedback-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(["received", "ease", "ease label", "feedback", "page", "from", "language"])
    for entry in queryset.select_related("user").order_by("-created_at"):
        writer.writerow(
            [
                timezone.localtime(entry.created_at).isoformat(timespec="minutes"),
                entry.ease,
                entry.get_ease_display(),
                entry.text,
                entry.page,
                entry.user.email if entry.user else "",
                entry.language,
            ]
        )
    return response


_feedback_csv.short_description = _("Export selected feedback as CSV")


@admin.register(FeedbackSubmission)
class FeedbackSubmissionAdmin(_ReadOnly, TenantModelAdmin):
    list_display = ("created_at", "ease", "short_text", "page", "user", "language")
    list_filter = ("ease", "language")
    list_select_related = ("user",)
    search_fields = ("text", "page")
    date_hierarchy = "created_at"
    fields = ("created_at", "ease", "text", "page", "user", "language")
    readonly_fields = fields
    actions = [_feedback_csv]

    @admin.display(description=_("feedback"))
    def short_text(self, entry):
        return entry.text if len(entry.text) <= 80 else entry.text[:79] + "…"


@admin.register(SurveyOptOut)
class SurveyOptOutAdmin(TenantModelAdmin):
    list_display = ("user", "created_at")
    search_fields = ("user__email",)
