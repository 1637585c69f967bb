"""Request bodies the API refuses: too large (JSON 413) or too many form fields (JSON
400), never Django's HTML error page or a 500."""

import json

import pytest
from django.core.exceptions import TooManyFieldsSent
from django.test import Client
from rest_framework.request import Request

from helpdesk.api_errors import api_exception_handler
from tests.api.helpers import json_body, send, token_client
from tests.tickets.factories import make_ticket
from tickets.models import Ticket


def _tickets(desk) -> int:
    with desk.scope():
        return Ticket.objects.count()


def test_a_json_body_over_the_limit_is_a_413(acme, settings, caplog):
    body = json.dumps({"subject": "Logs", "body": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = send(token_client(acme, acme.customer), "post", "/api/v1/tickets/", body)

    assert response.status_code == 413
    assert json_body(response) == {"detail": "The request body is larger than 5.0 MB."}
    assert _tickets(acme) == 0
    assert "django.security.RequestDataTooBig" in [r.name for r in caplog.records]


@pytest.mark.parametrize(("size", "expected"), [(1900, 201), (2100, 413)])
def test_the_limit_is_django_data_upload_max_memory_size(acme, settings, size, expected):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    ticket = make_ticket(acme)
    padding = size - len(json.dumps({"body": ""}))
    body = json.dumps({"body": "x" * padding})
    assert len(body) == size
    path = f"/api/v1/tickets/{ticket.number}/messages/"
    response = send(token_client(acme, acme.customer), "post", path, body)
    assert response.status_code == expected
    json_body(response)


def _browser(desk, user) -> Client:
    """A signed-in browser with its CSRF cookie: the API then checks its CSRF token."""
    client = Client(HTTP_HOST=desk.host, enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/account/api-tokens/")
    return client


@pytest.mark.parametrize("client", ["token", "browser"])
def test_a_form_of_any_size_is_refused_unread(acme, settings, client):
    # The API reads JSON only: a form (multipart or not) is a 415 before it is read,
    # even for the browser's CSRF check, which asks DRF for the form.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = (
        token_client(acme, acme.customer) if client == "token" else _browser(acme, acme.customer)
    )
    for form in ({"subject": "Hi", "body": "x" * 2000}, {f"f{i}": "x" for i in range(2000)}):
        response = client.post("/api/v1/tickets/", form)
        assert response.status_code == 415
        assert json_body(response)["detail"].startswith("Unsupported media type")
    assert _tickets(acme) == 0


def test_other_suspicious_requests_are_a_json_400(acme, rf):
    # Django flags a form with too many fields; were the API ever to read forms, the
    # answer would still be JSON.
    request = Request(rf.post("/api/v1/tickets/"))
    error = TooManyFieldsSent("The number of GET/POST parameters exceeded the limit.")
    response = api_exception_handler(error, {"request": request, "view": None})
    assert response.status_code == 400
    assert response.data == {"detail": "The number of GET/POST parameters exceeded the limit."}
