"""Durations kept in whole minutes and edited as hours and minutes.

An SLA target of 48 hours is 2880 minutes in the database, which nobody should
have to type: every form of a `MinutesField` (the admin's SLA policy pages and the
plan's service-level rows alike) shows two number inputs, "[48] h [0] min", in the
reader's language, and checks both before adding them up.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.input_values import IntegerField

# A year of hours: a target beyond it is a typing mistake, and the sum stays far
# below what the column (PostgreSQL `integer`) holds.
MAX_HOURS = 24 * 366


class HoursMinutesWidget(forms.MultiWidget):
    template_name = "sla/widgets/hours_minutes.html"

    class Media:
        css = {"all": ["css/duration-input.css"]}

    def __init__(self, attrs=None):
        number = {"class": "duration-part", "inputmode": "numeric", "min": "0"}
        super().__init__(
            (
                forms.NumberInput(
                    {
                        **number,
                        "aria-label": pgettext_lazy("duration", "hours"),
                        "max": str(MAX_HOURS),
                    }
                ),
                forms.NumberInput(
                    {**number, "aria-label": pgettext_lazy("duration", "minutes"), "max": "59"}
                ),
            ),
            attrs,
        )

    def decompress(self, value):
        if value in (None, ""):
            return [None, None]
        try:
            return list(divmod(int(value), 60))
        except (TypeError, ValueError):
            return [None, None]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        units = (pgettext_lazy("duration unit", "h"), pgettext_lazy("duration unit", "min"))
        for subwidget, unit in zip(context["widget"]["subwidgets"], units, strict=True):
            subwidget["unit"] = unit
        return context


class HoursMinutesField(forms.MultiValueField):
    """Hours and minutes in, whole minutes out: '2' and '30' give 150."""

    widget = HoursMinutesWidget
    default_error_messages = {
        "required": _("Enter hours, minutes or both."),
        "too_short": _("Enter at least %(minimum)s minute."),
    }

    def __init__(self, *, min_value=1, max_value=None, **kwargs):
        # The model field's own arguments that two number inputs have no use for.
        for unused in ("widget", "step_size", "localize"):
            kwargs.pop(unused, None)
        self.min_value = max(min_value or 0, 0)
        fields = (
            IntegerField(min_value=0, max_value=MAX_HOURS, required=False),
            IntegerField(min_value=0, max_value=59, required=False),
        )
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or all(part in (None, "") for part in data_list):
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        hours, minutes = (part or 0 for part in data_list)
        total = hours * 60 + minutes
        if total < self.min_value:
            raise ValidationError(
                self.error_messages["too_short"],
                code="too_short",
                params={"minimum": self.min_value},
            )
        return total


class MinutesField(models.PositiveIntegerField):
    """A duration in whole minutes, edited as hours and minutes in every form."""

    def formfield(self, **kwargs):
        # The admin passes its integer widget for integer columns: the pair of
        # inputs replaces it.
        kwargs.pop("widget", None)
        minimum = next(
            (v.limit_value for v in self.validators if isinstance(v, MinValueValidator)), 0
        )
        return super().formfield(
            **{**kwargs, "form_class": HoursMinutesField, "min_value": minimum}
        )
