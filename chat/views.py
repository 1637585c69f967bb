"""Live chat pages: the customer's chat (its own page, and the panel the help center's
launcher opens), starting one, leaving a message when nobody is there, sending files,
and the agent's console. The conversation itself runs over the websockets of
chat/consumers.py; these pages only open it."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from chat import services
from chat.models import Chat
from helpdesk.access import role_required
from helpdesk.models import Membership, Role
from helpdesk.security import csp_allow
from plans.models import Plan
from plans.selectors import plan_for_membership
from success.selectors import latest_score
from tickets.forms import AttachmentsField
from tickets.models import Category, Macro
from tickets.selectors import requester_context


class ChatStartForm(forms.Form):
    question = forms.CharField(
        label=gettext_lazy("What can we help you with?"),
        max_length=services.MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=gettext_lazy("Not sure"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)


class ChatFilesForm(forms.Form):
    attachments = AttachmentsField()


def _embedded(request) -> bool:
    return request.GET.get("embed") == "1" or request.POST.get("embed") == "1"


def _chat_url(request) -> str:
    return reverse("chat_page") + ("?embed=1" if _embedded(request) else "")


def _framed(response):
    """The chat page may sit in the help center's own launcher frame."""
    csp_allow(response, "frame-ancestors", "'self'")
    return response


def plan_context(membership) -> dict:
    """The customer's plan (its promise beside the form) and the plans above it that
    offer chat (the upsell)."""
    plan = plan_for_membership(membership)
    return {
        "plan": plan,
        "chat_plans": list(
            Plan.objects.filter(rank__gt=plan.rank if plan else -1, offers_chat=True).order_by(
                "rank"
            )
        ),
    }


def _render(request, context: dict, status: int = 200):
    context = {
        "embedded": _embedded(request),
        "hide_chat_launcher": True,  # this page is the chat
        **plan_context(request.membership),
        **context,
    }
    template = "chat/embedded.html" if context["embedded"] else "chat/page.html"
    return _framed(render(request, template, context, status=status))


@require_GET
@xframe_options_sameorigin
@role_required(Role.CUSTOMER)
def chat_page(request):
    membership: Membership = request.membership
    refusal = services.refusal(membership)
    if refusal:
        return _render(request, {"refusal": refusal})
    chat = services.open_chat_of(request.user)
    if chat is not None:
        return _render(request, {"chat": chat})
    opening = services.opening(membership)
    return _render(request, {"opening": opening, "form": ChatStartForm()})


@require_POST
@xframe_options_sameorigin
@role_required(Role.CUSTOMER)
def chat_start(request):
    membership = request.membership
    refusal = services.refusal(membership)
    if refusal:
        return _render(request, {"refusal": refusal}, status=403)
    form = ChatStartForm(request.POST)
    opening = services.opening(membership)
    if form.is_valid():
        try:
            started = services.chat_start_or_leave_message(
                membership=membership,
                question=form.cleaned_data["question"],
                category=form.cleaned_data["category"],
            )
            if isinstance(started, Chat):
                return redirect(_chat_url(request))
            ticket = started
        except PermissionDenied as refused:
            return _render(request, {"refusal": str(refused)}, status=403)
        except ValidationError as error:
            form.add_error("question" if hasattr(error, "error_dict") else None, error.messages)
        else:
            messages.success(
                request,
                _("We have your message as request #%(number)s and will reply by email.")
                % {"number": ticket.number},
            )
            if _embedded(request):
                return _render(request, {"left_message": ticket})
            return redirect("hc_ticket_detail", number=ticket.number)
    return _render(request, {"opening": opening, "form": form}, status=400)


def _customer_chat(request, key) -> Chat:
    chat = Chat.objects.filter(key=key, customer=request.user).select_related("ticket").first()
    if chat is None:
        raise Http404
    return chat


@require_POST
@role_required(Role.CUSTOMER)
def chat_files(request, key):
    return files_posted(request, _customer_chat(request, key))


def files_posted(request, chat: Chat) -> JsonResponse:
    """Files sent in a chat (the help center's or the widget's): checked like a ticket's
    attachments, then a chat line; JSON either way, for the page's script."""
    form = ChatFilesForm(request.POST, request.FILES)
    if not form.is_valid() or not form.cleaned_data["attachments"]:
        errors = form.errors.get("attachments") or [_("Choose a file to send.")]
        return JsonResponse({"error": " ".join(errors)}, status=400)
    try:
        message = services.chat_post(
            chat=chat,
            author=request.user,
            membership=request.membership,
            body="",
            uploads=form.cleaned_data["attachments"],  # checked, as Upload
        )
    except (ValidationError, PermissionDenied) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        return JsonResponse({"error": text}, status=400)
    return JsonResponse({"id": message.pk})


@require_POST
@role_required(Role.CUSTOMER)
def chat_transcript(request, key):
    """Email the chat's transcript to the customer."""
    chat = _customer_chat(request, key)
    try:
        services.transcript_send(chat=chat)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The transcript is on its way to %(email)s.") % {"email": request.user.email},
        )
    return redirect(_chat_url(request))


@require_POST
@xframe_options_sameorigin
@role_required(Role.CUSTOMER)
def chat_rate(request, key):
    """The one-click rating at the end of a chat."""
    chat = _customer_chat(request, key)
    try:
        rating = int(request.POST.get("rating", ""))
        services.chat_rate(chat=chat, customer=request.user, rating=rating)
    except (ValueError, ValidationError):
        messages.error(request, _("Choose a rating from 1 to 5."))
    else:
        messages.success(request, _("Thank you for rating this chat."))
    return redirect(_chat_url(request))


@require_GET
@role_required(Role.AGENT)
def agent_console(request):
    colleagues = Membership.objects.filter(
        is_active=True, role__in=[Role.AGENT, Role.ADMIN]
    ).select_related("user")
    return render(
        request,
        "chat/console.html",
        {
            "colleagues": sorted(
                (m.user for m in colleagues if m.user_id != request.user.pk),
                key=lambda u: u.display_name,
            ),
            "macros": Macro.objects.filter(is_active=True).order_by("name"),
            "heartbeat_seconds": services.HEARTBEAT_SECONDS,
        },
    )


@require_GET
@role_required(Role.AGENT)
def agent_chat_context(request, key):
    """The customer panel beside a chat in the console: the ticket page's own card."""
    chat = services.chat_for_staff(
        key, request.membership, related=("ticket__requester", "ticket__organization__plan")
    )
    if chat is None:
        raise Http404
    ticket = chat.ticket
    return render(
        request,
        "tickets/_customer_card.html",
        {
            "ticket": ticket,
            "context": requester_context(ticket, member=request.membership),
            "plan": ticket.organization.plan if ticket.organization_id else None,
            "health": latest_score(ticket.organization_id),
        },
    )
