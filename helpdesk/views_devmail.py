from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from helpdesk.mail import outbox_message, outbox_messages


def _debug_only():
    if not settings.DEBUG or settings.EMAIL_BACKEND != "helpdesk.mail.DevOutboxBackend":
        raise Http404


@require_GET
def dev_mail_list(request):
    _debug_only()
    query = request.GET.get("to", "").strip().lower()
    messages = [m for m in outbox_messages() if query in m["to"].lower()]
    return render(request, "helpdesk/dev_mail_list.html", {"messages": messages, "query": query})


@require_GET
def dev_mail_detail(request, name: str):
    _debug_only()
    message = outbox_message(name)
    if message is None:
        raise Http404
    return render(request, "helpdesk/dev_mail_detail.html", {"message": message})
