"""Signing in: the people of the host's desk only.

Each desk has its own people (helpdesk.models.User): on a desk's host, only that desk's
accounts can sign in or be restored from a session; on the platform host, only platform
operators (who have no desk). A password that is right for the same email at another
desk is simply wrong here, and a session cookie carried to another desk's host finds
nobody.
"""

from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.internal.userkit import filter_users_by_email

from helpdesk.tenancy import current_tenant


def belongs_here(user) -> bool:
    """Is `user` a person of the host's desk (an operator, on the platform host)?"""
    desk = current_tenant()
    return user.tenant_id == (desk.pk if desk is not None else None)


class DeskAuthenticationBackend(AuthenticationBackend):
    """allauth's email-and-password backend, limited to the host's desk."""

    def _authenticate_by_email(self, email: str, password: str):
        users = [
            user
            for user in filter_users_by_email(email, prefer_verified=True, for_login=True)
            if belongs_here(user)
        ]
        for user in users:
            if self._check_password(user, password):
                return user
        return None  # (allauth hashes the password anyway when no account was tried)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and belongs_here(user) else None
