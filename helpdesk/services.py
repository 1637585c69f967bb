"""Writes of the tenancy core: tenants, memberships and outgoing email."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk import contributions
from helpdesk.models import Membership, OutboundEmail, Role, Tenant, User
from helpdesk.outbox import backoff, wake_on_commit, wake_up_grace
from helpdesk.tenancy import tenant_scope, tenant_url

logger = logging.getLogger(__name__)

# Delivery attempts before an email is marked failed (the sweep retries with back-off).
EMAIL_MAX_ATTEMPTS = 8
# The subaddress of a Reply-To (reply+<secret>@...): a secret of the email's recipient.
REPLY_TO_SUBADDRESS = re.compile(r"\+[^@\s,<>]+@")


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    time_zone: str = "UTC",
    default_language: str = "en",
    signup_policy: str = Tenant.SignupPolicy.OPEN,
) -> Tenant:
    """Create a tenant with everything a new help desk starts with (the default plans)."""
    if slug in Tenant.RESERVED_SLUGS:
        raise ValidationError({"slug": _("This name is reserved.")})
    tenant = Tenant(
        slug=slug,
        name=name,
        time_zone=time_zone,
        default_language=default_language,
        signup_policy=signup_policy,
    )
    tenant.full_clean()
    tenant.save()
    tenant_provision(tenant=tenant)
    return tenant


def tenant_provision(*, tenant: Tenant) -> None:
    """Create the tenant's default data, each app's part (helpdesk/contributions.py);
    safe to call again (each part is idempotent)."""
    with tenant_scope(tenant):
        contributions.tenant_defaults(tenant)


def signup_allowed(*, tenant: Tenant, email: str) -> bool:
    """May a person with this email sign up as a customer of `tenant`?"""
    if tenant.signup_policy == Tenant.SignupPolicy.OPEN:
        return True
    if tenant.signup_policy == Tenant.SignupPolicy.KNOWN_DOMAINS:
        return contributions.organization_for_email(email) is not None
    return False


@transaction.atomic
def membership_create(
    *,
    tenant: Tenant,
    user: User,
    role: str = Role.CUSTOMER,
    organization=None,
) -> Membership:
    """Make `user` a member of `tenant`.

    A customer without an explicit organization joins the one that owns their
    email domain, if any; agents and admins never belong to an organization.
    """
    if user.tenant_id != tenant.pk:
        # Each desk has its own people: a person of another desk (or an operator)
        # can never be made a member here (docs/people.md).
        raise ValidationError(_("This person belongs to another desk."))
    if role == Role.CUSTOMER and organization is None:
        organization = contributions.organization_for_email(user.email)
    if role != Role.CUSTOMER:
        organization = None
    membership = Membership(tenant=tenant, user=user, role=role, organization=organization)
    membership.full_clean(exclude=["user"])
    membership.save()
    return membership


@transaction.atomic
def member_invite(
    *,
    tenant: Tenant,
    email: str,
    role: str,
    organization=None,
    full_name: str = "",
    invited_by: User | None = None,
) -> Membership:
    """Add a person to the desk by email: the desk's own account for that address.

    Each desk has its own people (docs/people.md), so this never reaches an account
    of another desk, and behaves the same whether or not the address is known
    elsewhere. A new account gets an unusable password and an invitation email whose
    link lets the person choose one; a former member's account of this desk simply
    gains the membership again.
    """
    from allauth.account.models import EmailAddress

    email = User.objects.normalize_email(email).strip()
    user = User.objects.filter(email__iexact=email, tenant=tenant).first()
    created = user is None
    if created:
        user = User.objects.create_user(
            email=email, password=None, full_name=full_name, tenant=tenant
        )
        # Following the invitation link proves the address, so it counts as verified.
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    membership = membership_create(tenant=tenant, user=user, role=role, organization=organization)
    if created:
        email_queue_template(
            tenant=tenant,
            to=[email],
            template_prefix="helpdesk/email/invitation",
            context={
                "user": user,
                "membership": membership,
                "invited_by": invited_by,
                "set_password_url": set_password_url(tenant=tenant, user=user),
            },
        )
    return membership


@transaction.atomic
def second_factor_reset(*, user: User, actor: User) -> int:
    """Remove every second factor of `user` (app, security keys, recovery codes), for a
    person who lost them; returns how many were removed.

    An admin of the person's own desk may (the admin's queryset holds only its own
    people), or a platform operator. The person signs in with their password alone
    next time and, where a second factor is required of them, is sent to set up a new
    one first. They are told by email, so a reset they did not ask for does not go
    unnoticed.
    """
    from allauth.mfa.models import Authenticator

    is_operator = actor.is_superuser and actor.tenant_id is None
    is_desk_admin = (
        user.tenant_id is not None
        and actor.tenant_id == user.tenant_id
        and Membership.objects.filter(
            tenant_id=user.tenant_id, user=actor, role=Role.ADMIN, is_active=True
        ).exists()
    )
    if not (is_operator or is_desk_admin):
        raise PermissionDenied(_("Only an admin of the person's desk can reset their sign-in."))
    removed, _by_model = Authenticator.objects.filter(user=user).delete()
    if removed:
        logger.info("Second factors of user %s reset by user %s", user.pk, actor.pk)
        if user.tenant_id is not None:
            security_url = tenant_url(
                user.tenant, reverse("mfa_index", urlconf=settings.ROOT_URLCONF)
            )
            with translation.override(user.preferred_language or user.tenant.default_language):
                email_queue_template(
                    tenant=user.tenant,
                    to=[user.email],
                    template_prefix="helpdesk/email/second_factor_reset",
                    context={"user": user, "actor": actor, "security_url": security_url},
                )
    return removed


def set_password_url(*, tenant: Tenant, user: User) -> str:
    """A link to allauth's password-reset-from-key page on the tenant's host."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return tenant_url(tenant, path)


# -- outgoing email ----------------------------------------------------------------------


def email_queue_template(
    *,
    tenant: Tenant,
    to: list[str],
    template_prefix: str,
    context: dict,
    headers: dict[str, str] | None = None,
    reply_to: list[str] | None = None,
    dedupe_key: str = "",
) -> OutboundEmail:
    """Render `<prefix>_subject.txt`, `_message.txt` and `_message.html` and queue them
    (in the active language: callers wrap this in the recipient's)."""
    from django.template.loader import render_to_string

    context = {"tenant": tenant, **context}
    subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template_prefix}_message.txt", context),
        from_email=tenant_from_email(tenant, settings.DEFAULT_FROM_EMAIL),
        to=to,
        headers=headers,
        reply_to=reply_to,
    )
    message.attach_alternative(
        render_to_string(f"{template_prefix}_message.html", context), "text/html"
    )
    return email_queue(tenant=tenant, message=message, dedupe_key=dedupe_key)


def tenant_from_email(tenant: Tenant, address: str) -> str:
    """'Acme Analytics Support <support@…>': replies look like they come from the tenant."""
    from email.utils import formataddr, parseaddr

    _name, bare = parseaddr(address)
    return formataddr((_("%(name)s Support") % {"name": tenant.name}, bare))


def email_queue(*, tenant: Tenant, message: EmailMessage, dedupe_key: str = "") -> OutboundEmail:
    """Store a rendered message in the current transaction; a worker delivers it
    after commit (or the sweep, if the wake-up is lost).

    With a `dedupe_key`, an email already queued under that key is returned as it
    is and not queued again (the unique constraint settles races between workers).
    """
    from helpdesk.tasks import deliver_email

    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    body_text = message.body
    if message.content_subtype == "html":
        html, body_text = message.body, ""
    if dedupe_key:
        existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            outbound = _email_store(tenant, message, body_text, html, dedupe_key)
    except IntegrityError:
        return OutboundEmail.objects.get(dedupe_key=dedupe_key)
    wake_on_commit(deliver_email, tenant.id, outbound.id)
    return outbound


def _email_store(tenant, message, body_text, html, dedupe_key) -> OutboundEmail:
    return OutboundEmail.objects.create(
        tenant=tenant,
        dedupe_key=dedupe_key,
        to=list(message.to),
        from_email=message.from_email,
        subject=message.subject,
        body_text=body_text,
        body_html=html,
        headers={
            **message.extra_headers,
            **({"Reply-To": ", ".join(message.reply_to)} if message.reply_to else {}),
        },
        retry_at=timezone.now() + wake_up_grace(),
    )


def email_deliver(*, email_id: int) -> bool:
    """Send a queued email once; returns whether this call sent it.

    1. Claim: a conditional UPDATE moves the row from queued to sending; a
       duplicate or retried task that finds it claimed or sent does nothing.
    2. Send through the configured backend.
    3. Record: sent (with the time), or back to queued with the error and a
       back-off, after which the sweep tries again.
    A worker killed between 1 and 3 leaves the row in `sending`: the message may
    or may not have left, and it is not sent a second time; the sweep marks it
    `unknown` for an admin once no task could still be running.
    """
    claimed = OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.QUEUED).update(
        status=OutboundEmail.Status.SENDING, claimed_at=timezone.now()
    )
    if not claimed:
        return False
    outbound = OutboundEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(
        subject=outbound.subject,
        body=outbound.body_text,
        from_email=outbound.from_email,
        to=outbound.to,
        headers=outbound.headers,
        connection=get_connection(),
    )
    if outbound.body_html:
        message.attach_alternative(outbound.body_html, "text/html")
    try:
        message.send()
    except Exception as error:
        attempts = outbound.attempts + 1
        # Back to queued for the sweep's retry; after the last attempt it stays
        # visible as failed in the admin's delivery log instead of vanishing.
        OutboundEmail.objects.filter(pk=email_id).update(
            status=OutboundEmail.Status.FAILED
            if attempts >= EMAIL_MAX_ATTEMPTS
            else OutboundEmail.Status.QUEUED,
            attempts=attempts,
            retry_at=timezone.now() + backoff(attempts),
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        logger.warning("Email #%s not sent (attempt %d): %s", email_id, attempts, error)
        return False
    # Bodies can hold sign-in secrets (verification and password-reset links) for a
    # global identity; once delivered, only the envelope is kept as the log.
    OutboundEmail.objects.filter(pk=email_id).update(
        status=OutboundEmail.Status.SENT,
        sent_at=timezone.now(),
        attempts=outbound.attempts + 1,
        body_text="",
        body_html="",
        headers=_headers_for_the_log(outbound.headers),
    )
    return True


def _headers_for_the_log(headers: dict) -> dict:
    """What the delivery log keeps of a delivered email's headers: all but the secret
    of its Reply-To address, whose reply proves it was written by the recipient
    (tickets/reply_tokens.py); whoever reads the log must not be able to use it."""
    reply_to = headers.get("Reply-To")
    if not reply_to:
        return headers
    return {**headers, "Reply-To": REPLY_TO_SUBADDRESS.sub("+…@", reply_to)}


# What only an admin may decide: an email whose delivery is unknown or failed.
RESENDABLE = (OutboundEmail.Status.UNKNOWN, OutboundEmail.Status.FAILED)


def email_send_again(*, email: OutboundEmail) -> bool:
    """Queue an email of unknown or failed delivery again (an admin checked with the
    recipient, or fixed the mail server); returns whether it was queued."""
    queued = OutboundEmail.objects.filter(pk=email.pk, status__in=RESENDABLE).update(
        status=OutboundEmail.Status.QUEUED,
        attempts=0,
        claimed_at=None,
        last_error="",
        retry_at=timezone.now() + wake_up_grace(),
    )
    if queued:
        from helpdesk.tasks import deliver_email

        wake_on_commit(deliver_email, email.tenant_id, email.pk)
    return bool(queued)


def email_mark_delivered(*, email: OutboundEmail) -> bool:
    """Record that an email of unknown delivery did arrive (the recipient said so)."""
    return bool(
        OutboundEmail.objects.filter(pk=email.pk, status=OutboundEmail.Status.UNKNOWN).update(
            status=OutboundEmail.Status.SENT,
            sent_at=email.claimed_at or timezone.now(),
            body_text="",
            body_html="",
            headers=_headers_for_the_log(email.headers),
        )
    )
