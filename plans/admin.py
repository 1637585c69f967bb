from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline
from plans.models import Organization, OrganizationDomain, Plan
from plans.templatetags.plans import duration_minutes


@admin.register(Plan)
class PlanAdmin(TenantModelAdmin):
    list_display = (
        "name",
        "rank",
        "monthly_price",
        "currency",
        "first_response",
        "next_response",
        "resolution",
        "channel_list",
    )
    ordering = ("rank",)
    search_fields = ("name",)
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
                )
            },
        ),
        (
            _("Response targets"),
            {"fields": ("first_response_minutes", "next_response_minutes", "resolution_minutes")},
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

    @admin.display(description=_("first response"), ordering="first_response_minutes")
    def first_response(self, plan):
        return duration_minutes(plan.first_response_minutes)

    @admin.display(description=_("next response"), ordering="next_response_minutes")
    def next_response(self, plan):
        return duration_minutes(plan.next_response_minutes)

    @admin.display(description=_("resolution"), ordering="resolution_minutes")
    def resolution(self, plan):
        return duration_minutes(plan.resolution_minutes)

    @admin.display(description=_("channels"))
    def channel_list(self, plan):
        return ", ".join(plan.channels)


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

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, organization):
        return organization.member_total
