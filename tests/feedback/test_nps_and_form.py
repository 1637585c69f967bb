"""NPS on a cadence per contact, and the help center's feedback form."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from feedback.models import FeedbackSettings, FeedbackSubmission, NpsSurvey, SurveyOptOut
from feedback.selectors import nps_by_organization, nps_overall
from feedback.services import nps_answer, nps_send_due
from helpdesk.models import Membership, Role
from tests.feedback.helpers import links_in, path_of
from tests.helpdesk.factories import make_member

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _age_memberships(desk, days=31):
    with desk.scope():
        Membership.objects.update(created_at=timezone.now() - timedelta(days=days))


def _send(desk, at=None) -> int:
    with desk.scope():
        return nps_send_due(tenant=desk.tenant, now=at or timezone.now())


def _nps_emails(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email] and "recommend" in m.subject]


def test_contacts_are_asked_once_per_interval_never_more_often(
    acme, django_capture_on_commit_callbacks
):
    _age_memberships(acme)
    with django_capture_on_commit_callbacks(execute=True):
        assert _send(acme) == 2  # the two customer contacts; staff are never asked
    assert len(_nps_emails(acme.customer)) == 1 and len(_nps_emails(acme.other_customer)) == 1
    assert _nps_emails(acme.agent) == []
    # Runs every hour; nobody is asked again within 90 days...
    for days in (1, 30, 89):
        assert _send(acme, timezone.now() + timedelta(days=days)) == 0
    # ...and each is asked again once the interval has passed.
    assert _send(acme, timezone.now() + timedelta(days=90, hours=1)) == 2
    with acme.scope():
        survey = NpsSurvey.objects.filter(recipient=acme.customer).order_by("sent_at").first()
        assert survey.organization == acme.org and survey.plan == acme.pro


def test_the_desks_interval_and_switch_are_used(acme):
    _age_memberships(acme)
    with acme.scope():
        FeedbackSettings.objects.create(tenant=acme.tenant, nps_interval_days=180)
    assert _send(acme) == 2
    assert _send(acme, timezone.now() + timedelta(days=120)) == 0
    assert _send(acme, timezone.now() + timedelta(days=181)) == 2
    with acme.scope():
        FeedbackSettings.objects.update(nps_enabled=False)
    assert _send(acme, timezone.now() + timedelta(days=400)) == 0


def test_new_contacts_and_opted_out_ones_are_not_asked(acme):
    _age_memberships(acme)
    make_member(acme.tenant, "newbie@acme-co.example", Role.CUSTOMER, organization=acme.org)
    with acme.scope():
        SurveyOptOut.objects.create(tenant=acme.tenant, user=acme.other_customer)
    assert _send(acme) == 1
    with acme.scope():
        assert list(NpsSurvey.objects.values_list("recipient__email", flat=True)) == [
            acme.customer.email
        ]


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_ask_each_contact_once(acme):
    """Runs are serialized per tenant by an advisory lock held to commit."""
    import threading

    from django.db import connection

    _age_memberships(acme)
    results = []

    def run():
        try:
            results.append(_send(acme))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with acme.scope():
        assert NpsSurvey.objects.count() == 2
    assert sorted(results) == [0, 0, 2]


def test_score_by_one_click_then_a_reason(acme, django_capture_on_commit_callbacks):
    _age_memberships(acme)
    with django_capture_on_commit_callbacks(execute=True):
        _send(acme)
    (email,) = _nps_emails(acme.customer)
    links = links_in(email)
    assert sum("/score/" in link for link in links) == 11
    nine = path_of(next(link for link in links if link.endswith("/score/9/")))
    client = acme.client()
    response = client.get(nine)
    assert response.status_code == 302
    assert "recorded your score: 9/10" in client.get(response["Location"]).content.decode()
    client.post(response["Location"], {"score": 10, "comment": "Great support team"})
    with acme.scope():
        survey = NpsSurvey.objects.get(recipient=acme.customer)
    assert (survey.score, survey.comment) == (10, "Great support team")
    # Another desk's host does not open it.
    assert globex_status(nine) == 404


def globex_status(path):
    from django.test import Client

    from tests.conftest import build_desk

    build_desk("globex", "Globex")
    return Client(HTTP_HOST="globex.localhost").get(path).status_code


def test_nps_per_organization_and_overall_from_the_answers(acme):
    make_member(acme.tenant, "dora@acme-co.example", Role.CUSTOMER, organization=acme.org)
    start, end = NOW - timedelta(days=30), NOW + timedelta(days=1)
    with acme.scope():
        surveys = [
            NpsSurvey.objects.create(
                tenant=acme.tenant, recipient=user, organization=org, plan=org.plan
            )
            for user, org in (
                (acme.customer, acme.org),
                (acme.other_customer, acme.other_org),
            )
        ]
        nps_answer(survey=surveys[0], score=10)
        nps_answer(survey=surveys[1], score=3)
        extra = NpsSurvey.objects.create(
            tenant=acme.tenant, recipient=acme.customer, organization=acme.org, plan=acme.pro
        )
        nps_answer(survey=extra, score=8)
        unanswered = NpsSurvey.objects.create(
            tenant=acme.tenant, recipient=acme.customer, organization=acme.org
        )
        by_org = nps_by_organization(start=start, end=end)
        overall = nps_overall(start=start, end=end)
    # acme.org: one promoter (10), one passive (8): (1 - 0) / 2 = 50.
    assert by_org[acme.org.pk].score == 50.0 and by_org[acme.org.pk].responses == 2
    # other_org: one detractor: -100.
    assert by_org[acme.other_org.pk].score == -100.0
    # Overall: 1 promoter, 1 passive, 1 detractor: 0.
    assert (overall.promoters, overall.passives, overall.detractors, overall.score) == (
        1,
        1,
        1,
        0.0,
    )
    assert unanswered.score is None
    with time_machine.travel(NOW + timedelta(days=8)), acme.scope():
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            nps_answer(survey=extra, score=9)


# -- the feedback form -------------------------------------------------------------------


def test_the_form_records_ease_text_and_the_page_it_came_from(acme):
    client = acme.client(acme.customer)
    page = client.get("/feedback/?from=/kb/articles/3/reset-password/").content.decode()
    assert "How easy was it to find what you needed?" in page
    response = client.post(
        "/feedback/",
        {"ease": "2", "text": "Search didn't find <i>refunds</i>", "page": "/kb/search/?q=refund"},
    )
    assert response.status_code == 302
    with acme.scope():
        entry = FeedbackSubmission.objects.get()
    assert (entry.ease, entry.page, entry.user) == (2, "/kb/search/?q=refund", acme.customer)
    assert entry.text == "Search didn't find <i>refunds</i>"
    assert "Thank you" in client.get(response["Location"]).content.decode()


def test_the_footer_links_every_help_center_page_to_the_form(acme):
    page = acme.client(acme.customer).get("/kb/").content.decode()
    assert 'href="/feedback/?from=/kb/"' in page


def test_the_form_shows_errors_in_place_and_keeps_the_text(acme):
    client = acme.client(acme.customer)
    response = client.post("/feedback/", {"ease": "", "text": "Keep this text"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose how easy it was" in body and "Keep this text" in body
    response = client.post("/feedback/", {"ease": "9", "text": "x" * 2001})
    assert response.status_code == 400
    assert "Ensure this value has at most 2000 characters" in response.content.decode()
    with acme.scope():
        assert not FeedbackSubmission.objects.exists()


def test_an_off_site_page_is_not_kept(acme):
    client = acme.client(acme.customer)
    client.post("/feedback/", {"ease": "4", "page": "https://evil.example/phish"})
    client.post("/feedback/", {"ease": "4", "page": "//evil.example/phish"})
    with acme.scope():
        assert list(FeedbackSubmission.objects.values_list("page", flat=True)) == ["", ""]


@pytest.mark.parametrize("who", ["customer", "visitor"])
def test_a_flood_of_submissions_is_refused(acme, who):
    _open_to_visitors(acme)
    client = acme.client(acme.customer if who == "customer" else None)
    statuses = [client.post("/feedback/", {"ease": "5"}).status_code for _ in range(11)]
    assert statuses == [302] * 10 + [429]
    with acme.scope():
        assert FeedbackSubmission.objects.count() == 10


def _open_to_visitors(desk, is_open=True):
    with desk.scope():
        FeedbackSettings.objects.update_or_create(
            tenant=desk.tenant, defaults={"form_open_to_visitors": is_open}
        )


def test_the_form_is_for_signed_in_people_unless_the_desk_opens_it_to_visitors(acme):
    """Support channels are for signed-in customers (seeds/001); the form too, by default."""
    visitor = acme.client()
    response = visitor.get("/feedback/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert visitor.post("/feedback/", {"ease": "1"}).status_code == 302
    with acme.scope():
        assert not FeedbackSubmission.objects.exists()
    # The footer does not offer it to visitors; it does to customers.
    assert "/feedback/" not in visitor.get("/kb/").content.decode()
    assert 'href="/feedback/?from=/kb/"' in acme.client(acme.customer).get("/kb/").content.decode()

    _open_to_visitors(acme)
    assert visitor.get("/feedback/").status_code == 200
    assert 'href="/feedback/?from=/kb/"' in visitor.get("/kb/").content.decode()
    assert visitor.post("/feedback/", {"ease": "4", "text": "Nice docs"}).status_code == 302
    with acme.scope():
        entry = FeedbackSubmission.objects.get()
    assert (entry.text, entry.user) == ("Nice docs", None)

    _open_to_visitors(acme, False)
    assert visitor.get("/feedback/").status_code == 302


def test_one_desk_opening_its_form_opens_no_other(acme, globex):
    _open_to_visitors(acme)
    response = globex.client().get("/feedback/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert acme.client().get("/feedback/").status_code == 200


def test_a_member_who_left_gets_no_form(acme):
    with acme.scope():
        Membership.objects.filter(user=acme.customer).update(is_active=False)
    assert acme.client(acme.customer).get("/feedback/").status_code == 403


def test_the_admin_opens_the_form_to_visitors_in_the_survey_settings(acme):
    admin = acme.client(acme.admin)
    page = admin.get("/admin/feedback/feedbacksettings/add/").content.decode()
    assert "Open the feedback form to visitors" in page
    response = admin.post(
        "/admin/feedback/feedbacksettings/add/",
        {
            "csat_enabled": "on",
            "csat_delay_minutes": "60",
            "nps_enabled": "on",
            "nps_interval_days": "90",
            "form_open_to_visitors": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert acme.client().get("/feedback/").status_code == 200
    with acme.scope():
        row = FeedbackSettings.objects.get()
    change = admin.get(
        f"/admin/feedback/feedbacksettings/{row.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "向访客开放反馈表单" in change.content.decode()


def test_admins_browse_and_export_only_their_desks_feedback(acme, globex):
    with acme.scope():
        FeedbackSubmission.objects.create(tenant=acme.tenant, ease=5, text="Acme loves it")
    with globex.scope():
        FeedbackSubmission.objects.create(tenant=globex.tenant, ease=1, text="Globex secret")
    admin = acme.client(acme.admin)
    listing = admin.get("/admin/feedback/feedbacksubmission/").content.decode()
    assert "Acme loves it" in listing and "Globex secret" not in listing
    with acme.scope():
        ids = list(FeedbackSubmission.objects.values_list("pk", flat=True))
    with globex.scope():
        ids += list(FeedbackSubmission.objects.values_list("pk", flat=True))
    response = admin.post(
        "/admin/feedback/feedbacksubmission/",
        {"action": "_feedback_csv", "_selected_action": ids},
    )
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert "Acme loves it" in body and "Globex secret" not in body
    assert body.splitlines()[0].startswith("received,ease")
    # Agents are not admins: no feedback admin.
    assert acme.client(acme.agent).get("/admin/feedback/feedbacksubmission/").status_code in (
        302,
        403,
    )


def test_survey_admin_lists_only_this_desks_answers(acme, globex):
    for desk, comment in ((acme, "acme comment"), (globex, "globex comment")):
        with desk.scope():
            survey = NpsSurvey.objects.create(
                tenant=desk.tenant, recipient=desk.customer, organization=desk.org
            )
            nps_answer(survey=survey, score=7, comment=comment)
    page = acme.client(acme.admin).get("/admin/feedback/npssurvey/").content.decode()
    assert "acme comment" in page and "globex comment" not in page
    page = globex.client(globex.admin).get("/admin/feedback/npssurvey/").content.decode()
    assert "globex comment" in page and "acme comment" not in page


def test_the_hourly_beat_task_asks_each_desks_due_contacts(acme, globex):
    from feedback.tasks import send_nps_surveys

    _age_memberships(acme)
    _age_memberships(globex)
    send_nps_surveys()
    for desk in (acme, globex):
        with desk.scope():
            assert NpsSurvey.objects.count() == 2
    send_nps_surveys()
    with acme.scope():
        assert NpsSurvey.objects.count() == 2


def test_feedback_lands_in_the_desk_it_was_sent_to(acme, globex):
    globex.client(globex.customer).post(
        "/feedback/", {"ease": "1", "text": "Globex search is broken"}
    )
    acme.client(acme.customer).post("/feedback/", {"ease": "5", "text": "Acme is great"})
    with acme.scope():
        assert list(FeedbackSubmission.objects.values_list("text", flat=True)) == ["Acme is great"]
    with globex.scope():
        assert list(FeedbackSubmission.objects.values_list("text", flat=True)) == [
            "Globex search is broken"
        ]
