"""The signed links in survey emails: rate, comment and opt out without logging in.

A token is Django's signed, timestamped payload naming its purpose, the tenant,
and the survey (or person) it speaks for. It is checked against the host it is
opened on and the request number in its URL, so a link cannot be edited to rate
another survey, opened on another help desk, or pasted under another request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.utils.translation import gettext_lazy as _

SALT = "feedback.survey-link"
# How long the links in a survey email work; answers stay editable for
# EDIT_WINDOW after they are first given (feedback/services.py).
LINK_LIFETIME = timedelta(days=30)


class InvalidLink(Exception):
    """Why a link cannot be used, phrased for the person who clicked it."""

    def __init__(self, message, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LinkTarget:
    kind: str  # csat, nps or opt-out
    tenant_id: int
    object_id: int
    ticket_number: int | None = None


def make(target: LinkTarget) -> str:
    payload = [target.kind, target.tenant_id, target.object_id, target.ticket_number]
    return signing.dumps(payload, salt=SALT, compress=True)


def read(token: str, *, kind: str, tenant, ticket_number: int | None = None) -> LinkTarget:
    """The target of a valid, unexpired link of `kind` on `tenant`'s help desk."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        raise InvalidLink(
            _("This survey link has expired. Thank you all the same."), status=410
        ) from None
    except signing.BadSignature:
        raise InvalidLink(
            _("This link is not valid. Please use the link from your email as it was sent.")
        ) from None
    try:
        found = LinkTarget(*payload)
    except TypeError:
        raise InvalidLink(_("This link is not valid.")) from None
    if found.kind != kind:
        raise InvalidLink(_("This link is not valid."))
    if found.tenant_id != tenant.pk:
        raise InvalidLink(_("This link belongs to another help desk."), status=404)
    if found.ticket_number != ticket_number:
        raise InvalidLink(_("This link belongs to another request."))
    return found
