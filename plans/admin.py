from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline
from plans.models import Organization, OrganizationDomain, Plan, PlanSettings
from sla.admin import SLAPolicyInline


@admin.register(Plan)
class PlanAdmin(TenantModelAdmin):
    list_display = (
        "name",
        "rank",
        "monthly_price",
        "currency",
        "channel_list",
    )
    ordering = ("rank",)
    search_fields = ("name",)
    inlines = [SLAPolicyInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "rank",
                    "monthly_price",
                    "currency",
                    "allows_urgent",
                    "help_center_blurb",
                    "help_center_blurb_zh_hans",
                    "upgrade_url",
                )
            },
        ),
        (
            _("Channels"),
            {
                "fields": (
                    "offers_web",
                    "offers_email",
                    "offers_chat",
                    "chat_details",
                    "offers_phone",
                    "phone_number",
                )
            },
        ),
    )

    @admin.display(description=_("channels"))
    def channel_list(self, plan):
        # Named as the plan's form names them, in the admin's language.
        return ", ".join(
            str(Plan._meta.get_field(f"offers_{channel}").verbose_name) for channel in plan.channels
        )


@admin.register(PlanSettings)
class PlanSettingsAdmin(TenantModelAdmin):
    """One row per desk (created with the defaults when a help-center page first needs
    it; deleting it resets them)."""

    list_display = ("__str__", "support_email", "upgrade_url")
    fields = ("support_email", "upgrade_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and not PlanSettings.objects.exists()


class OrganizationDomainInline(TenantTabularInline):
    model = OrganizationDomain
    extra = 1


@admin.register(Organization)
class OrganizationAdmin(TenantModelAdmin):
    list_display = (
        "name",
        "plan",
        "arr",
        "contract_start",
        "renewal_date",
        "success_manager",
        "member_count",
    )
    list_filter = ("plan",)
    search_fields = ("name", "domains__domain")
    list_select_related = ("plan", "success_manager")
    inlines = [OrganizationDomainInline]
    staff_user_fields = ("success_manager",)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(member_total=Count("memberships", distinct=True))
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "plan" in form.changed_data:
            from tickets.services import tickets_follow_plan

            tickets_follow_plan(organization=obj, actor=request.user)

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, organization):
        return organization.member_total
