"""Every write about feedback: scheduling, sending and answering surveys, opt-outs,
and the help center's feedback form.

Exactly-once survey emails. A survey is a row before it is an email:

1. Solving a ticket schedules a CSAT survey in the solve's own transaction (one
   per solved episode: a unique constraint on the ticket and its solve time).
   Reopening before the send time cancels it.
2. A beat task (every minute) claims the due rows with `SELECT ... FOR UPDATE
   SKIP LOCKED`, re-checks that the ticket is still solved and the customer still
   wants surveys, and in the same transaction marks each row sent and stores its
   rendered email in the outbox (`OutboundEmail`, keyed `csat:<survey id>`).
3. After commit a worker delivers the outbox row, claiming it first with a
   conditional UPDATE (helpdesk.services.email_deliver).

So a duplicated or retried task finds the survey already sent and the email
already claimed, and does nothing; a worker killed after sending leaves the row
`sent` (or `sending`), never queued again. A worker killed before step 2
commits leaves the survey scheduled for the next run, and one killed between
the commit and the delivery leaves a queued email that the stalled-email check
delivers (helpdesk.tasks). The one window the system cannot judge, a worker
killed while the mail server is taking the message, is settled on the side of
not sending twice: the email stays `sending` in the delivery log.

NPS surveys follow the same pattern, created and queued in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from feedback import tokens
from feedback.events import CsatRated
from feedback.models import (
    CsatRating,
    CsatSurvey,
    FeedbackSettings,
    FeedbackSubmission,
    NpsSurvey,
    SurveyOptOut,
    SurveyStatus,
)
from helpdesk import events
from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url
from tickets import notifications

# Answers can be changed (rating, score, comment) this long after they are first given.
EDIT_WINDOW = timedelta(days=7)
# A new contact is first asked for NPS after this long as a member.
NPS_FIRST_AFTER = timedelta(days=30)
# Surveys sent per tenant and run: a desk with many due is served over a few runs.
SEND_BATCH = 200
COMMENT_MAX_LENGTH = 2000


def feedback_settings(tenant: Tenant) -> FeedbackSettings:
    settings, _created = FeedbackSettings.objects.get_or_create(tenant=tenant)
    return settings


def is_opted_out(user: User) -> bool:
    return SurveyOptOut.objects.filter(user=user).exists()


@transaction.atomic
def surveys_opt_out(*, tenant: Tenant, user: User) -> None:
    SurveyOptOut.objects.get_or_create(tenant=tenant, user=user)
    # Surveys already scheduled for them are not sent either.
    CsatSurvey.objects.filter(recipient=user, status=SurveyStatus.SCHEDULED).update(
        status=SurveyStatus.SKIPPED
    )


def surveys_opt_in(*, user: User) -> None:
    SurveyOptOut.objects.filter(user=user).delete()


# -- links --------------------------------------------------------------------------------


def _link(tenant: Tenant, name: str, *args) -> str:
    return tenant_url(tenant, reverse(name, args=args))


def csat_links(survey: CsatSurvey) -> dict:
    number = survey.ticket.number
    token = tokens.make(tokens.LinkTarget("csat", survey.tenant_id, survey.pk, number))
    tenant = survey.ticket.tenant
    return {
        "rating_links": [
            (rating, label, _link(tenant, "csat_rate", number, token, rating))
            for rating, label in reversed(CsatRating.choices)
        ],
        "survey_url": _link(tenant, "csat_survey", number, token),
        "opt_out_url": opt_out_url(tenant, survey.recipient),
    }


def nps_links(survey: NpsSurvey, tenant: Tenant) -> dict:
    token = tokens.make(tokens.LinkTarget("nps", survey.tenant_id, survey.pk))
    return {
        "score_links": [(score, _link(tenant, "nps_rate", token, score)) for score in range(11)],
        "survey_url": _link(tenant, "nps_survey", token),
        "opt_out_url": opt_out_url(tenant, survey.recipient),
    }


def opt_out_url(tenant: Tenant, user: User) -> str:
    token = tokens.make(tokens.LinkTarget("opt-out", tenant.pk, user.pk))
    return _link(tenant, "survey_opt_out", token)


# -- CSAT: scheduled with the solve, cancelled by a reopen -------------------------------


def csat_ticket_solved(ticket, *, actor: User | None, now: datetime) -> CsatSurvey | None:
    """Schedule the survey of this solve (called in the solve's transaction).

    Whether it is finally sent is decided when it is due: the desk's settings,
    the category and the customer's opt-out are checked then. The survey is about
    the assignee's work, or the agent's who solved an unassigned ticket.
    """
    settings = feedback_settings(ticket.tenant)
    if not settings.csat_enabled:
        return None
    survey, _created = CsatSurvey.objects.get_or_create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        solved_at=ticket.solved_at,
        defaults={
            "recipient": ticket.requester,
            "agent": ticket.assignee
            or (actor if actor is not None and actor.pk != ticket.requester_id else None),
            "send_at": now + timedelta(minutes=settings.csat_delay_minutes),
        },
    )
    return survey


def csat_asked_in_chat(ticket, *, now: datetime | None = None) -> CsatSurvey | None:
    """A chat that ended asks its question there and then (one click in the chat), so
    the survey of this solve counts as sent now and no email follows. The checks of a
    sent survey still apply: surveys off, the category excluded or the customer opted
    out make it skipped, and the chat asks nothing."""
    now = now or timezone.now()
    survey = (
        CsatSurvey.objects.select_for_update(of=("self",))
        .filter(ticket=ticket, solved_at=ticket.solved_at, status=SurveyStatus.SCHEDULED)
        .first()
    )
    if survey is None:
        return None
    settings = feedback_settings(ticket.tenant)
    excluded = settings.csat_excluded_categories.filter(pk=ticket.category_id).exists()
    if excluded or is_opted_out(survey.recipient):
        survey.status = SurveyStatus.SKIPPED
    else:
        survey.status, survey.sent_at = SurveyStatus.SENT, now
    survey.save(update_fields=["status", "sent_at"])
    return survey if survey.status == SurveyStatus.SENT else None


def csat_ticket_reopened(ticket) -> int:
    """A ticket reopened before its survey went out: that survey is not sent."""
    return CsatSurvey.objects.filter(ticket=ticket, status=SurveyStatus.SCHEDULED).update(
        status=SurveyStatus.CANCELLED
    )


def csat_send_due(*, tenant: Tenant, now: datetime | None = None, limit: int = SEND_BATCH) -> int:
    """Send the tenant's due CSAT surveys; returns how many were sent (see the module
    docstring for why each goes out exactly once)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            CsatSurvey.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=SurveyStatus.SCHEDULED, send_at__lte=now)
            .select_related("ticket__tenant", "ticket__organization", "recipient", "agent")
            .order_by("send_at")[:limit]
        )
        if not due:
            return 0
        settings = feedback_settings(tenant)
        excluded = set(settings.csat_excluded_categories.values_list("pk", flat=True))
        recipients = {survey.recipient_id for survey in due}
        opted_out = set(
            SurveyOptOut.objects.filter(user__in=recipients).values_list("user_id", flat=True)
        )
        customers = set(
            Membership.objects.filter(
                user__in=recipients, role=Role.CUSTOMER, is_active=True
            ).values_list("user_id", flat=True)
        )
        sent = 0
        for survey in due:
            ticket = survey.ticket
            if ticket.solved_at != survey.solved_at or ticket.status not in ("solved", "closed"):
                survey.status = SurveyStatus.CANCELLED
            elif (
                not settings.csat_enabled
                or ticket.category_id in excluded
                or survey.recipient_id in opted_out
                or survey.recipient_id not in customers
                or not survey.recipient.is_active
            ):
                survey.status = SurveyStatus.SKIPPED
            else:
                survey.status = SurveyStatus.SENT
                survey.sent_at = now
                notifications.satisfaction_survey(ticket, survey, csat_links(survey))
                sent += 1
        CsatSurvey.objects.bulk_update(due, ["status", "sent_at"])
    return sent


# -- answers ------------------------------------------------------------------------------


def answer_editable_until(answered_at: datetime) -> datetime:
    return answered_at + EDIT_WINDOW


def _check_editable(answered_at: datetime | None, now: datetime) -> None:
    if answered_at is not None and now > answered_at + EDIT_WINDOW:
        raise ValidationError(
            _("Your answer was recorded more than %(days)d days ago and can no longer be changed.")
            % {"days": EDIT_WINDOW.days}
        )


def _clean_comment(comment: str | None, current: str) -> str:
    if comment is None:
        return current
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {
                "comment": _("Keep the comment under %(count)d characters.")
                % {"count": COMMENT_MAX_LENGTH}
            }
        )
    return comment


@transaction.atomic
def csat_answer(
    *, survey: CsatSurvey, rating: int, comment: str | None = None, now: datetime | None = None
) -> CsatSurvey:
    """Record (or change, within the edit window) a rating and its comment. The
    first bad rating of a survey tells the agent and the admins."""
    now = now or timezone.now()
    survey = (
        CsatSurvey.objects.select_for_update(of=("self",))
        .select_related("ticket__tenant", "ticket__assignee", "agent")
        .get(pk=survey.pk)
    )
    if survey.status != SurveyStatus.SENT:
        raise ValidationError(_("This survey was not sent, so it cannot be answered."))
    if rating not in CsatRating.values:
        raise ValidationError({"rating": _("Choose a rating from 1 to 5.")})
    _check_editable(survey.rated_at, now)
    was_bad = survey.is_bad
    survey.rating = rating
    survey.comment = _clean_comment(comment, survey.comment)
    survey.rated_at = survey.rated_at or now
    survey.updated_at = now
    survey.save(update_fields=["rating", "comment", "rated_at", "updated_at"])
    rated = CsatRated(
        tenant_id=survey.tenant_id,
        ticket_id=survey.ticket_id,
        survey_id=survey.pk,
        rating=rating,
        turned_bad=survey.is_bad and not was_bad,
    )
    events.publish(rated, survey=survey)
    return survey


@transaction.atomic
def nps_answer(
    *, survey: NpsSurvey, score: int, comment: str | None = None, now: datetime | None = None
) -> NpsSurvey:
    now = now or timezone.now()
    survey = NpsSurvey.objects.select_for_update().get(pk=survey.pk)
    if score not in range(11):
        raise ValidationError({"score": _("Choose a score from 0 to 10.")})
    _check_editable(survey.responded_at, now)
    survey.score = score
    survey.comment = _clean_comment(comment, survey.comment)
    survey.responded_at = survey.responded_at or now
    survey.updated_at = now
    survey.save(update_fields=["score", "comment", "responded_at", "updated_at"])
    return survey


# -- NPS: asked of organization contacts on a cadence -------------------------------------


def _lock_tenant_nps(tenant: Tenant) -> None:
    """Serialize NPS runs of one tenant (held until commit): two runs at once would
    both see a contact as due."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('feedback.nps'), %s)", [tenant.pk])


def nps_due_contacts(*, tenant: Tenant, now: datetime, interval: timedelta):
    """Active customer contacts of organizations, members for NPS_FIRST_AFTER, who
    were not asked within `interval` and have not opted out."""
    asked_recently = NpsSurvey.objects.filter(
        recipient=OuterRef("user"), sent_at__gt=now - interval
    )
    opted_out = SurveyOptOut.objects.filter(user=OuterRef("user"))
    return (
        Membership.objects.filter(
            role=Role.CUSTOMER,
            is_active=True,
            organization__isnull=False,
            user__is_active=True,
            created_at__lte=now - NPS_FIRST_AFTER,
        )
        .exclude(Exists(asked_recently))
        .exclude(Exists(opted_out))
        .select_related("user", "organization__plan")
        .order_by("created_at", "pk")
    )


def nps_send_due(*, tenant: Tenant, now: datetime | None = None, limit: int = SEND_BATCH) -> int:
    """Ask the contacts who are due; returns how many were asked."""
    now = now or timezone.now()
    settings = feedback_settings(tenant)
    if not settings.nps_enabled:
        return 0
    interval = timedelta(days=settings.nps_interval_days)
    with transaction.atomic():
        _lock_tenant_nps(tenant)
        contacts = list(nps_due_contacts(tenant=tenant, now=now, interval=interval)[:limit])
        surveys = NpsSurvey.objects.bulk_create(
            [
                NpsSurvey(
                    tenant=tenant,
                    recipient=membership.user,
                    organization=membership.organization,
                    plan=membership.organization.plan,
                    sent_at=now,
                )
                for membership in contacts
            ]
        )
        for survey in surveys:
            _queue_nps_email(tenant, survey)
    return len(surveys)


def _queue_nps_email(tenant: Tenant, survey: NpsSurvey) -> None:
    recipient = survey.recipient
    with translation.override(recipient.preferred_language or tenant.default_language):
        email_queue_template(
            tenant=tenant,
            to=[recipient.email],
            template_prefix="feedback/email/nps",
            context={"survey": survey, "recipient": recipient, **nps_links(survey, tenant)},
            dedupe_key=f"nps:{survey.pk}",
        )


# -- the help center's feedback form ------------------------------------------------------


@dataclass(frozen=True)
class FeedbackInput:
    ease: int
    text: str
    page: str


def feedback_submit(
    *, tenant: Tenant, data: FeedbackInput, user: User | None, language: str
) -> FeedbackSubmission:
    return FeedbackSubmission.objects.create(
        tenant=tenant,
        ease=data.ease,
        text=data.text.strip(),
        page=data.page[:500],
        user=user if user is not None and user.is_authenticated else None,
        language=language[:10],
    )
