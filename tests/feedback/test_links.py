"""Survey links: signed, expiring, bound to their desk and request, refused clearly."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from feedback import tokens
from tests.feedback.helpers import (
    links_in,
    path_of,
    send_due,
    solved_ticket,
    survey_emails,
    survey_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rate_link(acme, django_capture_on_commit_callbacks):
    ticket = solved_ticket(acme)
    with django_capture_on_commit_callbacks(execute=True):
        send_due(acme)
    (email,) = survey_emails(acme.customer.email)
    return ticket, path_of(next(link for link in links_in(email) if link.endswith("/rate/5/")))


def test_a_tampered_token_is_refused_with_a_clear_page(acme, rate_link):
    ticket, link = rate_link
    token = link.split("/")[4]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = acme.client().get(link.replace(token, forged))
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    # Editing the payload (another survey id) breaks the signature too.
    payload, signed_at, signature = token.split(":")
    other = tokens.make(tokens.LinkTarget("csat", acme.tenant.pk, 999, ticket.number))
    response = acme.client().get(
        link.replace(token, f"{other.split(':')[0]}:{signed_at}:{signature}")
    )
    assert response.status_code == 400
    assert survey_of(acme, ticket).rating is None


def test_a_link_pasted_under_another_request_is_refused(acme, rate_link):
    ticket, link = rate_link
    second = solved_ticket(acme)
    moved = link.replace(f"/satisfaction/{ticket.number}/", f"/satisfaction/{second.number}/")
    response = acme.client().get(moved)
    assert response.status_code == 400
    assert "belongs to another request" in response.content.decode()
    assert survey_of(acme, ticket).rating is None
    assert survey_of(acme, second).rating is None


def test_an_expired_link_says_so(acme, rate_link):
    ticket, link = rate_link
    with time_machine.travel(timezone.now() + tokens.LINK_LIFETIME + timedelta(hours=1)):
        response = acme.client().get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert survey_of(acme, ticket).rating is None


def test_a_link_opened_on_another_desk_shows_nothing_of_it(acme, globex, rate_link):
    ticket, link = rate_link
    response = globex.client().get(link)
    assert response.status_code == 404
    body = response.content.decode()
    assert "another help desk" in body and ticket.subject not in body
    assert survey_of(acme, ticket).rating is None
    # Nor does the opt-out or the survey page of one desk work on the other.
    response = globex.client().post(link.rsplit("/rate/", 1)[0] + "/", {"rating": 1})
    assert response.status_code == 404


def test_a_rating_outside_one_to_five_is_a_clear_error(acme, rate_link):
    ticket, link = rate_link
    response = acme.client().get(link.replace("/rate/5/", "/rate/9/"))
    assert response.status_code == 400
    assert "Choose a rating from 1 to 5" in response.content.decode()
    assert survey_of(acme, ticket).rating is None


def test_a_bad_form_post_shows_errors_in_place_and_keeps_the_comment(acme, rate_link):
    _ticket, link = rate_link
    survey_url = link.rsplit("/rate/", 1)[0] + "/"
    response = acme.client().post(survey_url, {"rating": "", "comment": "keep me"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required" in body and "keep me" in body
