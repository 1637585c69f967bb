"""CSAT: one survey per solved episode, sent once after the delay, answered by a click."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback.models import CsatSurvey, FeedbackSettings, SurveyOptOut, SurveyStatus
from feedback.services import csat_answer, feedback_settings
from tests.access import assert_asked_to_sign_in
from tests.feedback.helpers import (
    links_in,
    path_of,
    send_due,
    solved_ticket,
    survey_emails,
    survey_of,
)
from tests.tickets.factories import category, make_ticket, refresh, set_fields
from tickets.models import Status
from tickets.services import ticket_reply

pytestmark = pytest.mark.django_db


def test_solving_schedules_a_survey_after_the_desks_delay(acme):
    before = timezone.now()
    ticket = solved_ticket(acme)
    survey = survey_of(acme, ticket)
    assert survey.status == SurveyStatus.SCHEDULED
    assert survey.recipient == acme.customer and survey.agent == acme.agent
    assert timedelta(minutes=59) < survey.send_at - before < timedelta(minutes=61)
    # Not before its time...
    assert send_due(acme, after=timedelta(minutes=30)) == 0
    assert survey_emails(acme.customer.email) == []


def test_the_due_survey_is_emailed_once_in_the_customers_language(
    acme, django_capture_on_commit_callbacks
):
    acme.customer.preferred_language = "zh-hans"
    acme.customer.save()
    ticket = solved_ticket(acme)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due(acme) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due(acme) == 0  # already sent
    emails = [m for m in mail.outbox if m.to == [acme.customer.email] and "#1" in m.subject]
    survey_email = [m for m in emails if "我们做得怎么样" in m.subject]
    assert len(survey_email) == 1, [m.subject for m in emails]
    survey = survey_of(acme, ticket)
    assert survey.status == SurveyStatus.SENT and survey.sent_at is not None
    # Five one-click ratings and an opt-out link.
    links = links_in(survey_email[0])
    assert sum("/rate/" in link for link in links) == 5
    assert any("/feedback/surveys/" in link for link in links)


def test_reopening_before_the_send_time_cancels_the_survey(acme):
    ticket = solved_ticket(acme)
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.customer, body="Still broken, sorry.")
    assert survey_of(acme, ticket).status == SurveyStatus.CANCELLED
    assert send_due(acme) == 0
    assert survey_emails(acme.customer.email) == []


def test_each_solved_episode_gets_its_own_survey_at_most(acme):
    ticket = solved_ticket(acme)
    send_due(acme)
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.customer, body="It broke again.")
    set_fields(acme, ticket, status=Status.SOLVED)
    with acme.scope():
        surveys = list(CsatSurvey.objects.filter(ticket=ticket).order_by("solved_at"))
    assert [s.status for s in surveys] == [SurveyStatus.SENT, SurveyStatus.SCHEDULED]
    # Closing the solved ticket later is not a new episode.
    set_fields(acme, ticket, status=Status.CLOSED)
    with acme.scope():
        assert CsatSurvey.objects.filter(ticket=ticket).count() == 2


def test_a_customer_who_opted_out_is_not_surveyed(acme, django_capture_on_commit_callbacks):
    with acme.scope():
        SurveyOptOut.objects.create(tenant=acme.tenant, user=acme.customer)
    ticket = solved_ticket(acme)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due(acme) == 0
    assert survey_of(acme, ticket).status == SurveyStatus.SKIPPED
    assert survey_emails(acme.customer.email) == []


def test_surveys_switched_off_or_excluded_categories_send_nothing(
    acme, django_capture_on_commit_callbacks
):
    with acme.scope():
        settings = feedback_settings(acme.tenant)
        settings.csat_excluded_categories.add(category(acme, "Billing"))
    billing = solved_ticket(acme, category=category(acme, "Billing"))
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due(acme) == 0
    assert survey_of(acme, billing).status == SurveyStatus.SKIPPED
    with acme.scope():
        FeedbackSettings.objects.update(csat_enabled=False)
    other = solved_ticket(acme)
    with acme.scope():
        assert not CsatSurvey.objects.filter(ticket=other).exists()
    assert survey_emails(acme.customer.email) == []


def test_a_ticket_requested_by_an_agent_is_not_surveyed(acme):
    ticket = solved_ticket(acme, requester=acme.agent)
    send_due(acme)
    assert survey_of(acme, ticket).status == SurveyStatus.SKIPPED


def test_the_desks_delay_setting_is_used(acme):
    with acme.scope():
        FeedbackSettings.objects.create(tenant=acme.tenant, csat_delay_minutes=10)
    ticket = solved_ticket(acme)
    assert send_due(acme, after=timedelta(minutes=11)) == 1
    assert survey_of(acme, ticket).status == SurveyStatus.SENT


# -- answering -------------------------------------------------------------------------


def _sent_survey(acme, django_capture_on_commit_callbacks):
    ticket = solved_ticket(acme)
    with django_capture_on_commit_callbacks(execute=True):
        send_due(acme)
    (email,) = survey_emails(acme.customer.email)
    return ticket, email


def test_one_click_records_the_rating_and_the_comment_can_be_added(
    acme, django_capture_on_commit_callbacks
):
    ticket, email = _sent_survey(acme, django_capture_on_commit_callbacks)
    four = next(link for link in links_in(email) if link.endswith("/rate/4/"))
    anonymous = acme.client()
    response = anonymous.get(path_of(four))
    assert response.status_code == 302
    page = anonymous.get(response["Location"])
    assert page.status_code == 200
    assert "we recorded your rating: 4/5" in page.content.decode()
    survey = survey_of(acme, ticket)
    assert survey.rating == 4 and survey.rated_at is not None
    response = anonymous.post(
        response["Location"], {"rating": 5, "comment": "Fast <b>and</b> kind"}
    )
    assert response.status_code == 302
    survey = survey_of(acme, ticket)
    assert (survey.rating, survey.comment) == (5, "Fast <b>and</b> kind")
    # The comment is shown escaped, never as markup.
    page = anonymous.get(response["Location"]).content.decode()
    assert "Fast &lt;b&gt;and&lt;/b&gt; kind" in page


def test_answers_can_be_changed_for_seven_days_only(acme, django_capture_on_commit_callbacks):
    ticket, email = _sent_survey(acme, django_capture_on_commit_callbacks)
    two = next(link for link in links_in(email) if link.endswith("/rate/2/"))
    client = acme.client()
    client.get(path_of(two))
    survey_url = path_of(two).rsplit("/rate/", 1)[0] + "/"
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert client.post(survey_url, {"rating": 3, "comment": "ok"}).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(days=7, hours=1)):
        response = client.post(survey_url, {"rating": 5, "comment": "changed my mind"})
        assert response.status_code == 400
        assert "can no longer be changed" in response.content.decode()
        page = client.get(survey_url).content.decode()
        assert 'class="form"' not in page and "ok" in page
    survey = survey_of(acme, ticket)
    assert (survey.rating, survey.comment) == (3, "ok")


def test_a_bad_rating_tells_the_agent_and_the_admins_once(acme, django_capture_on_commit_callbacks):
    ticket, email = _sent_survey(acme, django_capture_on_commit_callbacks)
    survey = survey_of(acme, ticket)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        csat_answer(survey=survey, rating=1, comment="Nobody read my message")
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        csat_answer(survey=survey, rating=2)  # still bad: no second alert
    alerts = sorted(m.to[0] for m in mail.outbox)
    assert alerts == sorted([acme.agent.email, acme.admin.email])
    assert "Nobody read my message" in mail.outbox[0].body
    assert f"/agent/tickets/{ticket.number}/" in mail.outbox[0].body


def test_a_good_rating_alerts_nobody(acme, django_capture_on_commit_callbacks):
    ticket, _email = _sent_survey(acme, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        csat_answer(survey=survey_of(acme, ticket), rating=5)
    assert mail.outbox == []


def test_an_unsent_survey_cannot_be_answered(acme):
    ticket = solved_ticket(acme)
    with acme.scope(), pytest.raises(ValidationError):
        csat_answer(survey=survey_of(acme, ticket), rating=5)


def test_the_agent_sees_the_rating_and_comment_on_the_ticket(
    acme, django_capture_on_commit_callbacks
):
    ticket, _email = _sent_survey(acme, django_capture_on_commit_callbacks)
    with acme.scope():
        csat_answer(survey=survey_of(acme, ticket), rating=2, comment="Took three days")
    page = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "Satisfaction" in page
    assert "2/5" in page and "Took three days" in page
    # The customer's own view of the ticket does not show it as agent data.
    refresh(acme, ticket)


def test_opt_out_link_stops_surveys_on_post_only(acme, django_capture_on_commit_callbacks):
    _ticket, email = _sent_survey(acme, django_capture_on_commit_callbacks)
    opt_out = path_of(next(link for link in links_in(email) if "/feedback/surveys/" in link))
    client = acme.client()
    assert client.get(opt_out).status_code == 200  # a mail scanner opening it changes nothing
    with acme.scope():
        assert not SurveyOptOut.objects.exists()
    client.post(opt_out, {"action": "stop"})
    with acme.scope():
        assert SurveyOptOut.objects.filter(user=acme.customer).exists()
    next_ticket = make_ticket(acme)
    set_fields(acme, next_ticket, status=Status.SOLVED)
    send_due(acme)
    assert survey_of(acme, next_ticket).status == SurveyStatus.SKIPPED
    client.post(opt_out, {"action": "resume"})
    with acme.scope():
        assert not SurveyOptOut.objects.exists()


def test_each_desk_sends_only_its_own_surveys(acme, globex):
    ours, theirs = solved_ticket(acme), solved_ticket(globex)
    assert send_due(acme) == 1
    assert survey_of(acme, ours).status == SurveyStatus.SENT
    assert survey_of(globex, theirs).status == SurveyStatus.SCHEDULED
    # Globex's agent cannot open Acme's ticket, rating panel and all: nobody at Acme.
    response = globex.client(globex.agent).get(
        f"/agent/tickets/{ours.number}/", HTTP_HOST=acme.host
    )
    assert_asked_to_sign_in(response)


def test_the_beat_task_sends_every_desks_due_surveys(acme, globex):
    from feedback.tasks import send_csat_surveys

    ours, theirs = solved_ticket(acme), solved_ticket(globex)
    for desk, ticket in ((acme, ours), (globex, theirs)):
        with desk.scope():
            CsatSurvey.objects.filter(ticket=ticket).update(send_at=timezone.now())
    assert send_csat_surveys() == 2  # one task per desk with something due
    assert survey_of(acme, ours).status == SurveyStatus.SENT
    assert survey_of(globex, theirs).status == SurveyStatus.SENT
    assert send_csat_surveys() == 0
