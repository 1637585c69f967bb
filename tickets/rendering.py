"""User-written text to safe HTML, and what the placeholders of macros and rules stand for.

Ticket messages and macros are Markdown (CommonMark with tables and
strikethrough); raw HTML in them is shown as text, and the rendered HTML is
sanitized again by nh3 with an allowlist, so a message cannot run script in
anyone's browser. HTML from email goes through the same sanitizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import nh3
from django.urls import reverse
from markdown_it import MarkdownIt

from helpdesk.tenancy import tenant_url

if TYPE_CHECKING:
    from helpdesk.models import User
    from tickets.models import Ticket

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
# data: and javascript: URLs are refused; images load only over http(s) or from the app.
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(
    html: str,
    *,
    attributes: dict[str, set[str]] | None = None,
    attribute_filter: Callable[[str, str, str], str | None] | None = None,
) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=attributes or ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# Characters browsers drop from anywhere in a URL, and what they strip from its ends.
_URL_DROPPED = str.maketrans("", "", "\t\n\r")
_URL_STRIPPED = "".join(chr(c) for c in range(0x21))


def is_external_url(url: str, *, own_host: str) -> bool:
    """Whether a browser would fetch `url` from another origin than `own_host`'s.

    Read as a browser reads it: tabs and newlines dropped, a backslash taken for a
    slash (`/\\evil.example` is `//evil.example`), `https:evil.example` absolute.
    Relative URLs and absolute ones naming our host are ours; anything else is not.
    """
    url = url.translate(_URL_DROPPED).strip(_URL_STRIPPED).replace("\\", "/")
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return False
    return parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() != own_host.lower()


def block_external_images(html: str, *, own_host: str, placeholder: str) -> tuple[str, int]:
    """(`html` with each image from another origin pointing at `placeholder`, how many).

    Applied when a message is shown, not when it is stored, so messages stored
    before this existed are covered and the choice to show the images stays open.
    A browser never requests the original address: a sender's tracking pixel
    cannot tell when, or from where, the message was read.
    """
    if "<img" not in html:
        return html, 0
    blocked = 0

    def keep_own(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src" and is_external_url(value, own_host=own_host):
            blocked += 1
            return placeholder
        return value

    # The stored HTML is already sanitized; cleaning it again with the same allowlist
    # changes nothing else, and parses it as a browser would.
    return sanitize_html(html, attribute_filter=keep_own), blocked


def render_markdown(text: str) -> str:
    return sanitize_html(_markdown.render(text or ""))


_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")


def fill_placeholders(template: str, values: dict[str, dict[str, object]]) -> str:
    """Replace `{{ customer.first_name }}`-style placeholders with plain values.

    Deliberately not the Django template engine: macro text is admin input and
    must not reach template tags, filters or object attributes beyond this list.
    Unknown placeholders are left as written, so a typo is visible in the preview.
    """

    def replace(match: re.Match) -> str:
        group = values.get(match.group(1), {})
        value = group.get(match.group(2))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(replace, template)


def customer_url(ticket: Ticket) -> str:
    return tenant_url(ticket.tenant, reverse("hc_ticket_detail", args=[ticket.number]))


def agent_url(ticket: Ticket) -> str:
    return tenant_url(ticket.tenant, reverse("agent_ticket", args=[ticket.number]))


def ticket_placeholders(ticket: Ticket, agent: User | None) -> dict[str, dict[str, object]]:
    """What `{{ customer.first_name }}`-style placeholders of a macro or a rule's text
    stand for (tickets.rendering.fill_placeholders), `agent` the one writing."""
    requester = ticket.requester
    return {
        "customer": {
            "first_name": requester.first_name or requester.email,
            "name": requester.display_name,
            "email": requester.email,
        },
        "ticket": {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.get_status_display(),
            "priority": ticket.get_priority_display(),
            "url": agent_url(ticket),
            "customer_url": customer_url(ticket),
        },
        "agent": {
            "first_name": (agent.first_name if agent else "") or "",
            "name": agent.display_name if agent else "",
        },
    }
