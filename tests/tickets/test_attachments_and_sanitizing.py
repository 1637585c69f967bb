"""What people write never runs in anyone's browser, and files reach only those who may see them."""

import re
import uuid
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.models import Membership, Role
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tests.tickets.factories import make_ticket, upload
from tickets.models import Attachment, Message
from tickets.services import ticket_add_note, ticket_reply


def _text(response) -> str:
    return response.content.decode()


class _PageParser(HTMLParser):
    """Collects what a browser would act on: elements, their attributes and script code,
    and separately the elements and text inside message bodies."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.body_elements: list[tuple[str, dict[str, str]]] = []
        self.body_text: list[str] = []
        self._in_script = False
        self._body_depth = 0  # > 0 while inside <div class="message-body">

    def handle_starttag(self, tag, attrs):
        attrs = {name.lower(): (value or "") for name, value in attrs}
        self.elements.append((tag, attrs))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if self._body_depth:
            self.body_elements.append((tag, attrs))
            if tag == "div":
                self._body_depth += 1
        elif tag == "div" and "message-body" in attrs.get("class", "").split():
            self._body_depth = 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if tag == "div" and self._body_depth:
            self._body_depth -= 1

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        if self._body_depth:
            self.body_text.append(data)


def _parse(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


def _assert_nothing_runs(html: str) -> _PageParser:
    page = _parse(html)
    assert page.body_elements or page.body_text, "no message bodies found"
    # No script element with user code, anywhere on the page.
    assert not any("alert" in code for code in page.scripts)
    for tag, attrs in page.elements:
        assert "onerror" not in attrs, (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = re.sub(r"\s", "", attrs.get(name, "")).lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    # Inside messages: no script, no event handlers, no styles or frames at all.
    for tag, attrs in page.body_elements:
        assert tag not in {"script", "iframe", "object", "embed", "style", "form", "svg"}
        assert not [name for name in attrs if name.startswith("on") or name == "style"]
    return page


XSS_BODY = (
    "<script>alert(1)</script>\n\n"
    "<img src=x onerror=alert(1)>\n\n"
    "[x](javascript:alert(1))\n\n"
    "[ok](https://example.com/docs)"
)


def _pages(desk, ticket):
    agent = _text(desk.client(desk.agent).get(f"/agent/tickets/{ticket.number}/"))
    customer = _text(desk.client(desk.customer).get(f"/tickets/{ticket.number}/"))
    return {"agent": agent, "customer": customer}


# -- sanitizing -----------------------------------------------------------------------------


def test_script_event_handlers_and_javascript_links_never_run(acme):
    ticket = make_ticket(acme, body=XSS_BODY)
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body=XSS_BODY)
    for who, html in _pages(acme, ticket).items():
        page = _assert_nothing_runs(html)
        assert "<script>alert(1)" not in html, who
        assert "<img src=x" not in html and '<img src="x"' not in html, who
        assert 'href="javascript:' not in html, who
        # What was typed is shown as text, so nobody wonders where it went ...
        shown = "".join(page.body_text)
        assert "<script>alert(1)</script>" in shown, who
        # ... and the harmless link still works, opened without the opener.
        links = [attrs for tag, attrs in page.body_elements if tag == "a"]
        assert [a["href"] for a in links] == ["https://example.com/docs"] * 2, who
        assert "noopener" in links[0].get("rel", ""), who


def test_markdown_renders_as_formatting(acme):
    body = (
        "**bold words** and *slanted*\n\n"
        "- first item\n- second item\n\n"
        "1. step one\n2. step two\n\n"
        "Run `make test` now.\n\n"
        "```\nprint('hi')\n```\n\n"
        "| Plan | Price |\n|------|-------|\n| Pro | 49 |\n\n"
        "~~old~~ and [docs](https://example.com)"
    )
    ticket = make_ticket(acme, body=body)
    for who, html in _pages(acme, ticket).items():
        assert "<strong>bold words</strong>" in html, who
        assert "<em>slanted</em>" in html, who
        assert "<ul>\n<li>first item</li>\n<li>second item</li>\n</ul>" in html, who
        assert "<ol>\n<li>step one</li>" in html, who
        assert "<code>make test</code>" in html, who
        assert "<pre><code>print(&#39;hi&#39;)\n</code></pre>" in html or (
            "<pre><code>print('hi')\n</code></pre>" in html
        ), who
        assert "<table>" in html and "<th>Plan</th>" in html and "<td>Pro</td>" in html, who
        assert "<del>old</del>" in html or "<s>old</s>" in html, who
        assert "**bold words**" not in html, who


def test_subjects_and_file_names_are_shown_as_text(acme):
    ticket = make_ticket(
        acme,
        subject="<script>alert(1)</script> in subject",
        uploads=[upload("<img src=x onerror=alert(1)>.txt", b"hello")],
    )
    pages = {
        **_pages(acme, ticket),
        "queue": _text(acme.client(acme.agent).get("/agent/")),
        "list": _text(acme.client(acme.customer).get("/tickets/")),
    }
    for who, html in pages.items():
        assert "<script>alert(1)</script> in subject" not in html, who
        assert "&lt;script&gt;alert(1)&lt;/script&gt; in subject" in html, who
        assert not [attrs for _tag, attrs in _parse(html).elements if "onerror" in attrs], who


def test_html_given_by_a_channel_is_sanitized_before_it_is_shown(acme):
    # Email and API channels hand the service HTML of their own; the page shows
    # message HTML as is, so it must be cleaned when it is written.
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_reply(
            ticket=ticket,
            author=acme.customer,
            body="Hello from email",
            body_html=(
                "<p>Hello from email</p><script>alert(1)</script>"
                '<img src="x" onerror="alert(1)"><a href="javascript:alert(1)">click</a>'
            ),
        )
    for who, html in _pages(acme, ticket).items():
        assert "Hello from email" in html, who
        _assert_nothing_runs(html)


# -- attachments: who may download ----------------------------------------------------------


def _key(desk, ticket, name) -> uuid.UUID:
    with desk.scope():
        return Attachment.objects.get(ticket=ticket, name=name).key


def _download(client, key):
    response = client.get(f"/attachments/{key}/")
    # Reading a file response to the end closes it, as a WSGI server would.
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


@pytest.fixture
def filed(acme):
    """A ticket by Acme's customer with a text file, a ZIP and a picture."""
    return make_ticket(
        acme,
        uploads=[
            upload("notes.txt", b"plain notes", "text/plain"),
            upload("logs.zip", b"PK\x03\x04 zipped logs", "application/zip"),
            upload("screen.png", b"\x89PNG\r\n\x1a\n fake", "image/png"),
        ],
    )


def test_requester_downloads_via_the_link_in_the_thread(acme, filed):
    client = acme.client(acme.customer)
    page = _text(client.get(f"/tickets/{filed.number}/"))
    links = re.findall(r'<a href="(/attachments/[0-9a-f-]+/)">logs\.zip</a>', page)
    assert len(links) == 1
    response = client.get(links[0])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PK\x03\x04 zipped logs"
    assert response["Content-Disposition"] == 'attachment; filename="logs.zip"'
    assert response["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("name", "disposition", "content_type"),
    [
        ("notes.txt", 'inline; filename="notes.txt"', "text/plain"),
        ("screen.png", 'inline; filename="screen.png"', "image/png"),
        ("logs.zip", 'attachment; filename="logs.zip"', "application/octet-stream"),
    ],
)
def test_files_are_served_with_their_name_and_safe_headers(
    acme, filed, name, disposition, content_type
):
    response, _content = _download(acme.client(acme.customer), _key(acme, filed, name))
    assert response.status_code == 200
    assert response["Content-Disposition"] == disposition
    assert response["Content-Type"] == content_type
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_with_a_non_ascii_name_keeps_its_name(acme):
    ticket = make_ticket(acme, uploads=[upload("報告 2024.csv", b"a,b\n1,2\n", "text/csv")])
    response, content = _download(acme.client(acme.customer), _key(acme, ticket, "報告 2024.csv"))
    assert response.status_code == 200 and content == b"a,b\n1,2\n"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%E5%A0%B1%E5%91%8A%202024.csv" in disposition


def test_staff_download_any_file_of_their_tenant(acme, filed):
    key = _key(acme, filed, "notes.txt")
    for user in [acme.agent, acme.admin]:
        response, content = _download(acme.client(user), key)
        assert response.status_code == 200 and content == b"plain notes"


def test_customer_of_another_organization_gets_404(acme, filed):
    response, content = _download(acme.client(acme.other_customer), _key(acme, filed, "notes.txt"))
    assert response.status_code == 404
    assert b"plain notes" not in content


def test_a_colleague_gets_404_but_the_organization_manager_may_download(acme, filed):
    colleague = make_member(
        acme.tenant, "dan@acme-co.example", Role.CUSTOMER, organization=acme.org
    )
    key = _key(acme, filed, "notes.txt")
    assert _download(acme.client(colleague), key)[0].status_code == 404
    with acme.scope():
        Membership.objects.filter(user=colleague).update(is_org_manager=True)
    response, content = _download(acme.client(colleague), key)
    assert response.status_code == 200 and content == b"plain notes"


@pytest.mark.parametrize("persona", ["customer", "agent", "admin"])
def test_people_of_another_desk_are_asked_to_sign_in(acme, globex, filed, persona):
    response, content = _download(
        acme.client(getattr(globex, persona)), _key(acme, filed, "notes.txt")
    )
    assert_asked_to_sign_in(response)
    assert b"plain notes" not in content


def test_a_file_of_another_tenant_is_404_even_for_staff(acme, globex):
    globex_ticket = make_ticket(globex, uploads=[upload("globex.txt", b"globex secret")])
    key = _key(globex, globex_ticket, "globex.txt")
    for user in [acme.agent, acme.admin, acme.customer]:
        response, content = _download(acme.client(user), key)
        assert response.status_code == 404
        assert b"globex secret" not in content


def test_unknown_key_is_404(acme, filed):
    response, _content = _download(acme.client(acme.agent), uuid.uuid4())
    assert response.status_code == 404
    assert acme.client(acme.agent).get("/attachments/not-a-key/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(acme, filed):
    response, content = _download(acme.client(), _key(acme, filed, "notes.txt"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert b"plain notes" not in content


def test_only_get_serves_a_file(acme, filed):
    key = _key(acme, filed, "notes.txt")
    for method in ["post", "put", "delete"]:
        response = getattr(acme.client(acme.customer), method)(f"/attachments/{key}/")
        assert response.status_code == 405
    with acme.scope():
        assert Attachment.objects.filter(key=key).exists()


def test_a_file_on_an_internal_note_is_for_staff_only(acme, filed):
    with acme.scope():
        note = ticket_add_note(
            ticket=filed,
            author=acme.agent,
            body="Their export, keep internal.",
            uploads=[upload("internal.csv", b"secret,data\n", "text/csv")],
        )
        key = note.attachments.get().key
    customer, content = _download(acme.client(acme.customer), key)
    assert customer.status_code == 404
    assert b"secret,data" not in content
    agent, content = _download(acme.client(acme.agent), key)
    assert agent.status_code == 200 and content == b"secret,data\n"
    # Nor is it linked on the customer's page; the agent's page links it.
    assert str(key) not in _text(acme.client(acme.customer).get(f"/tickets/{filed.number}/"))
    assert str(key) in _text(acme.client(acme.agent).get(f"/agent/tickets/{filed.number}/"))


def test_a_merged_ticket_keeps_its_files_reachable_for_its_requester(acme):
    from tickets.services import ticket_merge

    source = make_ticket(acme, uploads=[upload("before-merge.txt", b"kept")])
    target = make_ticket(acme)
    with acme.scope():
        ticket_merge(source=source, target=target, actor=acme.agent)
    response, content = _download(
        acme.client(acme.customer), _key(acme, target, "before-merge.txt")
    )
    assert response.status_code == 200 and content == b"kept"


# -- attachments: what may be uploaded ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("page.html", "text/html"),
        ("logo.svg", "image/svg+xml"),
        ("widget.js", "text/javascript"),
        ("invoice.pdf.exe", "application/pdf"),
        ("INSTALL.EXE", "application/octet-stream"),
        ("notes.txt", "text/html"),  # a harmless name does not hide a web page
    ],
)
def test_files_that_could_run_are_refused_with_an_inline_error(acme, name, content_type):
    ticket = make_ticket(acme)
    response = acme.client(acme.customer).post(
        f"/tickets/{ticket.number}/",
        {
            "body": "Please look at the attached file.",
            "attachments": [SimpleUploadedFile(name, b"<script>alert(1)</script>", content_type)],
        },
    )
    assert response.status_code == 200
    page = _text(response)
    assert f"“{name}” is a type of file we do not accept" in page
    assert "Please look at the attached file." in page
    with acme.scope():
        assert Message.objects.filter(ticket=ticket).count() == 1
        assert not Attachment.objects.filter(name=name).exists()


def test_too_many_files_are_refused(acme, settings):
    settings.ATTACHMENTS_PER_MESSAGE = 2
    ticket = make_ticket(acme)
    files = [SimpleUploadedFile(f"f{i}.txt", b"x", "text/plain") for i in range(3)]
    response = acme.client(acme.customer).post(
        f"/tickets/{ticket.number}/", {"body": "Three files.", "attachments": files}
    )
    assert response.status_code == 200
    assert "Attach at most 2 files." in _text(response)
    with acme.scope():
        assert Message.objects.filter(ticket=ticket).count() == 1


def test_a_reply_with_only_a_file_is_accepted_and_downloadable(acme):
    ticket = make_ticket(acme)
    client = acme.client(acme.customer)
    response = client.post(
        f"/tickets/{ticket.number}/",
        {"body": "", "attachments": [SimpleUploadedFile("trace.log", b"stack", "text/plain")]},
        follow=True,
    )
    page = _text(response)
    assert "Your reply was added." in page and "trace.log" in page
    downloaded, content = _download(client, _key(acme, ticket, "trace.log"))
    assert downloaded.status_code == 200 and content == b"stack"
    assert 'filename="trace.log"' in downloaded["Content-Disposition"]
