from datetime import date

import holidays
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline
from helpdesk.input_values import IntegerField
from plans.templatetags.plans import duration_minutes
from sla.countries import country_choices, country_for_zone
from sla.models import BusinessCalendar, CalendarDate, SLABreach, SLAPolicy, WorkingHours
from sla.services import calendar_import_holidays, working_hours_check


class WorkingHoursFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        rows = [
            (form.cleaned_data["weekday"], form.cleaned_data["start"], form.cleaned_data["end"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and {"weekday", "start", "end"} <= form.cleaned_data.keys()
        ]
        working_hours_check(rows)


class WorkingHoursInline(TenantTabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 1


class CalendarDateInline(TenantTabularInline):
    model = CalendarDate
    extra = 1


def _country_choices():
    return [("", "---------"), *country_choices()]


class HolidayImportForm(forms.Form):
    # One entry per country, named in the admin's language (sla.countries).
    country = forms.ChoiceField(label=_("Country"), choices=_country_choices)
    subdivision = forms.CharField(
        label=_("Region (optional)"),
        required=False,
        max_length=10,
        help_text=_("A state or province code, e.g. CA for California, BY for Bavaria."),
    )
    year = IntegerField(label=_("Year"), min_value=2000, max_value=2100)

    def clean(self):
        data = super().clean()
        country, subdivision = data.get("country"), data.get("subdivision", "").strip().upper()
        if country and subdivision:
            known = holidays.list_supported_countries().get(country, [])
            if subdivision not in known:
                raise ValidationError(
                    {
                        "subdivision": _("Unknown region for this country: %(known)s")
                        % {"known": ", ".join(known) or "-"}
                    }
                )
        data["subdivision"] = subdivision
        return data


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(TenantModelAdmin):
    list_display = (
        "name",
        "name_zh_hans",
        "time_zone",
        "always_open",
        "is_default",
        "hours_summary",
    )
    search_fields = ("name", "name_zh_hans")
    fields = ("name", "name_zh_hans", "time_zone", "always_open", "is_default", "holiday_import")
    readonly_fields = ("holiday_import",)
    inlines = [WorkingHoursInline, CalendarDateInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("hours")

    @admin.display(description=_("hours"))
    def hours_summary(self, calendar):
        return calendar.hours_summary

    @admin.display(description=_("public holidays"))
    def holiday_import(self, calendar):
        if not calendar.pk:
            return _("Save the calendar first.")
        url = reverse("admin:sla_businesscalendar_import_holidays", args=[calendar.pk])
        return format_html('<a href="{}">{}</a>', url, _("Import a country's public holidays"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/import-holidays/",
                self.admin_site.admin_view(self.import_holidays_view),
                name="sla_businesscalendar_import_holidays",
            ),
            *super().get_urls(),
        ]

    def import_holidays_view(self, request, pk):
        calendar = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, calendar):
            return redirect("admin:index")
        # The desk's country, as its time zones tell it: the calendar's, else the desk's.
        country = country_for_zone(calendar.time_zone) or country_for_zone(request.tenant.time_zone)
        form = HolidayImportForm(
            request.POST or None, initial={"year": date.today().year, "country": country or ""}
        )
        if request.method == "POST" and form.is_valid():
            try:
                added, kept = calendar_import_holidays(
                    calendar=calendar,
                    country=form.cleaned_data["country"],
                    year=form.cleaned_data["year"],
                    subdivision=form.cleaned_data["subdivision"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    _("%(added)d dates added, %(kept)d already in the calendar.")
                    % {"added": added, "kept": kept},
                    messages.SUCCESS,
                )
                return redirect("admin:sla_businesscalendar_change", calendar.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import public holidays into %(calendar)s") % {"calendar": calendar},
            "form": form,
            "calendar": calendar,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sla/import_holidays.html", context)


class SLAPolicyFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        # Django's own check skips rows with a blank priority (NULL), so two new
        # "every priority" rows would reach the unique constraint as a 500.
        seen = set()
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE") or "priority" not in data:
                continue
            kind = (data["priority"], data.get("category"), data.get("channel") or "")
            if kind in seen:
                raise ValidationError(
                    _(
                        "Two service levels of this plan have the same priority, category "
                        "and channel."
                    )
                )
            seen.add(kind)


class SLAPolicyInline(TenantTabularInline):
    """A plan's targets on the plan's page: one row for every priority, plus overrides."""

    model = SLAPolicy
    formset = SLAPolicyFormSet
    extra = 0
    fields = (
        "priority",
        "category",
        "channel",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "calendar",
        "escalate_priority",
        "escalation_agent",
    )
    staff_user_fields = ("escalation_agent",)
    verbose_name = _("service level")
    verbose_name_plural = _(
        "service levels (blank: every priority, category or channel without its own row)"
    )


@admin.register(SLAPolicy)
class SLAPolicyAdmin(TenantModelAdmin):
    list_display = (
        "__str__",
        "first_response",
        "next_response",
        "resolution",
        "calendar",
        "escalation_agent",
    )
    list_filter = ("plan", "priority", "category", "channel")
    list_select_related = ("plan", "calendar", "escalation_agent", "category")
    search_fields = ("plan__name",)
    staff_user_fields = ("escalation_agent",)
    fieldsets = (
        (None, {"fields": ("plan", "priority", "category", "channel", "calendar")}),
        (
            _("Targets"),
            {"fields": ("first_response_minutes", "next_response_minutes", "resolution_minutes")},
        ),
        (
            _("Warnings and escalation"),
            {
                "fields": (
                    "warning_percent",
                    "warning_max_minutes",
                    "escalate_priority",
                    "escalation_agent",
                )
            },
        ),
    )

    @admin.display(description=_("first response"), ordering="first_response_minutes")
    def first_response(self, policy):
        return duration_minutes(policy.first_response_minutes)

    @admin.display(description=_("next response"), ordering="next_response_minutes")
    def next_response(self, policy):
        return duration_minutes(policy.next_response_minutes)

    @admin.display(description=_("resolution"), ordering="resolution_minutes")
    def resolution(self, policy):
        return duration_minutes(policy.resolution_minutes)


@admin.register(SLABreach)
class SLABreachAdmin(TenantModelAdmin):
    """Breaches are facts the sweep recorded: listed, never edited."""

    list_display = ("ticket_link", "metric", "due_at", "recorded_at")
    list_filter = ("metric",)
    list_select_related = ("ticket",)
    search_fields = ("ticket__subject",)
    date_hierarchy = "due_at"

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_link(self, breach):
        url = reverse("agent_ticket", args=[breach.ticket.number])
        return format_html('<a href="{}">{}</a>', url, breach.ticket)
