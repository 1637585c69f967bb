"""/api/v1/success/events/: who may post, what is refused, and idempotency by event id.

The endpoint's row in the API-wide permission table is in tests/api/test_api.py;
here, the token matrix and everything about the events themselves.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scopes_disabled

from helpdesk.api_tokens import api_token_create
from success.models import Metric, UsageEvent
from tests.api.helpers import json_body, send, token_client

PATH = "/api/v1/success/events/"


def login(desk, event_id="evt-1", **fields):
    return {
        "event_id": event_id,
        "organization": desk.org.pk,
        "metric": "login",
        "value": 3,
        "timestamp": "2026-11-20T09:30:00Z",
        **fields,
    }


def events_of(desk) -> list[UsageEvent]:
    with desk.scope():
        return list(UsageEvent.objects.order_by("pk"))


@pytest.fixture(autouse=True)
def _late_november():
    with time_machine.travel("2026-11-21 08:00:00+00:00", tick=False):
        yield


@pytest.fixture
def admin_api(acme):
    return token_client(acme, acme.admin)


# -- who may post ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("admin", 201), ("agent", 403), ("customer", 403), ("other_customer", 403)],
)
def test_only_the_desks_admins_tokens_may_post(acme, persona, expected):
    response = send(token_client(acme, getattr(acme, persona)), "post", PATH, login(acme))
    assert response.status_code == expected
    if expected == 403:
        assert json_body(response) == {"detail": "Only the help desk's admins can do this."}
        assert events_of(acme) == []
    else:
        assert json_body(response) == {"created": 1, "duplicates": 0}


def test_no_token_or_a_bad_one_is_a_json_401(acme):
    for client in (acme.client(), token_client(acme, acme.admin)):
        if client.defaults.get("HTTP_AUTHORIZATION"):
            client.defaults["HTTP_AUTHORIZATION"] = "Token not-a-real-key"
        response = send(client, "post", PATH, login(acme))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert set(json_body(response)) == {"detail"}
    assert events_of(acme) == []


def test_another_desks_admin_gets_nothing_here(acme, globex):
    # Their token is unknown on this host; their session is nobody here.
    with globex.scope():
        _token, key = api_token_create(tenant=globex.tenant, user=globex.admin, name="Theirs")
    client = acme.client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    assert send(client, "post", PATH, login(acme)).status_code == 401
    assert send(acme.client(globex.admin), "post", PATH, login(acme)).status_code == 401
    assert events_of(acme) == events_of(globex) == []


def test_an_admins_browser_session_may_post(acme):
    response = send(acme.client(acme.admin), "post", PATH, login(acme))
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_a_json_405(admin_api, method):
    response = send(admin_api, method, PATH, {})
    assert response.status_code == 405
    assert "not allowed" in json_body(response)["detail"]


# -- recording ------------------------------------------------------------------------------


def test_one_event_is_recorded_with_its_fields(acme, admin_api):
    response = send(
        admin_api,
        "post",
        PATH,
        login(
            acme,
            event_id="evt-feature",
            metric="feature_used",
            feature="  dashboards ",
            value=1.25,
            timestamp="2026-11-20T17:30:00+08:00",
        ),
    )
    assert response.status_code == 201, response.content
    (event,) = events_of(acme)
    assert (event.organization_id, event.metric, event.feature, event.event_id) == (
        acme.org.pk,
        Metric.FEATURE_USED,
        "dashboards",
        "evt-feature",
    )
    assert event.value == Decimal("1.25")
    assert event.occurred_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert event.received_at == timezone.now()


def test_a_batch_is_recorded_in_one_go_and_organizations_may_be_named(acme, admin_api):
    batch = [
        login(acme, "b-1"),
        login(acme, "b-2", organization="acme analytics other co", metric="records_created"),
        login(acme, "b-3", metric="invoice_paid", value=1500.50),
        login(acme, "b-4", metric="invoice_overdue", value=0),
        login(acme, "b-5", metric="payment_failed"),
    ]
    response = send(admin_api, "post", PATH, batch)
    assert response.status_code == 201
    assert json_body(response) == {"created": 5, "duplicates": 0}
    events = events_of(acme)
    assert [e.event_id for e in events] == ["b-1", "b-2", "b-3", "b-4", "b-5"]
    assert events[1].organization_id == acme.other_org.pk
    assert events[2].value == Decimal("1500.50")


def test_a_value_defaults_to_one(acme, admin_api):
    body = login(acme)
    del body["value"]
    assert send(admin_api, "post", PATH, body).status_code == 201
    assert events_of(acme)[0].value == 1


# -- idempotency ----------------------------------------------------------------------------


def test_posting_the_same_events_again_records_nothing_more(acme, admin_api):
    batch = [login(acme, f"evt-{n}") for n in range(3)]
    assert json_body(send(admin_api, "post", PATH, batch)) == {"created": 3, "duplicates": 0}

    again = send(admin_api, "post", PATH, batch)
    assert again.status_code == 200
    assert json_body(again) == {"created": 0, "duplicates": 3}

    # Half new, half seen; a repeated id inside one batch counts once; the first report
    # of an event wins even if a later one says something else.
    mixed = [login(acme, "evt-2", value=99), login(acme, "evt-3"), login(acme, "evt-3")]
    response = send(admin_api, "post", PATH, mixed)
    assert response.status_code == 201
    assert json_body(response) == {"created": 1, "duplicates": 2}
    events = events_of(acme)
    assert [e.event_id for e in events] == ["evt-0", "evt-1", "evt-2", "evt-3"]
    assert events[2].value == 3


def test_event_ids_are_per_desk(acme, globex, admin_api):
    theirs = send(token_client(globex, globex.admin), "post", PATH, login(globex, "shared-id"))
    ours = send(admin_api, "post", PATH, login(acme, "shared-id"))
    assert (theirs.status_code, ours.status_code) == (201, 201)
    assert [e.organization_id for e in events_of(acme)] == [acme.org.pk]
    assert [e.organization_id for e in events_of(globex)] == [globex.org.pk]


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"metric": "logout"}, "metric", '"logout" is not a valid choice.'),
        ({"value": -1}, "value", "Ensure this value is greater than or equal to 0."),
        ({"value": "many"}, "value", "A valid number is required."),
        ({"value": 1.005}, "value", "Ensure that there are no more than 2 decimal places."),
        ({"timestamp": "yesterday"}, "timestamp", "Datetime has wrong format."),
        ({"timestamp": "2026-11-21T10:00:00Z"}, "timestamp", "This time is in the future."),
        ({"event_id": ""}, "event_id", "This field may not be blank."),
        ({"event_id": "x" * 101}, "event_id", "Ensure this field has no more than 100"),
        ({"organization": True}, "organization", "Give the organization's id"),
        ({"organization": ["x"]}, "organization", "Give the organization's id"),
        ({"organization": 0}, "organization", "Give the organization's id"),
        ({"organization": 10**30}, "organization", "Give the organization's id"),
        ({"organization": 999999}, "organization", "There is no organization “999999” here."),
        ({"organization": "Nope Inc"}, "organization", "There is no organization “Nope Inc”"),
        ({"metric": "feature_used"}, "feature", "Name the feature that was used."),
        ({"feature": "sso"}, "feature", "Only feature_used events name a feature."),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_a_bad_event_is_a_400_naming_the_field(acme, admin_api, change, field, message):
    response = send(admin_api, "post", PATH, {**login(acme), **change})
    assert response.status_code == 400
    errors = json_body(response)
    assert message in errors[field][0], errors
    assert events_of(acme) == []


def test_required_fields(acme, admin_api):
    response = send(admin_api, "post", PATH, {})
    assert response.status_code == 400
    assert set(json_body(response)) == {"event_id", "organization", "metric", "timestamp"}


def test_another_desks_organization_is_unknown_here(acme, globex, admin_api):
    for reference in (globex.org.pk, globex.org.name):
        response = send(admin_api, "post", PATH, login(acme, organization=reference))
        assert response.status_code == 400
        assert "There is no organization" in json_body(response)["organization"][0]
    assert events_of(acme) == events_of(globex) == []


def test_a_batch_with_bad_events_records_nothing_and_lists_each_by_position(acme, admin_api):
    batch = [
        login(acme, "ok-1"),
        login(acme, "bad-1", metric="logout"),
        "not an object",
        login(acme, "bad-3", organization=424242),
        login(acme, "ok-2"),
    ]
    response = send(admin_api, "post", PATH, batch)
    assert response.status_code == 400
    body = json_body(response)
    assert body["detail"] == "Nothing was recorded: 3 of 5 events are not valid."
    assert [(error["index"], sorted(error["errors"])) for error in body["errors"]] == [
        (1, ["metric"]),
        (2, ["non_field_errors"]),
        (3, ["organization"]),
    ]
    assert events_of(acme) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "Send at least one event."),
        ("just text", "Send an event object or a list of them."),
        (42, "Send an event object or a list of them."),
    ],
)
def test_a_body_that_is_no_event_is_a_400(acme, admin_api, body, message):
    import json

    response = send(admin_api, "post", PATH, json.dumps(body))
    assert response.status_code == 400
    assert json_body(response) == {"non_field_errors": [message]}


def test_a_batch_is_at_most_a_thousand_events(acme, admin_api):
    start = timezone.now() - timedelta(days=1)
    batch = [
        login(acme, f"many-{n}", timestamp=(start + timedelta(seconds=n)).isoformat())
        for n in range(1001)
    ]
    response = send(admin_api, "post", PATH, batch)
    assert response.status_code == 400
    assert json_body(response) == {"non_field_errors": ["Send at most 1,000 events at once."]}

    response = send(admin_api, "post", PATH, batch[:1000])
    assert response.status_code == 201
    assert json_body(response) == {"created": 1000, "duplicates": 0}
    with scopes_disabled():
        assert UsageEvent.objects.filter(tenant=acme.tenant).count() == 1000


def test_malformed_json_is_a_json_400(acme, admin_api):
    response = send(admin_api, "post", PATH, "{not json")
    assert response.status_code == 400
    assert "JSON parse error" in json_body(response)["detail"]


def test_the_endpoint_is_in_the_openapi_schema(acme):
    schema = acme.client().get("/api/schema/").json()
    operation = schema["paths"]["/api/v1/success/events/"]["post"]
    # Its own answers, and the errors every operation documents (helpdesk/api_schema.py).
    assert set(operation["responses"]) == {
        *("200", "201", "400", "401", "403", "406", "413", "415", "429")
    }
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": "#/components/schemas/UsageEventOrBatchRequest"}
    one_of = schema["components"]["schemas"]["UsageEventOrBatchRequest"]["oneOf"]
    assert {"type": "array", "items": {"$ref": "#/components/schemas/UsageEventRequest"}} in one_of
