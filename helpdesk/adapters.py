"""django-allauth wired to tenancy: who may sign up and log in where, how mail leaves,
and the second factor (allauth.mfa) on each desk's host and the platform's."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import render

from helpdesk.models import Membership
from helpdesk.second_factor import (
    AUTHENTICATOR_TYPES,
    Need,
    second_factor_need,
    second_factor_required_of,
)
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
        """Refuse to log in a person of this desk whose membership ended, and on the
        platform host anyone but a platform operator (people of other desks never get
        this far: helpdesk.auth_backends)."""
        response = super().pre_login(request, user, **kwargs)
        if response is not None:
            return response
        if request.tenant is None:
            allowed = user.is_superuser
        else:
            allowed = Membership.objects.filter(user=user, is_active=True).exists()
        if not allowed:
            if request.user.is_authenticated:
                logout(request)
            raise ImmediateHttpResponse(
                render(
                    request, "helpdesk/no_access.html", {"refused_email": user.email}, status=403
                )
            )
        return None

    def _request(self):
        # allauth hands the adapter its request where it has one (mail sent after commit
        # runs outside the request's context).
        return self.request or context.request

    def get_from_email(self):
        tenant = self._request().tenant
        sender = super().get_from_email()
        return sender if tenant is None else tenant_from_email(tenant, sender)

    def send_mail(self, template_prefix, email, data):
        """Render now (in the request's language), deliver later through the outbox."""
        request = self._request()
        data = {"request": request, "email": email, "tenant": request.tenant, **data}
        message = self.render_mail(template_prefix, email, data)
        if request.tenant is None:
            # A platform operator's own account mail (a confirmation link, a notice that a
            # second factor changed): no desk owns it, so no desk's outbox holds it. It
            # leaves now, as Django's admin sends its mail.
            message.send()
            return
        email_queue(tenant=request.tenant, message=message)

    def get_reauthentication_methods(self, user):
        """While a session must pass its person's second factor (helpdesk.second_factor),
        only a code or a key will do: a password confirms nothing it has not seen."""
        methods = super().get_reauthentication_methods(user)
        request = context.request
        if request is not None and second_factor_need(request) is Need.VERIFY:
            methods = [method for method in methods if method["id"].startswith("mfa_")]
        return methods


class MFAAdapter(DefaultMFAAdapter):
    """allauth.mfa on each desk's host: the desk's name in authenticator apps and on
    security keys, and the last app or key of someone who must have one stays."""

    def _site_name(self) -> str:
        tenant = context.request.tenant
        return tenant.name if tenant is not None else f"Helpdesk ({settings.BASE_DOMAIN})"

    def get_totp_issuer(self) -> str:
        # Shown beside the code in the person's app: one entry per desk they belong to.
        return self._site_name()

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        # The id stays allauth's (the host name without port): a key added on one desk's
        # host signs for that host only.
        return {**super().get_public_key_credential_rp_entity(), "name": self._site_name()}

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        request = context.request
        required = second_factor_required_of(
            authenticator.user,
            tenant=getattr(request, "tenant", None),
            membership=getattr(request, "membership", None),
        )
        if not required:
            return True
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id, type__in=AUTHENTICATOR_TYPES
        ).exclude(pk=authenticator.pk)
        return others.exists()
