"""The HTTP request of a delivery, in its endpoint's format.

- `json`: our envelope, signed: `X-Helpdesk-Signature: v1=<hex HMAC-SHA256(secret,
  f"{timestamp}.{body}")>` with `X-Helpdesk-Timestamp`, so a receiver proves it is us
  and refuses a replay (docs/webhooks.md#verifying-a-delivery).
- the chat tools: their own message JSON, and their own signature when the robot asks
  for one (DingTalk and Feishu's "加签"): DingTalk's in the query, Feishu's in the body.

Signatures carry the time of the attempt, so they are made as it starts, not stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit, urlunsplit

from webhooks.models import WebhookDelivery, WebhookEndpoint

USER_AGENT = "Helpdesk-Webhooks/1"
Format = WebhookEndpoint.Format


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


def body_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Our `X-Helpdesk-Signature` value."""
    signed = f"{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign` (before URL encoding): base64(HMAC-SHA256(key=secret,
    msg=f"{timestamp}\\n{secret}")), the timestamp in milliseconds."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's `sign`: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), the
    timestamp in seconds."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _with_query(url: str, extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def build_request(delivery: WebhookDelivery, endpoint: WebhookEndpoint, *, now: float) -> Request:
    """What to post for `delivery`, at the time `now` (Unix seconds)."""
    seconds = int(now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Helpdesk-Event": delivery.event_type,
        "X-Helpdesk-Delivery": str(delivery.delivery_id),
    }
    url = endpoint.url.strip()
    text = delivery.message
    if endpoint.format == Format.JSON:
        body = body_bytes(delivery.payload)
        headers["X-Helpdesk-Timestamp"] = str(seconds)
        headers["X-Helpdesk-Signature"] = signature(endpoint.secret, seconds, body)
        return Request(url=url, headers=headers, body=body)
    if endpoint.format == Format.SLACK:
        document: dict = {"text": text}
    elif endpoint.format in (Format.DINGTALK, Format.WECOM):
        document = {"msgtype": "text", "text": {"content": text}}
        if endpoint.format == Format.DINGTALK and endpoint.chat_secret:
            milliseconds = int(now * 1000)
            sign = quote_plus(dingtalk_sign(endpoint.chat_secret, milliseconds))
            url = _with_query(url, f"timestamp={milliseconds}&sign={sign}")
    elif endpoint.format == Format.FEISHU:
        document = {"msg_type": "text", "content": {"text": text}}
        if endpoint.chat_secret:
            document = {
                "timestamp": str(seconds),
                "sign": feishu_sign(endpoint.chat_secret, seconds),
                **document,
            }
    else:
        raise ValueError(f"Unknown webhook format {endpoint.format!r}")
    return Request(url=url, headers=headers, body=body_bytes(document))
