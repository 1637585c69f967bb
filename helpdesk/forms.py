from allauth.core import context
from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.input_values import date_field
from helpdesk.services import signup_allowed


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    full_name = forms.CharField(label=_("Full name"), max_length=200)

    field_order = ["full_name", "email", "password1", "password2"]

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        request = context.request
        if email and not signup_allowed(tenant=request.tenant, email=email):
            self.add_error(
                "email",
                _(
                    "Sign-up here is for people of our customer organizations. "
                    "Use your work email address, or ask your administrator for an invitation."
                ),
            )
        return cleaned

    def signup(self, request, user):
        """allauth calls this after saving the user; the adapter did the work."""


MAX_RANGE_DAYS = 366


class DateRangeForm(forms.Form):
    """A report's date range, `start` to `end` (both included), at most a year long.

    Subclasses add their own fields, or make the dates optional by declaring them
    again with `date_field(..., required=False)`. Each date is within the years any
    report covers (helpdesk/input_values.py); the range is checked once both ends are
    known."""

    start = date_field(pgettext_lazy("date range", "From"))
    end = date_field(pgettext_lazy("date range", "To"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The end date must not be before the start date."))
            if (end - start).days + 1 > MAX_RANGE_DAYS:
                raise forms.ValidationError(_("Choose a range of at most a year."))
        return data
