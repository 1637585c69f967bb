"""A message's images from other sites are not loaded unless the reader asks, for
that view only (tickets/external_images.py). The browser's side, that nothing is
requested, is tests/browser/test_csp.py."""

import pytest

from tests.tickets.factories import make_ticket
from tickets.rendering import block_external_images, is_external_url, render_markdown

PLACEHOLDER = "/static/img/external-image.svg"
PIXEL = "https://tracker.example/p.gif?who=carol&amp;at=now"


@pytest.mark.parametrize(
    ("url", "external"),
    [
        ("/attachments/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/", False),
        ("chart.png", False),
        ("?page=2", False),
        ("http://acme.localhost/kb/images/x/", False),
        ("HTTPS://ACME.LOCALHOST/x.png", False),
        ("https://tracker.example/p.gif", True),
        ("//tracker.example/p.gif", True),
        ("/\\tracker.example/p.gif", True),  # browsers read a backslash as a slash
        ("\\\\tracker.example/p.gif", True),
        ("/\t/tracker.example/p.gif", True),  # and drop tabs and newlines
        (" //tracker.example/p.gif", True),
        ("https:tracker.example/p.gif", True),  # still absolute for a browser
        ("http://acme.localhost:8080/x.png", True),  # another port, another origin
        ("http://acme.localhost.tracker.example/x.png", True),
        ("ftp://acme.localhost/x.png", True),
    ],
)
def test_which_addresses_are_another_origins(url, external):
    assert is_external_url(url, own_host="acme.localhost") is external


def test_external_images_point_at_the_placeholder_and_are_counted():
    html = render_markdown(
        "![pixel](https://tracker.example/p.gif?who=carol&at=now) and "
        "![ours](/attachments/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/) and "
        "![again](//tracker.example/q.gif)"
    )
    blocked, count = block_external_images(html, own_host="acme.localhost", placeholder="/x.svg")
    assert count == 2
    assert "tracker.example" not in blocked
    assert '<img src="/x.svg" alt="pixel">' in blocked
    assert '<img src="/attachments/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed/" alt="ours">' in blocked
    # HTML whose images are all ours comes back as it was.
    ours = render_markdown("![a](/kb/images/x/) ![b](https://acme.localhost/y.png)")
    assert block_external_images(ours, own_host="acme.localhost", placeholder="/x.svg") == (ours, 0)
    assert block_external_images("<p>hi</p>", own_host="h", placeholder="/x.svg") == (
        "<p>hi</p>",
        0,
    )


@pytest.fixture
def tracked(acme):
    return make_ticket(acme, body="Look: ![pixel](https://tracker.example/p.gif?who=carol&at=now)")


@pytest.mark.parametrize(
    ("persona", "page"), [("agent", "/agent/tickets/"), ("customer", "/tickets/")]
)
def test_the_ticket_page_blocks_them_and_shows_them_on_request(acme, tracked, persona, page):
    client = acme.client(getattr(acme, persona))
    url = f"{page}{tracked.number}/"

    response = client.get(url)
    body = response.content.decode()
    assert "tracker.example" not in body
    assert f'<img src="{PLACEHOLDER}" alt="pixel">' in body
    assert "External images in this conversation are blocked" in body
    assert f'href="{url}?images=show">Show external images</a>' in body
    assert "img-src 'self' data:;" in response["Content-Security-Policy"]

    shown = client.get(url, {"images": "show"})
    body = shown.content.decode()
    assert f'<img src="{PIXEL}" alt="pixel">' in body
    assert "External images are shown for this view only." in body
    assert f'href="{url}">Hide external images</a>' in body
    assert "img-src 'self' data: https: http:;" in shown["Content-Security-Policy"]
    # The relaxation belongs to that one response.
    assert "https:" not in client.get(url)["Content-Security-Policy"]


def test_no_notice_without_external_images(acme):
    ticket = make_ticket(acme, body="No pictures here.")
    body = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "External images" not in body


def test_only_a_page_view_relaxes_the_policy(acme, tracked):
    # A reply posted with the parameter in the address re-renders the page blocked.
    client = acme.client(acme.customer)
    response = client.post(f"/tickets/{tracked.number}/?images=show", {"body": ""})
    assert response.status_code == 200
    assert "tracker.example" not in response.content.decode()
    assert "https:" not in response["Content-Security-Policy"]


def test_another_customers_ticket_stays_a_404_with_the_parameter(acme, tracked):
    response = acme.client(acme.other_customer).get(
        f"/tickets/{tracked.number}/", {"images": "show"}
    )
    assert response.status_code == 404
    assert "https:" not in response["Content-Security-Policy"]


def test_the_choice_reads_in_chinese(acme, tracked):
    client = acme.client(acme.customer)
    url = f"/tickets/{tracked.number}/"
    body = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "此对话中的外部图片已被拦截" in body and "显示外部图片" in body
    body = client.get(url, {"images": "show"}, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "外部图片仅在本次查看中显示。" in body and "隐藏外部图片" in body


def test_html_from_email_is_blocked_alike(acme):
    """HTML that came by another channel is stored sanitized, and shown the same way."""
    from tickets.models import Channel

    ticket = make_ticket(
        acme,
        channel=Channel.EMAIL,
        body_html='<p>Hi</p><img src="https://tracker.example/open.gif" width="1" height="1">',
    )
    body = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert "tracker.example" not in body
    assert f'<img src="{PLACEHOLDER}" width="1" height="1">' in body
