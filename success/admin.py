"""Customer success in Django admin.

- *Health settings* (one row per desk): band thresholds, each component's thresholds,
  and the weight profiles of the three lifecycle stages as rows beneath.
- *Health scores* and *Usage events*: read-only history (events come from the API).
- *Organizations* (plans' admin, extended here): the latest score and band in the
  list (sortable and filterable), the trend and the last 30 days with their
  components on each organization's page, and "Recompute health now".
- *Success tasks*: every touchpoint, to reassign, reschedule or cancel (they are
  created by success/touchpoints.py, not here); *Renewals*: the recorded outcomes
  (read-only: the renewal task records them); *Success notes*.
"""

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline, on_platform_host
from plans.admin import OrganizationAdmin
from plans.models import Organization
from success.display import component_rows
from success.models import (
    LINEAR_COMPONENTS,
    Band,
    Component,
    HealthScore,
    HealthSettings,
    Renewal,
    SuccessNote,
    SuccessTask,
    SuccessTaskEvent,
    UsageEvent,
    WeightProfile,
)
from success.selectors import health_trend, score_history, with_latest_health
from success.services import health_compute_now, health_settings


class WeightProfileInline(TenantTabularInline):
    model = WeightProfile
    fields = ("stage", *Component.values, "total")
    readonly_fields = ("stage", "total")
    extra = 0
    can_delete = False
    verbose_name_plural = _("Weights per lifecycle stage (each row adds up to 100)")

    def has_add_permission(self, request, obj=None):
        return False  # one row per stage, created with the settings

    @admin.display(description=_("total"))
    def total(self, profile):
        return profile.total


@admin.register(HealthSettings)
class HealthSettingsAdmin(TenantModelAdmin):
    list_display = ("__str__", "healthy_min", "at_risk_min")
    inlines = [WeightProfileInline]
    fieldsets = (
        (
            _("Bands"),
            {
                "fields": ("healthy_min", "at_risk_min"),
                "description": _(
                    "Healthy from the first value up, at risk from the second, critical below."
                ),
            },
        ),
        *(
            (
                component.label,
                {"fields": (f"{component.value}_zero", f"{component.value}_full")},
            )
            for component in map(Component, LINEAR_COMPONENTS)
        ),
        (
            Component.PAYMENT.label,
            {"fields": ("payment_overdue_score", "payment_failed_score")},
        ),
        (_("Touchpoints"), {"fields": ("dedicated_csm_min_arr",)}),
    )

    def changelist_view(self, request, extra_context=None):
        # The row exists from first use; an admin looking for it creates it (with the
        # defaults), and deleting it resets them.
        if not on_platform_host(request):
            health_settings(request.tenant)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request, *args):
        return False


class _ReadOnly:
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _components_table(components: dict) -> str:
    return render_to_string("success/admin/components.html", {"rows": component_rows(components)})


@admin.register(HealthScore)
class HealthScoreAdmin(_ReadOnly, TenantModelAdmin):
    list_display = ("organization", "day", "score", "band", "stage", "computed_at")
    list_filter = ("band", "stage")
    list_select_related = ("organization",)
    search_fields = ("organization__name",)
    date_hierarchy = "day"
    fields = ("organization", "day", "score", "band", "stage", "computed_at", "component_table")
    readonly_fields = fields

    @admin.display(description=_("components"))
    def component_table(self, score):
        return _components_table(score.components)


@admin.register(UsageEvent)
class UsageEventAdmin(_ReadOnly, TenantModelAdmin):
    list_display = ("occurred_at", "organization", "metric", "value", "feature", "event_id")
    list_filter = ("metric",)
    list_select_related = ("organization",)
    search_fields = ("event_id", "organization__name", "feature")
    date_hierarchy = "occurred_at"
    fields = (
        "organization",
        "metric",
        "value",
        "feature",
        "occurred_at",
        "event_id",
        "received_at",
    )
    readonly_fields = fields
    show_full_result_count = False


@admin.register(SuccessTask)
class SuccessTaskAdmin(TenantModelAdmin):
    list_display = ("organization", "kind", "owner", "due_date", "status", "completed_at")
    list_filter = ("status", "kind", ("owner", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("organization", "owner")
    search_fields = ("organization__name", "notes")
    date_hierarchy = "due_date"
    fields = (
        "organization",
        "kind",
        "trigger_date",
        "owner",
        "due_date",
        "status",
        "notes",
        "reason",
        "answers",
        "created_at",
        "completed_at",
        "completed_by",
    )
    readonly_fields = (
        "organization",
        "kind",
        "trigger_date",
        "reason",
        "answers",
        "created_at",
        "completed_at",
        "completed_by",
    )
    staff_user_fields = ("owner",)

    def has_add_permission(self, request, *args):
        return False  # touchpoints are created by their triggers

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and form.changed_data:
            SuccessTaskEvent.objects.create(
                tenant_id=obj.tenant_id,
                task=obj,
                actor=request.user,
                kind=SuccessTaskEvent.Kind.CHANGED,
                detail=",".join(form.changed_data),
            )


@admin.register(Renewal)
class RenewalAdmin(_ReadOnly, TenantModelAdmin):
    list_display = (
        "organization",
        "renewal_date",
        "outcome",
        "arr_before",
        "arr_after",
        "plan_before",
        "plan_after",
        "recorded_by",
    )
    list_filter = ("outcome",)
    list_select_related = ("organization", "plan_before", "plan_after", "recorded_by")
    search_fields = ("organization__name",)
    date_hierarchy = "renewal_date"
    fields = (*list_display[:-1], "task", "recorded_by", "recorded_at")
    readonly_fields = fields


@admin.register(SuccessNote)
class SuccessNoteAdmin(TenantModelAdmin):
    list_display = ("organization", "author", "created_at")
    list_select_related = ("organization", "author")
    search_fields = ("organization__name", "body")
    fields = ("organization", "author", "body", "created_at")
    readonly_fields = ("organization", "author", "created_at")

    def has_add_permission(self, request, *args):
        return False  # written on the organization's page in the agent workspace


class HealthBandFilter(admin.SimpleListFilter):
    title = _("health")
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [*Band.choices, ("none", _("Not scored yet"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(health_band__isnull=True)
        if self.value() in Band.values:
            return queryset.filter(health_band=self.value())
        return queryset


@admin.action(description=_("Recompute health now"))
def recompute_health(modeladmin, request, queryset):
    run = health_compute_now(
        tenant=request.tenant, organization_ids=list(queryset.values_list("pk", flat=True))
    )
    modeladmin.message_user(
        request,
        ngettext(
            "Health recomputed for %(count)d organization (today's score, provisional "
            "until the day is over).",
            "Health recomputed for %(count)d organizations (today's scores, provisional "
            "until the day is over).",
            run.scored,
        )
        % {"count": run.scored},
        messages.SUCCESS,
    )


class OrganizationHealthAdmin(OrganizationAdmin):
    """The organizations' admin (plans/admin.py) with their health."""

    actions = [recompute_health]

    def get_queryset(self, request):
        return with_latest_health(super().get_queryset(request))

    def get_list_display(self, request):
        name, *others = super().get_list_display(request)
        return (name, "health", *others)

    def get_list_filter(self, request):
        return (*super().get_list_filter(request), HealthBandFilter)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "health_overview")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        main = [field for field in fieldsets[0][1]["fields"] if field != "health_overview"]
        if obj is None:
            return [(None, {"fields": main})]
        return [(None, {"fields": main}), (_("Health"), {"fields": ["health_overview"]})]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if on_platform_host(request):
            actions.pop("recompute_health", None)
        return actions

    @admin.display(description=_("health"), ordering="health_score")
    def health(self, organization):
        if organization.health_score is None:
            return "—"
        return f"{organization.health_score} · {Band(organization.health_band).label}"

    @admin.display(description=_("health"))
    def health_overview(self, organization):
        history = score_history(organization, days=30)
        previous, reasons = health_trend(history, days=30)
        latest = history[0] if history else None
        return render_to_string(
            "success/admin/health_panel.html",
            {
                "latest": latest,
                "components": component_rows(latest.components) if latest else [],
                "previous": previous,
                "change": latest.score - previous.score if previous else 0,
                "reasons": [
                    (Component(name).label, points) for name, points in reasons if points < 0
                ][:3],
                "history": [
                    {"score": score, "components": component_rows(score.components)}
                    for score in history
                ],
                "component_labels": [Component(name).label for name in Component.values],
            },
        )


admin.site.unregister(Organization)
admin.site.register(Organization, OrganizationHealthAdmin)
