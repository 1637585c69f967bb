"""Every API operation, as the OpenAPI schema (/api/schema/) describes it, checked against
what the API answers (Schemathesis).

Schemathesis reads the schema the site serves and generates requests for every operation,
valid and invalid (its examples, coverage and fuzzing phases), as a customer's token and
as an agent's; each answer must be no 5xx and must match the schema: a documented status
code, the documented content type, a body of the documented shape.

In-process through WSGI (Django's WSGI handler, not a live server): the requests run on the
test's own database connection, inside its transaction, so they see the desk the fixtures
made without committing it, and nothing is left behind; and no server thread or port is
needed on a shared machine. What the handler does per request (middleware, sessions,
throttles on the suite's Redis, PostgreSQL) is what a server would run.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from helpdesk.api_tokens import api_token_create
from tests.tickets.factories import make_ticket, upload

# Fuzzed examples per operation and persona (the examples and coverage phases add their
# own, bounded, cases): 14 operations x 2 personas.
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class _Handler(WSGIHandler):
    """Django's WSGI handler, on the test's connection: the handler's signals would close
    it after each request (as a server's must), ending the test's transaction."""

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return super().__call__(environ, start_response)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


APP = _Handler()


def _served_schema() -> dict:
    """The schema /api/schema/ serves, made by the same generator without a request (so
    Schemathesis can build its tests when pytest collects them, before any database);
    `test_the_schema_is_the_one_served` holds the two equal."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


SCHEMA = _served_schema()
schema = schemathesis.openapi.from_dict(SCHEMA)
schema.app = APP  # as `from_wsgi` would: requests go to the handler in-process


@pytest.fixture
def desk(acme, monkeypatch):
    """Acme with tickets (one with an attachment) of two customers."""
    # Hundreds of requests a minute from one token: the limits are tested elsewhere
    # (tests/helpdesk/test_api_throttling.py), and 429 is documented all the same.
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "100000/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "anon", "100000/min")
    make_ticket(acme, uploads=[upload()])
    make_ticket(acme, acme.other_customer)
    return acme


def test_the_schema_is_the_one_served(acme):
    response = acme.client().get("/api/schema/")
    assert response.status_code == 200
    assert response.json() == SCHEMA


def _token(desk, user) -> str:
    with desk.scope():
        _token, key = api_token_create(tenant=desk.tenant, user=user, name="Schemathesis")
    return key


@pytest.fixture
def customer_key(desk) -> str:
    return _token(desk, desk.customer)


@pytest.fixture
def agent_key(desk) -> str:
    return _token(desk, desk.agent)


CONFORMANCE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _call_and_validate(case, desk, key: str) -> None:
    case.call_and_validate(
        headers={"Host": desk.host, "Authorization": f"Token {key}"}, checks=CHECKS
    )


@schema.parametrize()
@CONFORMANCE
def test_every_operation_answers_a_customer_as_documented(case, desk, customer_key):
    _call_and_validate(case, desk, customer_key)


@schema.parametrize()
@CONFORMANCE
def test_every_operation_answers_an_agent_as_documented(case, desk, agent_key):
    _call_and_validate(case, desk, agent_key)
