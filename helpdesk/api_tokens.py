"""Personal API tokens: create, revoke, and recognise them on a request.

A token acts as its user in the tenant it was created in. Only the SHA-256
digest of the key is stored (`ApiToken.digest_of`); the key itself is returned
once by `api_token_create` and never again.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import ApiToken, Membership, Role, Tenant, User
from helpdesk.queries import unique_match

logger = logging.getLogger(__name__)

# Active (unrevoked) tokens one person may hold in one tenant.
MAX_ACTIVE_TOKENS = 20
# `last_used_at` is a hint for people deciding what to revoke, not an access log:
# writing it on every request would turn each API read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
PREFIX_LENGTH = ApiToken._meta.get_field("prefix").max_length


def _new_key(user: User) -> str:
    # 32 random bytes; the prefix (its first characters) names the token in lists and
    # URLs, so it is kept unique among the person's tokens.
    while True:
        key = secrets.token_urlsafe(32)
        if not ApiToken.objects.filter(user=user, prefix=key[:PREFIX_LENGTH]).exists():
            return key


@transaction.atomic
def api_token_create(*, tenant: Tenant, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` in `tenant`, and its key (shown to the person once)."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("Give the token a name, such as the program using it.")})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": _("Use at most %(count)d characters.") % {"count": NAME_MAX_LENGTH}}
        )
    if not Membership.objects.filter(tenant=tenant, user=user, is_active=True).exists():
        raise ValidationError(_("Only members of this help desk can create API tokens."))
    active = ApiToken.objects.filter(tenant=tenant, user=user, revoked_at__isnull=True)
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(
            _("You have %(count)d active tokens; revoke one before creating another.")
            % {"count": MAX_ACTIVE_TOKENS}
        )
    key = _new_key(user)
    token = ApiToken.objects.create(
        tenant=tenant,
        user=user,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        digest=ApiToken.digest_of(key),
    )
    logger.info("API token %s created by user %s in tenant %s", token.prefix, user.pk, tenant.pk)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> bool:
    """Revoke `token` for good; True if this call revoked it, False if it already was.

    Its owner may revoke it, and so may an admin of its tenant (someone leaving, a
    leaked key). The conditional UPDATE keeps the first revocation time when two
    requests race.
    """
    is_tenant_admin = Membership.objects.filter(
        tenant_id=token.tenant_id, user=actor, role=Role.ADMIN, is_active=True
    ).exists()
    if actor.pk != token.user_id and not is_tenant_admin:
        raise PermissionDenied(_("Only the token's owner or an admin can revoke it."))
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    if revoked:
        logger.info("API token %s revoked by user %s", token.prefix, actor.pk)
    return bool(revoked)


def api_tokens_of(user: User) -> list[ApiToken]:
    """The person's tokens in the tenant in scope, newest first (revoked ones too)."""
    return list(ApiToken.objects.filter(user=user).order_by("-created_at", "-pk"))


def api_token_for_user(user: User, prefix: str) -> ApiToken:
    """The person's own token with this prefix in the tenant in scope; 404 otherwise."""
    token = ApiToken.objects.filter(user=user, prefix=prefix).first()
    if token is None:
        raise Http404
    return token


def api_token_authenticate(*, tenant: Tenant, key: str) -> tuple[ApiToken, Membership] | None:
    """The active token with this key in `tenant` and its user's membership, or None.

    Called inside the tenant's scope, so a token of another tenant is not found.
    A token stops working when it is revoked, its user is deactivated, or the
    user's membership in the tenant ends.
    """
    token = unique_match(
        ApiToken.objects.filter(
            tenant=tenant, digest=ApiToken.digest_of(key), revoked_at__isnull=True
        ).select_related("user")
    )
    if token is None or not token.user.is_active:
        return None
    # With the organization (customers' visibility rules need it) but not its plan,
    # which the API reads only when a customer asks for urgent priority.
    membership = unique_match(
        Membership.objects.filter(tenant=tenant, user=token.user, is_active=True).select_related(
            "organization"
        )
    )
    if membership is None:
        return None
    return token, membership


def api_token_mark_used(token: ApiToken) -> None:
    """Record that the token was used, at most once per `LAST_USED_GRANULARITY`.

    Skipped without a query while the loaded time is recent; otherwise a conditional
    UPDATE, so concurrent requests write the time once.
    """
    now = timezone.now()
    cutoff = now - LAST_USED_GRANULARITY
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return
    updated = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff))
        .update(last_used_at=now)
    )
    if updated:
        token.last_used_at = now


__all__ = [
    "LAST_USED_GRANULARITY",
    "MAX_ACTIVE_TOKENS",
    "api_token_authenticate",
    "api_token_create",
    "api_token_for_user",
    "api_token_mark_used",
    "api_token_revoke",
    "api_tokens_of",
]
