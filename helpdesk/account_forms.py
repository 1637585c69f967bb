"""allauth's forms that look people up by email, for the people of the host's desk.

allauth finds people by email across every account it knows. Each desk has its own
people (docs/people.md), so each of its forms that looks someone up by email and
answers differently for a known address sees the host's desk only (ACCOUNT_FORMS): an
address known at another desk is, here, an address nobody uses, and no answer can tell
the two apart. tests/helpdesk/test_people.py checks that these are all of allauth's
lookups. (A module of its own: allauth's forms import helpdesk.forms.SignupForm.)
"""

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.account.forms import ResetPasswordForm
from allauth.account.forms import SignupForm as AllauthSignupForm

from helpdesk.auth_backends import belongs_here
from helpdesk.models import User


class DeskSignupForm(AllauthSignupForm):
    def validate_unique_email(self, value: str) -> str:
        adapter = get_adapter()
        taken = User.objects.filter(email__iexact=value).exists()  # this desk's people
        hidden = (
            allauth_settings.PREVENT_ENUMERATION
            and allauth_settings.EMAIL_VERIFICATION
            == allauth_settings.EmailVerificationMethod.MANDATORY
        )
        if taken and not hidden:
            raise adapter.validation_error("email_taken")
        # Taken but hidden: allauth answers as for a new address and emails the
        # person that they already have an account here.
        self.account_already_exists = taken
        return adapter.validate_unique_email(value)


class DeskResetPasswordForm(ResetPasswordForm):
    def clean_email(self) -> str:
        email = super().clean_email()
        self.users = [user for user in self.users if belongs_here(user)]
        return email
