"""django-allauth wired to tenancy: who may sign up and log in where, and how mail leaves."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from django.contrib.auth import logout
from django.shortcuts import render

from helpdesk.models import Membership
from helpdesk.services import email_queue, membership_create, tenant_from_email


class AccountAdapter(DefaultAccountAdapter):
    def new_user(self, request):
        """A person signing up joins the host's desk, and only it (docs/people.md)."""
        user = super().new_user(request)
        user.tenant = request.tenant
        return user

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # Failed logins count per desk: a flood of wrong passwords at one desk's host
        # cannot lock the same address out of another desk (its own account there).
        login = credentials.get("email", credentials.get("username", "")).lower()
        return f"desk-{request.tenant.pk if request.tenant else 'platform'}:{login}"

    def is_open_for_signup(self, request) -> bool:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return False
        return tenant.signup_policy != tenant.SignupPolicy.INVITE_ONLY

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        user.full_name = form.cleaned_data.get("full_name", "")
        user.preferred_language = request.LANGUAGE_CODE
        user.save(update_fields=["full_name", "preferred_language"])
        membership_create(tenant=request.tenant, user=user)
        return user

    def pre_login(self, request, user, **kwargs):
        """Refuse to log in a person of this desk whose membership ended (people of
        other desks never get this far: helpdesk.auth_backends)."""
        response = super().pre_login(request, user, **kwargs)
        if response is not None:
            return response
        if not Membership.objects.filter(user=user, is_active=True).exists():
            if request.user.is_authenticated:
                logout(request)
            raise ImmediateHttpResponse(
                render(
                    request, "helpdesk/no_access.html", {"refused_email": user.email}, status=403
                )
            )
        return None

    def get_from_email(self):
        return tenant_from_email(context.request.tenant, super().get_from_email())

    def send_mail(self, template_prefix, email, data):
        """Render now (in the request's language), deliver later through the outbox."""
        request = context.request
        data = {"request": request, "email": email, "tenant": request.tenant, **data}
        message = self.render_mail(template_prefix, email, data)
        email_queue(tenant=request.tenant, message=message)
