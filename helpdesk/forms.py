from allauth.core import context
from django import forms
from django.utils.translation import gettext_lazy as _

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
