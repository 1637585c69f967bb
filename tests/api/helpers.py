"""Helpers shared by the API tests."""

import json

from django.test import Client

from helpdesk.api_tokens import api_token_create


def json_body(response):
    """The JSON body; every API answer, errors included, is JSON."""
    content_type = response["Content-Type"].split(";")[0]
    assert content_type.endswith(("/json", "+json")), response.content[:300]
    return response.json()


def send(client: Client, method: str, path: str, data=None, **extra):
    if method in ("post", "put", "patch"):
        payload = data if isinstance(data, str) else json.dumps(data or {})
        return getattr(client, method)(path, payload, content_type="application/json", **extra)
    return getattr(client, method)(path, data or {}, **extra)


def token_client(desk, user) -> Client:
    """A client that authenticates with a new API token of `user`."""
    with desk.scope():
        _token, key = api_token_create(tenant=desk.tenant, user=user, name="Integration")
    return Client(HTTP_HOST=desk.host, HTTP_AUTHORIZATION=f"Token {key}")
