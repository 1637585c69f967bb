"""Who is calling the REST API: personal tokens, and who may use it at all.

- `ApiTokenAuthentication`: `Authorization: Token <key>`, looked up by digest in
  the request's tenant (see helpdesk/api_tokens.py for the rules); refused with a 403
  while its person must set up a second factor (helpdesk/second_factor.py).
- `IsTenantMember`: the caller has an active membership in the host's tenant
  (platform operators count as its admins, as in helpdesk.access).
- `IsTenantAdmin`: and is one of its admins (integrations that feed the desk data).

Session authentication (DRF's, with its CSRF check for unsafe methods) is the
other way in; both are configured in settings.REST_FRAMEWORK.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission

from helpdesk.access import effective_role, has_role
from helpdesk.api_tokens import api_token_authenticate, api_token_mark_used
from helpdesk.models import Role
from helpdesk.second_factor import token_refusal

KEYWORD = "Token"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # not ours: session authentication may still apply
        if len(parts) != 2:
            raise AuthenticationFailed(_("Send the header as “Authorization: Token <key>”."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid or revoked token.")) from None
        tenant = getattr(request, "tenant", None)
        found = api_token_authenticate(tenant=tenant, key=key) if tenant is not None else None
        if found is None:
            raise AuthenticationFailed(_("Invalid or revoked token."))
        token, membership = found
        # A desk that requires a second factor of its staff refuses their tokens until
        # they have one (helpdesk/second_factor.py): a 403 saying so, not a 401, as the
        # token itself is good.
        refused = token_refusal(token.user, tenant=tenant, membership=membership)
        if refused:
            raise PermissionDenied(refused, code="second_factor_required")
        api_token_mark_used(token)
        # The middleware attached the membership of the session's user (if any); the
        # API acts as the token's user, so helpdesk.access must see theirs.
        request._request.membership = membership
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class IsTenantMember(BasePermission):
    """An active member of the host's tenant (any role); role rules live in the views."""

    message = _("You have no access to this help desk.")

    def has_permission(self, request, view):
        return (
            getattr(request, "tenant", None) is not None
            and request.user.is_authenticated
            and effective_role(request) is not None
        )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Personal token, sent as "Token <key>" (see /account/api-tokens/).',
        }


class IsTenantAdmin(BasePermission):
    """An admin of the host's tenant (after IsTenantMember: members of weaker roles get 403)."""

    message = _("Only the help desk's admins can do this.")

    def has_permission(self, request, view):
        return has_role(request, Role.ADMIN)
