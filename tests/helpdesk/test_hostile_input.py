"""Bad input is a 400, never a 500, on every route (helpdesk/input_guard.py,
helpdesk/input_values.py).

The routes are generated from the URL confs (tests/routes.py), both hosts, admin and
allauth included. Two kinds of test walk them:

- one per input class (a NUL byte in the path, the query string, a form field, a cookie
  or a header; a lone surrogate; JSON nested too deep; a Content-Length that is not a
  number): every route answers 400 with a message saying what was wrong, in English
  and, with `Accept-Language: zh-hans`, in Chinese;
- a property (Hypothesis) per persona (a visitor, a customer, an agent, an admin): hostile
  query strings, form bodies and headers on every route never get a 5xx.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from helpdesk.input_guard import MAX_JSON_DEPTH
from tests.api.helpers import token_client
from tests.routes import Route, build_world, routes

PERSONAS = ("anonymous", "customer", "agent", "admin")
# Examples per route and persona: (292 desk routes x 4 personas + 231 platform routes x 2)
# x 2 = about 3,300 requests, about 45 s on the shared 2-CPU machine (the whole file 70 s).
EXAMPLES_PER_ROUTE = 2
OUR_APPS = {"helpdesk", "plans", "tickets", "sla", "knowledge", "feedback", "success", "phone"}


@pytest.fixture
def world(acme):
    return build_world(acme)


@pytest.fixture
def walk(world) -> list[Route]:
    return routes(world)


def test_the_walk_covers_both_hosts_admin_allauth_and_the_api(walk):
    paths = {route.pattern for route in walk}
    assert {"kb/<str:category_slug>/<str:slug>/", "agent/reports/sla/", "accounts/login/"} <= paths
    assert any(route.is_api and route.pattern.endswith("messages/$") for route in walk)
    assert any(route.host == "localhost" and "object_id" in route.pattern for route in walk)
    assert len(walk) > 400


# -- each input class on every route --------------------------------------------------------

ENGLISH = {
    "nul": "contains a NUL character (U+0000), which is not allowed.",
    "surrogate": "contains a lone surrogate (U+D800), which is not valid Unicode.",
    "depth": f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
    "length": "The Content-Length header must be a number of bytes.",
}
CHINESE = {
    "nul": "包含空字符 (U+0000)",
    "surrogate": "包含单独的代理码位 (U+D800)",
    "depth": f"JSON 请求体的嵌套超过 {MAX_JSON_DEPTH} 层",
    "length": "Content-Length 请求头必须是字节数",
}


def _message(response) -> str:
    if response["Content-Type"].startswith("application/json"):
        return response.json()["detail"]
    body = response.content.decode()
    return re.search(r'<p class="lead">(.*?)</p>', body, re.S)[1]


def _refusals(walk, kind: str, send, *, where: str) -> list[str]:
    """Send each route the bad input in English and in Chinese; what did not answer a
    400 naming the problem (and `where` it was) in that language."""
    wrong = []
    for route in walk:
        for language, expected in (("en", ENGLISH[kind]), ("zh-hans", CHINESE[kind])):
            response = send(route, HTTP_ACCEPT_LANGUAGE=language)
            if response.status_code != 400:
                wrong.append(f"{route} ({language}): {response.status_code}")
                continue
            message = _message(response)
            if expected not in message or (where and where not in message):
                wrong.append(f"{route} ({language}): {message!r}")
    return wrong


def _client(route: Route, **headers) -> Client:
    return Client(HTTP_HOST=route.host, **headers)


def _with_nul_in_path(path: str) -> str:
    return path.rstrip("/") + "%00" + ("/" if path.endswith("/") else "")


def test_a_nul_in_the_path_is_a_400_on_every_route(walk):
    def send(route, **headers):
        return _client(route).get(_with_nul_in_path(route.path), **headers)

    assert _refusals(walk, "nul", send, where="") == []


def test_a_nul_in_the_query_string_is_a_400_on_every_route(walk):
    def send(route, **headers):
        return _client(route).get(route.path, {"q": "invoice\x00"}, **headers)

    assert _refusals(walk, "nul", send, where="q") == []


def test_a_nul_in_a_cookie_is_a_400_on_every_route(walk):
    def send(route, **headers):
        return _client(route).get(route.path, HTTP_COOKIE="sessionid=abc\x00def", **headers)

    assert _refusals(walk, "nul", send, where="sessionid") == []


@pytest.mark.parametrize("character", ["\x00", "\ud800"])
def test_a_nul_or_a_lone_surrogate_in_a_header_is_a_400_on_every_route(walk, character):
    # A real server hands headers over as Latin-1, so no surrogate arrives that way; the
    # rule is the same for every place all the same.
    def send(route, **headers):
        return _client(route).get(route.path, HTTP_USER_AGENT=f"curl{character}", **headers)

    kind = "nul" if character == "\x00" else "surrogate"
    assert _refusals(walk, kind, send, where="User-Agent") == []


def test_a_content_length_that_is_not_a_number_is_a_400_on_every_route(walk):
    def send(route, **headers):
        return _client(route).post(route.path, "x", "text/plain", CONTENT_LENGTH="ten", **headers)

    assert _refusals(walk, "length", send, where="") == []


def test_a_nul_in_a_form_field_is_a_400_on_every_route_that_reads_forms(world, walk):
    # Signed in, so the views past the login are reached too; views that read their body
    # themselves (the API, inbound mail) are the next tests'.
    def send(route, **headers):
        client = _client(route)
        if route.host == world.desk.host:
            client.force_login(world.desk.admin)
        return client.post(route.path, {"subject": "Refund\x00"}, **headers)

    form_routes = [route for route in walk if not route.takes_raw_body]
    assert len(form_routes) > 400
    assert _refusals(form_routes, "nul", send, where="subject") == []


def _api_writes(walk) -> list[tuple[Route, str]]:
    """(route, method) of every API operation that reads a JSON body."""
    found = []
    for route in walk:
        actions = getattr(route.view, "actions", {}) if route.is_api else {}
        found += [(route, method) for method in ("post", "put", "patch") if method in actions]
    return found


@pytest.mark.parametrize(
    ("kind", "body", "where"),
    [
        ("nul", {"subject": "Refund\x00", "body": "x"}, "$.subject"),
        ("surrogate", {"subject": "x", "body": "\ud800"}, "$.body"),
        ("surrogate", {"tags": ["ok", "\ud800"], "body": "x"}, "$.tags[1]"),
        ("nul", {"body\x00": "x"}, "$"),
        ("nul", [{"event_id": "e\x00"}], "$[0].event_id"),
        (
            "depth",
            {"body": json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))},
            "",
        ),
        ("depth", None, ""),  # deeper than Python's own parser can go
    ],
)
def test_bad_json_is_a_400_on_every_api_write(acme, walk, kind, body, where):
    writes = _api_writes(walk)
    assert {route.pattern.split("/")[-2] for route, _method in writes} >= {"events", "messages"}
    text = "[" * 100_000 + "]" * 100_000 if body is None else json.dumps(body)
    client = token_client(acme, acme.admin)
    wrong = []
    for route, method in writes:
        for language, expected in (("en", ENGLISH[kind]), ("zh-hans", CHINESE[kind])):
            response = getattr(client, method)(
                route.path, text, "application/json", HTTP_ACCEPT_LANGUAGE=language
            )
            detail = response.json().get("detail", "") if response.status_code == 400 else ""
            if expected not in detail or where not in detail:
                wrong.append(
                    f"{method.upper()} {route} ({language}): {response.status_code} {detail!r}"
                )
    assert wrong == []


# -- hostile requests as each persona: never a 5xx --------------------------------------------


def _parameter_names() -> list[str]:
    """What forms, serializers and admin filters of the site read: the names under which
    a hostile value reaches code, generated from the classes themselves."""
    from django import forms

    names = {
        "q",
        "p",
        "o",
        "e",
        "page",
        "page_size",
        "csv",
        "format",
        "next",
        "_changelist_filters",
    }
    for base, attribute in (
        (forms.BaseForm, "base_fields"),
        (serializers.Serializer, "_declared_fields"),
    ):
        pending = [base]
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            if cls.__module__.split(".")[0] in OUR_APPS:
                names |= set(getattr(cls, attribute, {}))
    for model_admin in admin.site._registry.values():
        for list_filter in model_admin.list_filter:
            if isinstance(list_filter, str):
                names |= {
                    f"{list_filter}__exact",
                    f"{list_filter}__gte",
                    f"{list_filter}__id__exact",
                }
            elif hasattr(list_filter, "parameter_name"):
                names.add(list_filter.parameter_name)
    return sorted(names)


HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "9999-12-31",
            "0001-01-01",
            "2000-02-30",
            "99999-01-01",
            "-1",
            "0",
            "99999999999999999999",
            "1" * 5000,
            "1e309",
            "NaN",
            "²",
            "٣",
            "#²",
            "1.5",
            "",
            " ",
            "%",
            "../../etc/passwd",
            "' OR 1=1 --",
            "<script>alert(1)</script>",
            "x" * 3000,
            "null",
            "[]",
            "true",
        ]
    ),
    st.text(max_size=30),
    st.integers().map(str),
    st.dates().map(str),
)
# Headers as a server hands them over: Latin-1 text.
HEADER_TEXT = st.one_of(
    HOSTILE_TEXT.filter(lambda s: all(ord(c) < 256 for c in s)),
    st.text(st.characters(max_codepoint=255), max_size=30),
)
HEADERS = [
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_REFERER",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_AUTHORIZATION",
    "HTTP_HX_REQUEST",
    "HTTP_HX_CURRENT_URL",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_NONE_MATCH",
    "HTTP_RANGE",
    "HTTP_ACCEPT",
    "HTTP_COOKIE",
]
# (A Content-Length that is not a number has its own test above; one that is a number
# but larger than the body trips the test client's own assertion, not the site.)


def _hostile_requests(names: list[str]):
    fields = st.dictionaries(st.sampled_from(names), HOSTILE_TEXT, max_size=4)
    return st.fixed_dictionaries(
        {
            "method": st.sampled_from(["get", "post"]),
            "query": fields,
            "form": fields,
            "headers": st.dictionaries(st.sampled_from(HEADERS), HEADER_TEXT, max_size=2),
        }
    )


def _persona_client(world, persona: str, route: Route) -> Client | None:
    desk = world.desk
    client = Client(HTTP_HOST=route.host)
    if persona == "anonymous":
        return client
    if route.host != desk.host:  # the platform host: its operator only
        if persona != "admin":
            return None
        from tests.helpdesk.mfa import operator_client

        return operator_client()
    client.force_login(getattr(desk, persona))
    return client


def _never_a_5xx(world, persona: str, route: Route, strategy) -> None:
    """Hypothesis's examples of hostile requests to one route, as one persona."""

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(request):
        client = _persona_client(world, persona, route)
        if client is None:
            return
        if request["method"] == "get":
            response = client.get(route.path, request["query"], **request["headers"])
        else:
            path = f"{route.path}?{urlencode(request['query'])}"
            response = client.post(path, request["form"], **request["headers"])
        assert response.status_code < 500, (str(route), persona, request, response.status_code)

    check()


@pytest.mark.parametrize("persona", PERSONAS)
def test_hostile_requests_never_get_a_5xx(world, walk, persona):
    strategy = _hostile_requests(_parameter_names())
    for route in walk:
        _never_a_5xx(world, persona, route, strategy)
