"""Demo feedback for `seed_demo`: ratings on the demo's solved tickets, NPS answers
from the organizations' contacts over the last half year, and a few form entries,
so the dashboards and the ticket pages show something on first start."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from feedback.models import CsatSurvey, FeedbackSubmission, NpsSurvey, SurveyStatus
from helpdesk.models import Membership, Role, Tenant
from tickets.models import Status, Ticket

COMMENTS = {
    5: ["Quick and friendly, thank you!", "问题很快就解决了，谢谢！", "Exactly what I needed."],
    4: ["Good answer, took a little while.", "Helpful, thanks.", "回复很专业。"],
    3: ["It works now, but I had to explain twice.", ""],
    2: ["Took three days to get a first reply.", "等了太久才有人回复。"],
    1: ["The answer did not match my question at all.", ""],
}
NPS_REASONS = {
    "promoter": ["The product saves our team hours every week.", "支持团队非常给力。"],
    "passive": ["Good overall; reporting could be better.", ""],
    "detractor": ["Too many outages this quarter.", "价格偏高，功能还不够。"],
}
FORM_ENTRIES = [
    (5, "Found the SSO article in seconds.", "/kb/"),
    (2, "Searching for 'invoice' did not show the billing articles.", "/kb/search/?q=invoice"),
    (4, "", "/kb/"),
    (1, "I could not find how to delete my account.", "/kb/search/?q=delete+account"),
    (3, "找到了，但是中文文章太少。", "/kb/"),
]


def seed_feedback(tenant: Tenant, seed: int = 2026) -> int:
    """Create the demo's feedback once; nothing if the tenant has surveys already."""
    if CsatSurvey.objects.exists() or NpsSurvey.objects.exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo content, not secrets
    now = timezone.now()
    surveys = []
    solved = Ticket.objects.filter(status__in=[Status.SOLVED, Status.CLOSED]).order_by("number")
    for ticket in solved:
        sent_at = ticket.solved_at + timedelta(hours=1)
        survey = CsatSurvey(
            tenant=tenant,
            ticket=ticket,
            solved_at=ticket.solved_at,
            recipient_id=ticket.requester_id,
            agent_id=ticket.assignee_id,
            status=SurveyStatus.SENT if sent_at <= now else SurveyStatus.SCHEDULED,
            send_at=sent_at,
            sent_at=sent_at if sent_at <= now else None,
        )
        if survey.sent_at and rng.random() < 0.6:
            survey.rating = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 10, 10, 5])[0]
            survey.comment = rng.choice(COMMENTS[survey.rating])
            survey.rated_at = min(now, sent_at + timedelta(hours=rng.randint(1, 30)))
        surveys.append(survey)
    CsatSurvey.objects.bulk_create(surveys)

    contacts = (
        Membership.objects.filter(role=Role.CUSTOMER, organization__isnull=False)
        .select_related("organization__plan")
        .order_by("pk")  # the same answers for the same people every time
    )
    answers = []
    for membership in contacts:
        for days_ago in (170, 80):
            sent_at = now - timedelta(days=days_ago + rng.randint(0, 10))
            answer = NpsSurvey(
                tenant=tenant,
                recipient_id=membership.user_id,
                organization=membership.organization,
                plan=membership.organization.plan,
                sent_at=sent_at,
            )
            if rng.random() < 0.7:
                rank = membership.organization.plan.rank
                answer.score = min(10, max(0, round(rng.gauss(6.5 + rank, 2.2))))
                answer.comment = rng.choice(NPS_REASONS[answer.category])
                answer.responded_at = sent_at + timedelta(hours=rng.randint(1, 72))
            answers.append(answer)
    NpsSurvey.objects.bulk_create(answers)

    FeedbackSubmission.objects.bulk_create(
        FeedbackSubmission(
            tenant=tenant,
            ease=ease,
            text=text,
            page=page,
            language="zh-hans" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en",
            created_at=now - timedelta(days=3 * index + 1),
        )
        for index, (ease, text, page) in enumerate(FORM_ENTRIES)
    )
    return len(surveys) + len(answers)
