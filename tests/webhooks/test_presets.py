"""Each chat tool gets its own message JSON; DingTalk's and Feishu's signatures, computed
again here from their documented schemes, match what a real request carried."""

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from helpdesk.models import Tenant
from tests.tickets.factories import make_ticket
from tests.webhooks.factories import make_endpoint
from tickets.models import Priority

pytestmark = pytest.mark.django_db


def post_a_new_ticket(acme, receiver, capture, fmt, **fields):
    make_endpoint(acme, receiver.url(f"/{fmt}?access_token=abc"), format=fmt, **fields)
    with capture(execute=True):
        ticket = make_ticket(acme, subject="Export stops at row 500", priority=Priority.HIGH)
    [request] = receiver.requests
    return ticket, request


def expected_line(acme, ticket) -> str:
    return (
        f"New high ticket #{ticket.number} from {acme.org.name}: Export stops at row 500 "
        f"https://acme.localhost/agent/tickets/{ticket.number}/"
    )


def test_slack(acme, receiver, django_capture_on_commit_callbacks):
    ticket, request = post_a_new_ticket(acme, receiver, django_capture_on_commit_callbacks, "slack")
    assert request.json() == {"text": expected_line(acme, ticket)}
    assert request.header("Content-Type") == "application/json"
    assert request.header("X-Helpdesk-Signature") is None


def test_wecom(acme, receiver, django_capture_on_commit_callbacks):
    ticket, request = post_a_new_ticket(acme, receiver, django_capture_on_commit_callbacks, "wecom")
    assert request.json() == {"msgtype": "text", "text": {"content": expected_line(acme, ticket)}}
    assert request.path == "/wecom?access_token=abc"


def test_dingtalk_unsigned_and_signed(acme, receiver, django_capture_on_commit_callbacks):
    ticket, request = post_a_new_ticket(
        acme, receiver, django_capture_on_commit_callbacks, "dingtalk", chat_secret="SECabc123"
    )
    assert request.json() == {"msgtype": "text", "text": {"content": expected_line(acme, ticket)}}
    url = urlsplit(request.path)
    assert url.path == "/dingtalk"
    query = parse_qs(url.query)
    assert query["access_token"] == ["abc"]
    [timestamp] = query["timestamp"]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # milliseconds
    # DingTalk's scheme: base64(HMAC-SHA256(secret, f"{timestamp}\n{secret}")), URL-encoded.
    digest = hmac.new(b"SECabc123", f"{timestamp}\nSECabc123".encode(), hashlib.sha256).digest()
    assert query["sign"] == [base64.b64encode(digest).decode()]  # parse_qs decoded it


def test_feishu_unsigned(acme, receiver, django_capture_on_commit_callbacks):
    ticket, request = post_a_new_ticket(
        acme, receiver, django_capture_on_commit_callbacks, "feishu"
    )
    assert request.json() == {"msg_type": "text", "content": {"text": expected_line(acme, ticket)}}


def test_feishu_signed(acme, receiver, django_capture_on_commit_callbacks):
    ticket, request = post_a_new_ticket(
        acme, receiver, django_capture_on_commit_callbacks, "feishu", chat_secret="fs-secret"
    )
    body = request.json()
    timestamp = body.pop("timestamp")
    sign = body.pop("sign")
    assert body == {"msg_type": "text", "content": {"text": expected_line(acme, ticket)}}
    assert abs(int(timestamp) - time.time()) < 60  # seconds, as a string
    # Feishu's scheme: base64(HMAC-SHA256(key=f"{timestamp}\n{secret}", msg=b"")).
    digest = hmac.new(f"{timestamp}\nfs-secret".encode(), b"", hashlib.sha256).digest()
    assert sign == base64.b64encode(digest).decode()


def test_messages_are_in_the_desks_default_language(
    acme, receiver, django_capture_on_commit_callbacks
):
    Tenant.objects.filter(pk=acme.tenant.pk).update(default_language="zh-hans")
    acme.tenant.refresh_from_db()
    make_endpoint(acme, receiver.url(), format="slack", events=["ticket.created", "ticket.solved"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme)
    text = receiver.requests[0].json()["text"]
    # The catalogue is compiled after the merge; until then the English line is shown,
    # and Django's own Chinese (the priority) already is.
    assert f"#{ticket.number}" in text and text.endswith(f"/agent/tickets/{ticket.number}/")
    assert "中" in text  # "中" of 中等 (Medium), from the catalogue's priority names
