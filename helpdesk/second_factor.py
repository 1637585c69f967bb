"""Second factors: who must have one, whether this session passed one, and the one place
pages enforce it (docs/sign-in.md).

Anyone may add an authenticator app (TOTP) or a security key (WebAuthn) at /accounts/2fa/
(allauth.mfa), and allauth then asks for it at every sign-in. Some people *must*:

- agents and admins of a desk whose `Tenant.require_staff_mfa` is on (customers never);
- platform operators on the platform host, while `settings.PLATFORM_REQUIRE_MFA` is on.

For them, on every route of both URL confs (the agent workspace, the help center, the
tenant or platform admin, the API called with a session), `SecondFactorMiddleware` sees
one of three needs:

- `Need.NOTHING`: not required, or they have an authenticator and this session passed it;
- `Need.ENROL`: no authenticator yet: they are sent to set one up, and can do nothing
  else but that (and what it takes: confirming their password, verifying their address)
  and sign out;
- `Need.VERIFY`: they have one, but this session never passed it (it began before the
  desk switched the setting on, or before they enrolled elsewhere): they are sent to
  confirm it with a code or their key, and can do nothing else but sign out.

API tokens carry no session, so `helpdesk.api_auth.ApiTokenAuthentication` asks the
same rule about the token's person: a token of someone who must have an authenticator
works once they have one (`token_refusal`). The token was made by its person while
signed in; what the setting adds is that the person's account is protected by a second
factor, which holds for their tokens from the moment they enrol.
"""

from __future__ import annotations

import enum

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

# An app or a key. Recovery codes only ever exist beside one of them (allauth deletes
# codes left alone), and are a way to pass the second factor, not a factor of their own.
AUTHENTICATOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


class Need(enum.Enum):
    NOTHING = "nothing"
    ENROL = "enrol"
    VERIFY = "verify"


# Routes (URL names, on either host) open to someone who must first set up a second factor:
# the setup pages, the password confirmation allauth asks for before adding one, the
# address verification it needs first (an unverified address cannot add one), signing
# out, the language switcher and the health check.
OPEN_WHILE_ENROLLING = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "account_reauthenticate",
        "account_email",
        "account_email_verification_sent",
        "account_confirm_email",
        "account_logout",
        "set_language",
        "healthz",
    }
)
# ... and to someone who must pass the one they have: confirming it, and signing out.
# (Not the setup pages: a session that never passed the second factor must not add
# another one and count that as passing.)
OPEN_WHILE_VERIFYING = frozenset(
    {
        "mfa_reauthenticate",
        "mfa_reauthenticate_webauthn",
        "account_logout",
        "set_language",
        "healthz",
    }
)
OPEN_ROUTES = {Need.ENROL: OPEN_WHILE_ENROLLING, Need.VERIFY: OPEN_WHILE_VERIFYING}


def second_factor_required_of(user, *, tenant, membership) -> bool:
    """Must `user`, seen at `tenant`'s host (None: the platform host) with `membership`
    (theirs there, or None), have a second factor? The one rule, for pages and tokens."""
    if not user.is_authenticated:
        return False
    if tenant is None:
        return user.is_superuser and settings.PLATFORM_REQUIRE_MFA
    return tenant.require_staff_mfa and membership is not None and membership.is_staff_member


def has_authenticator(user) -> bool:
    return is_mfa_enabled(user, list(AUTHENTICATOR_TYPES))


def session_passed_second_factor(request) -> bool:
    """Did this session pass a second factor for its person? allauth records each step of
    an authentication in the session: the sign-in's MFA stage, a re-authentication with a
    code or key, and (`record_first_enrolment`) the enrolment of a first authenticator."""
    return any(
        record.get("method") == "mfa"
        for record in get_authentication_records(request, request.user)
    )


def second_factor_need(request) -> Need:
    """What `request`'s person must still do about a second factor (computed once)."""
    need = getattr(request, "_second_factor_need", None)
    if need is None:
        need = Need.NOTHING
        if second_factor_required_of(
            request.user,
            tenant=getattr(request, "tenant", None),
            membership=getattr(request, "membership", None),
        ):
            if not has_authenticator(request.user):
                need = Need.ENROL
            elif not session_passed_second_factor(request):
                need = Need.VERIFY
        request._second_factor_need = need
    return need


def _explanation(request, need: Need) -> str:
    if need is Need.ENROL:
        if request.tenant is None:
            return _(
                "Platform operators must use two-factor sign-in. Set up an authenticator "
                "app or a security key at /accounts/2fa/ to continue."
            )
        return _(
            "%(desk)s requires two-factor sign-in for agents and admins. Set up an "
            "authenticator app or a security key at /accounts/2fa/ to continue."
        ) % {"desk": request.tenant.name}
    return _(
        "Confirm this session with your authenticator app or security key "
        "(at /accounts/2fa/reauthenticate/), or sign in again."
    )


def _verification_url(request) -> str:
    """The first second-factor confirmation the person can use (the adapter offers only
    those while a session must pass one), keeping where they were going."""
    from allauth.account.adapter import get_adapter

    methods = get_adapter(request).get_reauthentication_methods(request.user)
    return f"{methods[0]['url']}?{urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})}"


def refusal(request, need: Need):
    """The answer to a request that may not go on: JSON for the API, a redirect for pages."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _explanation(request, need)}, status=403)
    if need is Need.ENROL:
        return HttpResponseRedirect(reverse("mfa_index"))
    return HttpResponseRedirect(_verification_url(request))


class SecondFactorMiddleware:
    """Enforce `second_factor_need` on every route (see the module's docstring).

    A `process_view` hook, so the route is known by name (both URL confs name the same
    allauth pages alike) and a path that resolves to nothing stays a plain 404."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        need = second_factor_need(request)
        if need is Need.NOTHING or request.resolver_match.url_name in OPEN_ROUTES[need]:
            return None
        return refusal(request, need)


def token_refusal(user, *, tenant, membership) -> str | None:
    """Why an API token of `user` may not be used now (None: it may)."""
    if second_factor_required_of(user, tenant=tenant, membership=membership) and (
        not has_authenticator(user)
    ):
        return _(
            "%(desk)s requires two-factor sign-in for agents and admins: this token works "
            "again once its owner has set up an authenticator app or a security key at "
            "/accounts/2fa/."
        ) % {"desk": tenant.name}
    return None


def record_first_enrolment(sender, request, user, authenticator, **kwargs) -> None:
    """allauth's `authenticator_added`: a person's first app or key counts as passing the
    second factor in the session that added it. Adding it proved possession (a code from
    the app, or the key's signature), so someone sent to set one up is not asked for it
    again at once. Later ones prove nothing new and change nothing."""
    from allauth.account.internal.flows.login import record_authentication

    if authenticator.type not in AUTHENTICATOR_TYPES:
        return
    others = Authenticator.objects.filter(user_id=user.pk, type__in=AUTHENTICATOR_TYPES)
    if others.exclude(pk=authenticator.pk).exists():
        return
    record_authentication(
        request, user, "mfa", id=authenticator.pk, type=authenticator.type, enrolled=True
    )


def template_context(request) -> dict:
    """A context processor: pages say why someone was sent to set up or confirm one, and
    the top bar hides what they cannot open yet."""
    if not hasattr(request, "user"):
        return {}
    need = second_factor_need(request)
    return {
        "second_factor_must_enrol": need is Need.ENROL,
        "second_factor_must_verify": need is Need.VERIFY,
    }
