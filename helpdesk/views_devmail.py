"""The local outbox (/dev/mail/, DEBUG only): the host desk's mail, nobody else's.

Every view answers 404, whatever the method, unless DEBUG is on with the dev
mail backend. On a desk's host it lists and opens that desk's mail only (the
platform host: mail sent outside any desk); a name from another desk's folder is
a 404 like any made-up name.

Within a desk it asks for no sign-in: it is there for the mail a developer needs
before signing in (the sign-up verification, a password reset, an invitation),
and on a development machine the developer plays every person of the demo.
"""

import functools

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from helpdesk.mail import outbox_message, outbox_messages

# The message's own HTML, in a frame of the outbox page: mail is styled inline (mail
# clients ignore stylesheets), so this document alone allows inline styles; it runs
# no script (sandbox) and loads nothing from elsewhere.
MAIL_BODY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'self'; form-action 'none'; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


def dev_outbox_only(view):
    """404 before anything else (method checks included) unless the outbox is on."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.DEBUG or settings.EMAIL_BACKEND != "helpdesk.mail.DevOutboxBackend":
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _message_or_404(request, name: str) -> dict:
    message = outbox_message(request.tenant, name)
    if message is None:
        raise Http404
    return message


@dev_outbox_only
@require_GET
def dev_mail_list(request):
    query = request.GET.get("to", "").strip().lower()
    messages = [m for m in outbox_messages(request.tenant) if query in m["to"].lower()]
    return render(request, "helpdesk/dev_mail_list.html", {"messages": messages, "query": query})


@dev_outbox_only
@require_GET
def dev_mail_detail(request, name: str):
    message = _message_or_404(request, name)
    return render(request, "helpdesk/dev_mail_detail.html", {"message": message})


@dev_outbox_only
@require_GET
@xframe_options_sameorigin
def dev_mail_html(request, name: str):
    """The message's HTML part as a document of its own, for the detail page's frame."""
    message = _message_or_404(request, name)
    if not message["html"]:
        raise Http404
    # Links open in a new tab: the app's pages refuse to be framed.
    response = HttpResponse('<base target="_blank">' + message["html"])
    response["Content-Security-Policy"] = MAIL_BODY_POLICY
    return response


# Mounted on desks' hosts (helpdesk/urls.py) and the platform host (urls_platform.py).
urlpatterns = [
    path("dev/mail/", dev_mail_list, name="dev_mail_list"),
    path("dev/mail/<str:name>/", dev_mail_detail, name="dev_mail_detail"),
    path("dev/mail/<str:name>/html/", dev_mail_html, name="dev_mail_html"),
]
