"""The rule editor: triggers and automations, each with its conditions and actions as
rows typed in words, checked as they are saved, and a preview of what a rule matches."""

from contextvars import ContextVar

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantInlineMixin, TenantModelAdmin, TenantTabularInline
from plans.models import Organization, Plan
from rules.actions import clean_action, display_action_value
from rules.conditions import (
    TIME_FIELDS,
    Actor,
    BusinessHours,
    Field,
    Op,
    Update,
    ValueNames,
    fields_for,
    operators_for,
    parse_value,
)
from rules.models import Action, Automation, Condition, Rule, Trigger
from rules.services import rule_preview
from tickets.models import Category, Channel, Group, Priority, Status

# -- conditions --------------------------------------------------------------------------


class ConditionForm(forms.ModelForm):
    rule_kind = Rule.Kind.TRIGGER  # set by the inline
    # The formset's rows share one (set by the inline, per request): a query per kind of
    # named row, not per condition.
    names: ValueNames | None = None

    class Meta:
        model = Condition
        fields = ("match", "field", "operator", "value")
        widgets = {"value": forms.TextInput(attrs={"size": 28})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "---------"), *fields_for(self.rule_kind)]
        if self.instance.pk and not self.is_bound:
            names = self.names or ValueNames()
            self.initial["value"] = names(self.instance.field, self.instance.value)

    def clean(self):
        data = super().clean()
        field_name, op = data.get("field"), data.get("operator")
        if not field_name or not op:
            return data
        allowed = operators_for(field_name, self.rule_kind)
        if op not in allowed:
            self.add_error(
                "operator",
                gettext("“%(field)s” can be: %(operators)s.")
                % {
                    "field": Field(field_name).label,
                    "operators": ", ".join(str(Op(o).label) for o in allowed),
                },
            )
            return data
        try:
            data["value"] = parse_value(field_name, op, data.get("value", ""))
        except ValidationError as error:
            self.add_error("value", error)
        return data


class ConditionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(
                gettext(
                    "Give the rule at least one condition: without one it would act on "
                    "every ticket."
                )
            )
        if self.form.rule_kind == Rule.Kind.AUTOMATION and not any(
            data.get("field") in TIME_FIELDS and data.get("match") == "all" for data in kept
        ):
            raise ValidationError(
                gettext(
                    "An automation needs a time condition that must hold (“all of”): hours "
                    "since created, updated, pending or solved, or minutes until the SLA is "
                    "due. It fires once per ticket each time that clock starts again."
                )
            )


class ConditionInline(TenantTabularInline):
    model = Condition
    form = ConditionForm
    formset = ConditionFormSet
    extra = 1
    rule_kind = Rule.Kind.TRIGGER

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.rule_kind = self.rule_kind
        formset.form.names = ValueNames()
        return formset


class AutomationConditionInline(ConditionInline):
    rule_kind = Rule.Kind.AUTOMATION


# -- actions -----------------------------------------------------------------------------


class ActionForm(forms.ModelForm):
    names: ValueNames | None = None  # shared by the formset's rows (ActionInline)

    class Meta:
        model = Action
        # The webhook is added by the inline, in the desk's scope (its choices are the
        # desk's endpoints).
        fields = ("kind", "value", "subject", "body")
        widgets = {
            "value": forms.TextInput(attrs={"size": 28}),
            "body": forms.Textarea(attrs={"rows": 3, "cols": 50}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["value"] = display_action_value(
                self.instance.kind, self.instance.value, self.names
            )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        try:
            data["value"] = clean_action(
                kind,
                data.get("value", ""),
                data.get("subject", ""),
                data.get("body", ""),
                data.get("endpoint"),
            )
        except ValidationError as error:
            self.add_error("value" if kind not in ("add_note",) else "body", error)
        return data


class ActionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if not any(
            form.cleaned_data and not form.cleaned_data.get("DELETE") for form in self.forms
        ):
            raise ValidationError(gettext("Give the rule at least one action."))


class ActionInline(TenantInlineMixin, admin.StackedInline):
    model = Action
    form = ActionForm

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.names = ValueNames()
        # The desk's endpoints read once for every row's select, not once per row.
        endpoint = formset.form.base_fields["endpoint"]
        endpoint.choices = list(endpoint.choices)
        return formset

    fields = ("kind", "value", "endpoint", "subject", "body")
    formset = ActionFormSet
    extra = 1


# -- the rules ---------------------------------------------------------------------------


def value_guide() -> list[tuple[str, str]]:
    """What each field's value may be, in this desk: shown under the editor."""

    def names(rows) -> str:
        shown = [str(row) for row in rows[:30]]
        return ", ".join(shown) + (" …" if len(rows) > 30 else "") or gettext("none yet")

    def labels(choices) -> str:
        return ", ".join(str(label) for _value, label in choices.choices)

    return [
        (Field.STATUS.label, labels(Status)),
        (Field.PRIORITY.label, labels(Priority)),
        (Field.CHANNEL.label, labels(Channel)),
        (Field.CATEGORY.label, names(list(Category.objects.all()))),
        (Field.GROUP.label, names(list(Group.objects.all()))),
        (Field.PLAN.label, names(list(Plan.objects.all()))),
        (Field.ORGANIZATION.label, names(list(Organization.objects.all()[:31]))),
        (Field.ASSIGNEE.label, gettext("an agent's email; “nobody” to unassign")),
        (Field.TAGS.label, gettext("tags, separated by commas")),
        (Field.TEXT.label, gettext("words or phrases, separated by commas, in any case")),
        (Field.BUSINESS_HOURS.label, labels(BusinessHours)),
        (Field.UPDATE.label, labels(Update)),
        (Field.ACTOR.label, labels(Actor)),
        (gettext("Hours and minutes"), gettext("a whole number")),
    ]


_list_names: ContextVar[ValueNames | None] = ContextVar("rule_list_names", default=None)


class RuleAdmin(TenantModelAdmin):
    list_display = ("name", "position", "is_active", "summary")
    list_editable = ("position", "is_active")
    search_fields = ("name",)
    change_form_template = "admin/rules/rule/change_form.html"
    rule_kind = Rule.Kind.TRIGGER

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("conditions", "actions")

    def changelist_view(self, request, extra_context=None):
        # The list's conditions in words, a query per kind of named row. A context
        # variable, not an attribute: one admin object serves every request's thread.
        token = _list_names.set(ValueNames())
        try:
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()  # now, while the names are set
            return response
        finally:
            _list_names.reset(token)

    @admin.display(description=_("conditions and actions"))
    def summary(self, rule):
        names = _list_names.get() or ValueNames()
        conditions = "; ".join(
            names.condition(c.field, c.operator, c.value) for c in list(rule.conditions.all())[:3]
        )
        actions = "; ".join(str(a.get_kind_display()) for a in list(rule.actions.all())[:3])
        return f"{conditions} → {actions}"

    def _extra(self, extra_context):
        return {**(extra_context or {}), "value_guide": value_guide()}

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, self._extra(extra_context))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, self._extra(extra_context))

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="{}_{}_preview".format(*info),
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        rule = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, rule):
            return redirect("admin:index")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("What “%(name)s” matches") % {"name": rule.name},
            "rule": rule,
            "preview": rule_preview(rule),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/rules/rule/preview.html", context)


@admin.register(Trigger)
class TriggerAdmin(RuleAdmin):
    list_display = ("name", "runs_on", "position", "is_active", "summary")
    fields = ("name", "runs_on", "position", "is_active")
    inlines = [ConditionInline, ActionInline]


@admin.register(Automation)
class AutomationAdmin(RuleAdmin):
    fields = ("name", "position", "is_active")
    inlines = [AutomationConditionInline, ActionInline]
    rule_kind = Rule.Kind.AUTOMATION
