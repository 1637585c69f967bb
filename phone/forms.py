from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.input_values import IntegerField, date_field
from phone.models import CallDirection, CallOutcome
from phone.numbers import EXAMPLE, phone_number_clean
from phone.selectors import PhoneHours
from phone.services import callback_window_check


def time_field(label) -> forms.TimeField:
    """A time input (the browser's picker), its value as HH:MM in every language."""
    return forms.TimeField(
        label=label, widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
    )


# Where the services' errors about a window show on the form.
CALLBACK_ERROR_FIELDS = {"window_start": "start_time", "window_end": "end_time", "window": "day"}


class CallbackRequestForm(forms.Form):
    phone_number = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        help_text=_("With the country code, for example %(example)s.") % {"example": EXAMPLE},
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    day = date_field(_("Day"))
    start_time = time_field(pgettext_lazy("callback window", "From"))
    end_time = time_field(pgettext_lazy("callback window", "Until"))
    subject = forms.CharField(label=_("What is it about?"), max_length=200)
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional: anything we should know before we call."),
    )

    def __init__(self, *args, hours: PhoneHours, **kwargs):
        super().__init__(*args, **kwargs)
        self.hours = hours

    def clean_phone_number(self):
        return phone_number_clean(self.cleaned_data["phone_number"])

    def clean(self):
        cleaned = super().clean()
        day, start, end = (cleaned.get(name) for name in ("day", "start_time", "end_time"))
        if day is None or start is None or end is None:
            return cleaned
        # The window is read in the phone hours' own zone, which the form names.
        zone = ZoneInfo(self.hours.time_zone)
        cleaned["window_start"] = datetime.combine(day, start, tzinfo=zone)
        cleaned["window_end"] = datetime.combine(day, end, tzinfo=zone)
        try:
            callback_window_check(
                hours=self.hours,
                start=cleaned["window_start"],
                end=cleaned["window_end"],
                now=timezone.now(),
            )
        except ValidationError as error:
            self.add_service_error(error)
        return cleaned

    def add_service_error(self, error: ValidationError) -> None:
        """A service's ValidationError, on the field it is about."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            field = CALLBACK_ERROR_FIELDS.get(key, key)
            self.add_error(field if field in self.fields else None, errors)


class CallLogForm(forms.Form):
    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=CallDirection.choices,
        widget=forms.RadioSelect,
        initial=CallDirection.OUTBOUND,
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=CallOutcome.choices, initial=CallOutcome.ANSWERED
    )
    minutes = IntegerField(label=_("Minutes"), min_value=0, max_value=24 * 60, initial=0)
    seconds = IntegerField(label=_("Seconds"), min_value=0, max_value=59, initial=0)
    phone_number = forms.CharField(
        label=_("Number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Agents only: the customer never sees a call log."),
    )

    def clean_phone_number(self):
        text = self.cleaned_data["phone_number"]
        return phone_number_clean(text) if text.strip() else ""

    @property
    def duration_seconds(self) -> int:
        return self.cleaned_data["minutes"] * 60 + self.cleaned_data["seconds"]
