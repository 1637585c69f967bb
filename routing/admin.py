from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin
from routing.models import RoutingRule
from tickets.models import Channel, Priority

CHECKBOXES = forms.CheckboxSelectMultiple


class WordsField(forms.CharField):
    """A list typed as comma-separated text."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [part.strip()[:100] for part in text.split(",") if part.strip()]


class RoutingRuleForm(forms.ModelForm):
    priorities = forms.TypedMultipleChoiceField(
        label=_("priorities"),
        choices=Priority.choices,
        coerce=int,
        required=False,
        widget=CHECKBOXES,
    )
    channels = forms.MultipleChoiceField(
        label=_("channels"), choices=Channel.choices, required=False, widget=CHECKBOXES
    )
    languages = forms.MultipleChoiceField(
        label=_("customer's languages"),
        choices=settings.LANGUAGES,
        required=False,
        widget=CHECKBOXES,
    )
    tags = WordsField(
        label=_("tags"), required=False, help_text=RoutingRule._meta.get_field("tags").help_text
    )
    words = WordsField(
        label=_("words in the subject or description"),
        required=False,
        help_text=RoutingRule._meta.get_field("words").help_text,
    )

    class Meta:
        model = RoutingRule
        # The admin adds the rest from its fieldsets when it builds the form for a
        # request, in the desk's scope: the choices of categories, plans, organizations
        # and groups are the desk's own.
        fields = ("priorities", "channels", "languages", "tags", "words")


@admin.register(RoutingRule)
class RoutingRuleAdmin(TenantModelAdmin):
    form = RoutingRuleForm
    list_display = ("name", "group", "position", "is_active")
    list_editable = ("position", "is_active")
    list_select_related = ("group",)
    filter_horizontal = ("categories", "plans", "organizations")
    fieldsets = (
        (None, {"fields": ("name", "position", "is_active")}),
        (
            _("When a new ticket matches every condition filled in"),
            {
                "fields": (
                    "categories",
                    "priorities",
                    "plans",
                    "organizations",
                    "channels",
                    "languages",
                    "tags",
                    "words",
                )
            },
        ),
        (_("it goes to"), {"fields": ("group",)}),
    )
