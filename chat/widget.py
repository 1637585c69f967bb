"""The chat widget a desk embeds in its own product: its rules (docs/chat.md,
"Embedding the widget").

The widget is a frame of ours (`/widget/` on the desk's host) that the desk's snippet puts
into the tenant's page. Three things are checked, each where it is used:

1. The identity token (`widget_identity`): a JWT (HS256) the tenant's backend signs with
   the desk's widget secret for the customer signed in to its product, as Intercom's and
   Zendesk's identity verification do. Its signature (constant time, HS256 only), its
   expiry (required, at most a day ahead) and its email, which must be an active
   customer of this desk: nobody is created from a token, and no agent or admin comes
   in this way. It stops anyone without the secret from chatting as someone else.
2. The embedding page's origin (`widget_session_start`): the browser tells our frame
   which page posted the token (postMessage's `event.origin`); it must be one the desk
   lists. The browser also refuses to show our frame on any other site (the
   `frame-ancestors` of chat/widget_views.py), so a foreign page can neither use the
   widget nor lure a customer into it.
3. Our widget ticket (`widget_ticket_open`): what the frame carries instead of a cookie
   (browsers keep our cookies from a frame inside another site). Signed with Django's
   key, salted with the desk, it names the customer's membership and the origin the
   token came from, lasts `TICKET_SECONDS`, and is checked again at every use: the
   widget still on, the origin still listed, the secret unchanged, the membership still
   an active customer's. A ticket of one desk is nothing at another; a ticket names one
   customer, whose chats alone it opens.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import jwt
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chat.models import ChatSettings
from chat.services import chat_settings
from helpdesk.models import Membership, Role, Tenant, User, new_secret

# A token may be signed for at most this long: a leaked one is soon worth nothing.
TOKEN_MAX_LIFETIME = timedelta(hours=24)
# How far the tenant's servers' clock and ours may disagree.
TOKEN_LEEWAY_SECONDS = 60
# Longer than any token we accept is useless, and refused before it is parsed.
TOKEN_MAX_CHARS = 4096
# A widget session; after it the frame asks the page for its token again.
TICKET_SECONDS = 2 * 60 * 60
MAX_ORIGINS = 50

_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WidgetRefused(Exception):
    """Why the widget will not open, as a sentence for the person (and the developer)
    who sees it; `status` is the HTTP answer, `code` a word for scripts."""

    def __init__(self, message: str, *, status: int = 403, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


# -- the allowed origins -----------------------------------------------------------------------


def origin_normalized(text: str) -> str:
    """`text` as browsers write an origin (`https://App.Example.com:443/` becomes
    `https://app.example.com`): the form postMessage, the Origin header and CSP sources
    use, so origins compare as strings. Anything but scheme://host[:port] is refused."""
    raw = text.strip()
    bad = ValidationError(
        _(
            "“%(origin)s” is not an origin like https://app.example.com: a scheme (http or "
            "https), a host and perhaps a port, with no path."
        )
        % {"origin": raw[:100]}
    )
    if not raw or any(c in raw for c in "?#@*\\ \t") or not raw.isascii():
        raise bad
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.path not in ("", "/") or not parts.hostname:
        raise bad
    try:
        port = parts.port
    except ValueError:
        raise bad from None
    host = parts.hostname  # lowercase
    if not _HOST.fullmatch(host) or port == 0:
        raise bad
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def origins_normalized(text: str) -> list[str]:
    """The origins of a list typed one per line (or separated by spaces or commas),
    normalized and without repeats; every bad one named in one error."""
    found: list[str] = []
    errors: list[str] = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        try:
            origin = origin_normalized(item)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        if origin not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        errors.append(_("List at most %(count)d websites.") % {"count": MAX_ORIGINS})
    if errors:
        raise ValidationError(errors)
    return found


def allowed_origins(tenant: Tenant) -> list[str]:
    """The sites that may show the desk's widget (its frames' `frame-ancestors`)."""
    return list(chat_settings(tenant).widget_origins)


# -- the secret ----------------------------------------------------------------------------------


@transaction.atomic
def widget_secret_rotate(*, tenant: Tenant) -> ChatSettings:
    """A new widget secret: tokens signed with the old one, and widget sessions opened
    with them, are refused from now on."""
    rules = ChatSettings.objects.select_for_update().get(pk=chat_settings(tenant).pk)
    rules.widget_secret = new_secret()
    rules.save(update_fields=["widget_secret"])
    return rules


def _fingerprint(secret: str) -> str:
    """Names the secret a ticket was opened under, without telling anything of it."""
    return hashlib.sha256(f"chat.widget:{secret}".encode()).hexdigest()[:16]


# -- the tenant's identity token -----------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    membership: Membership
    # Informational claims: recorded nowhere that decides access.
    name: str = ""
    external_id: str = ""
    organization: str = ""


def _refused_token(message: str, code: str, status: int = 401) -> WidgetRefused:
    return WidgetRefused(message, status=status, code=code)


def _claims(token: str, secret: str) -> dict:
    """The token's claims once its signature and times are proven; what is wrong
    otherwise, signature first (a forged token learns nothing about its claims)."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            leeway=TOKEN_LEEWAY_SECONDS,
            options={"require": ["exp", "email"], "verify_aud": False},
        )
    except jwt.InvalidAlgorithmError:
        raise _refused_token(
            _("The sign-in token must be signed with HS256 and the desk's widget secret."),
            "bad_algorithm",
        ) from None
    except jwt.InvalidSignatureError:
        raise _refused_token(
            _(
                "The sign-in token's signature does not match this desk's widget secret: "
                "it was not signed by this desk, or with a secret since rotated."
            ),
            "bad_signature",
        ) from None
    except jwt.ExpiredSignatureError:
        raise _refused_token(
            _("The sign-in token has expired. Reload the page to sign in again."), "expired"
        ) from None
    except jwt.MissingRequiredClaimError as missing:
        raise _refused_token(
            _("The sign-in token has no “%(claim)s” claim; it needs one.")
            % {"claim": missing.claim},
            "missing_claim",
            400,
        ) from None
    except jwt.ImmatureSignatureError:
        raise _refused_token(
            _("The sign-in token is not valid yet: check the clock of the server that signed it."),
            "not_yet",
        ) from None
    except jwt.InvalidTokenError:
        # Not a JWT, or a claim of the wrong type (an exp that is no number).
        raise _refused_token(
            _(
                "The sign-in token could not be read: it is not a JWT signed as the "
                "widget's guide says."
            ),
            "unreadable",
            400,
        ) from None


def _text_claim(claims: dict, name: str, limit: int) -> str:
    value = claims.get(name)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > limit:
        raise _refused_token(
            _("The sign-in token's “%(claim)s” must be text of at most %(limit)d characters.")
            % {"claim": name, "limit": limit},
            "bad_claim",
            400,
        )
    return value.strip()


def widget_identity(*, tenant: Tenant, token) -> Identity:
    """The customer a token signed by the desk's backend names (see the module)."""
    if not isinstance(token, str) or not token.strip():
        raise _refused_token(
            _("No sign-in token came with the widget: your product's page must pass one."),
            "no_token",
            400,
        )
    if len(token) > TOKEN_MAX_CHARS:
        raise _refused_token(
            _("The sign-in token is too long to be one of ours."), "unreadable", 400
        )
    claims = _claims(token.strip(), chat_settings(tenant).widget_secret)
    # Read as PyJWT checked it (a number, or digits in a string), and compared as a
    # number: a year past 9999 is no date.
    latest = timezone.now() + TOKEN_MAX_LIFETIME + timedelta(seconds=TOKEN_LEEWAY_SECONDS)
    if int(claims["exp"]) > latest.timestamp():
        raise _refused_token(
            _("The sign-in token must expire within 24 hours of being signed."),
            "too_long",
            400,
        )
    email = _text_claim(claims, "email", 254)
    try:
        validate_email(email)
    except ValidationError:
        raise _refused_token(
            _("The sign-in token's email is not an email address."), "bad_claim", 400
        ) from None
    return Identity(
        membership=_customer(email),
        name=_text_claim(claims, "name", 200),
        external_id=_text_claim(claims, "external_id", 255),
        organization=_text_claim(claims, "organization", 200),
    )


def _customer(email: str) -> Membership:
    """The desk's active customer with this email. Nobody is created from a token: the
    desk's admins add customers (or they sign up), so a token cannot make accounts."""
    membership = (
        Membership.objects.filter(user__email__iexact=email)
        .select_related("user", "organization__plan")
        .first()
    )
    if membership is None:
        raise WidgetRefused(
            _(
                "%(email)s has no account at this help desk. Ask your account admin to "
                "add you, then reload the page."
            )
            % {"email": email},
            code="unknown_email",
        )
    if membership.role != Role.CUSTOMER:
        raise WidgetRefused(
            _(
                "%(email)s belongs to an agent or admin of this desk: the widget is for "
                "customers. Answer chats from the agent workspace."
            )
            % {"email": email},
            code="staff",
        )
    if not membership.is_active or not membership.user.is_active:
        raise WidgetRefused(
            _(
                "%(email)s no longer has access to this help desk. Ask your account admin "
                "if you should."
            )
            % {"email": email},
            code="inactive",
        )
    return membership


# -- widget sessions (our ticket) ------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetSession:
    membership: Membership
    origin: str  # the page that embeds the widget
    ticket: str


def _salt(tenant: Tenant) -> str:
    return f"chat.widget.ticket:{tenant.pk}"


def _listed_origin(rules: ChatSettings, origin) -> str:
    if not rules.widget_enabled:
        raise WidgetRefused(_("The chat widget is turned off for this help desk."), code="off")
    try:
        normalized = origin_normalized(origin) if isinstance(origin, str) else ""
    except ValidationError:
        normalized = ""
    if normalized not in rules.widget_origins:
        raise WidgetRefused(
            _(
                "This website (%(origin)s) may not show the chat widget: the desk's admins "
                "list the websites that may."
            )
            % {"origin": str(origin)[:100] if origin else "?"},
            code="foreign_origin",
        )
    return normalized


@transaction.atomic
def widget_session_start(*, tenant: Tenant, token, origin) -> WidgetSession:
    """Exchange the tenant's identity token, posted from `origin`, for a widget session.

    The origin is checked first (a foreign page learns nothing of a token), then the
    token. Nothing is created: a name the person's account lacks is filled from the
    token's, and that is all."""
    rules = chat_settings(tenant)
    origin = _listed_origin(rules, origin)
    identity = widget_identity(tenant=tenant, token=token)
    membership = identity.membership
    if identity.name and not membership.user.full_name:
        User.objects.filter(pk=membership.user_id).update(full_name=identity.name)
        membership.user.full_name = identity.name
    ticket = signing.dumps(
        {"m": membership.pk, "o": origin, "k": _fingerprint(rules.widget_secret)},
        salt=_salt(tenant),
    )
    return WidgetSession(membership=membership, origin=origin, ticket=ticket)


def widget_ticket_open(*, tenant: Tenant, ticket) -> WidgetSession:
    """The widget session a ticket names, checked again now (see the module)."""
    ended = WidgetRefused(
        _("Your chat session has ended. Reload the page to continue."),
        status=401,
        code="session_ended",
    )
    if not isinstance(ticket, str) or len(ticket) > 500:
        raise ended
    try:
        data = signing.loads(ticket, salt=_salt(tenant), max_age=TICKET_SECONDS)
    except signing.BadSignature:  # forged, of another desk, or expired
        raise ended from None
    if not isinstance(data, dict) or not isinstance(data.get("m"), int):
        raise ended
    rules = chat_settings(tenant)
    origin = _listed_origin(rules, data.get("o"))
    if data.get("k") != _fingerprint(rules.widget_secret):
        raise ended
    membership = (
        Membership.objects.filter(
            pk=data["m"], role=Role.CUSTOMER, is_active=True, user__is_active=True
        )
        .select_related("user", "organization__plan")
        .first()
    )
    if membership is None:
        raise ended
    return WidgetSession(membership=membership, origin=origin, ticket=ticket)
