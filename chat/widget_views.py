"""The chat widget's pages (chat/widget.py has the rules, docs/chat.md the guide).

- `/widget.js`: the loader the tenant's page includes (static/js/widget.js).
- `/widget/`: the frame's shell. It knows nobody: it asks the embedding page for its
  identity token (postMessage) and exchanges it at `/widget/session/` for a widget
  ticket, then opens the widget at `/widget/t/<ticket>/`.
- `/widget/t/<ticket>/...`: the widget: the help center's chat and knowledge-base search
  for the customer the ticket names.

Who asks is the ticket's customer, never a cookie's: browsers keep our cookies from a
frame inside another site, and a session cookie a same-site page does send is ignored.
So these views take no CSRF token (nothing ambient for another site to borrow: the ticket
in the address is the credential), while the input guard still reads their forms. Every
widget page may be framed by the desk's listed sites only (`frame-ancestors`), a
session's pages by the one site its token came from, and sends no Referer (the ticket is
in the address).
"""

from __future__ import annotations

import functools
import json
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chat import services, widget
from chat.models import Chat
from chat.views import ChatStartForm, files_posted, plan_context
from helpdesk.api_throttling import SlidingWindowThrottle
from helpdesk.input_guard import BadInput, check_json
from helpdesk.middleware import language_for
from helpdesk.security import csp_allow
from knowledge import search as kb_search
from knowledge.selectors import visible_articles
from knowledge.services import article_view_record, search_log_miss
from plans.models import Plan
from plans.services import plan_settings, upgrade_url
from success.upgrades import upgrade_click_record, upgrade_enquiry_file

KB_RESULTS = 8
# The exchange's body: a token and an origin.
SESSION_BODY_MAX_BYTES = 16 * 1024


def _framed_by(response, origins):
    """Only the desk's listed sites may show this response in a frame; no Referer
    leaves it (a ticket is in its address)."""
    if origins:
        csp_allow(response, "frame-ancestors", *origins)
    response.xframe_options_exempt = True  # CSP's frame-ancestors says who may
    response["Referrer-Policy"] = "no-referrer"
    return response


def _refusal_page(request, refused: widget.WidgetRefused):
    response = render(
        request,
        "chat/widget_refused.html",
        {"message": refused.message, "code": refused.code},
        status=refused.status,
    )
    return _framed_by(response, widget.allowed_origins(request.tenant))


def widget_view(*, json_answers: bool = False):
    """A view of the widget: its customer comes from the ticket in the address."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, ticket: str, *args, **kwargs):
            try:
                session = widget.widget_ticket_open(tenant=request.tenant, ticket=ticket)
            except widget.WidgetRefused as refused:
                if json_answers:
                    error = {"error": refused.message, "code": refused.code}
                    return JsonResponse(error, status=refused.status)
                return _refusal_page(request, refused)
            request.user = session.membership.user
            request.membership = session.membership
            request.widget = session
            language = language_for(
                cookie=request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
                user=request.user,
                accept_language=request.headers.get("Accept-Language", ""),
                tenant=request.tenant,
            )
            with translation.override(language):
                request.LANGUAGE_CODE = language
                try:
                    response = view(request, *args, **kwargs)
                except Http404:
                    # Said inside the frame, which Django's 404 page may not be shown in.
                    if json_answers:
                        return _json_error(_("This was not found."), 404, "not_found")
                    response = render(
                        request,
                        "chat/widget_refused.html",
                        {
                            "message": _("This was not found."),
                            "code": "not_found",
                            "home": reverse("widget_home", args=[session.ticket]),
                        },
                        status=404,
                    )
            return response if json_answers else _framed_by(response, [session.origin])

        wrapped.csrf_exempt = True
        wrapped.form_checked = True
        return wrapped

    return decorator


# -- the loader and the shell -------------------------------------------------------------------


@require_GET
def widget_loader(request):
    """`<script src="https://<desk>/widget.js">`: an address that never changes, for the
    tenant's page, leading to the current script (versioned, cached for a year)."""
    response = HttpResponseRedirect(static("js/widget.js"))
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_GET
def widget_frame(request):
    """The frame's shell: asks the embedding page for the token (static/js/widget-frame.js)."""
    response = render(request, "chat/widget_frame.html")
    return _framed_by(response, widget.allowed_origins(request.tenant))


class _SessionThrottle(SlidingWindowThrottle):
    """Exchanges per IP address at one desk."""

    def get_rate(self):
        return settings.WIDGET_SESSION_RATE

    def get_cache_key(self, request, view):
        return f"widget-session:{request.tenant.pk}:{self.get_ident(request)}"


def _from_our_frame(request) -> bool:
    """A browser names the page a request comes from (`Origin`): our frame's is the
    desk's host. A request with none comes from outside a browser, where the token alone
    speaks."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        return urlsplit(origin).netloc.lower() == request.get_host().lower()
    except ValueError:
        return False


def _json_error(message: str, status: int, code: str) -> JsonResponse:
    return JsonResponse({"error": message, "code": code}, status=status)


@csrf_exempt  # a JSON body, no cookie: the token in it is the credential
@require_POST
def widget_session(request):
    """`{"token": ..., "origin": ...}` in, `{"url": ...}` of the widget out; or a 4xx
    `{"error", "code"}` saying why not."""
    if not _from_our_frame(request):
        # Browsers say which page sent a request: only our own frame exchanges tokens.
        return _json_error(
            _("Only the chat widget's own frame may open a widget session."), 403, "foreign_page"
        )
    throttle = _SessionThrottle()
    if not throttle.allow_request(request, None):
        response = _json_error(
            _("Too many sign-in attempts from here; wait a minute and reload the page."),
            429,
            "too_many",
        )
        if throttle.wait():
            response["Retry-After"] = str(max(1, round(throttle.wait())))
        return response
    body = _json_body(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        session = widget.widget_session_start(
            tenant=request.tenant, token=body.get("token"), origin=body.get("origin")
        )
    except widget.WidgetRefused as refused:
        return _json_error(refused.message, refused.status, refused.code)
    return JsonResponse(
        {
            "url": reverse("widget_home", args=[session.ticket]),
            "expires_in": widget.TICKET_SECONDS,
        }
    )


def _json_body(request) -> dict | JsonResponse:
    unreadable = _json_error(
        _('Send a JSON object like {"token": "...", "origin": "https://..."}.'),
        400,
        "bad_request",
    )
    if len(request.body) > SESSION_BODY_MAX_BYTES:
        return unreadable
    try:
        body = json.loads(request.body)
        check_json(body)
    except (ValueError, RecursionError):
        return unreadable
    except BadInput as bad:
        return _json_error(bad.message, 400, "bad_request")
    return body if isinstance(body, dict) else unreadable


# -- the widget ----------------------------------------------------------------------------------


def _chat_context(request) -> dict:
    """What the chat part shows: the refusal and upsell, the open chat, or the form."""
    membership = request.membership
    refusal = services.refusal(membership)
    if refusal:
        return {"refusal": refusal}
    chat = services.open_chat_of(request.user)
    if chat is not None:
        return {"chat": chat}
    return {"opening": services.opening(membership), "form": ChatStartForm()}


def _render(request, context: dict, status: int = 200):
    plans = plan_context(request.membership)
    above = plans["chat_plans"][0] if plans["chat_plans"] else None
    context = {
        "widget": request.widget,
        "embedded": True,
        # The upsell's button: out to the plan's upgrade page, or "Ask us about".
        "upgrade_page": bool(above and upgrade_url(above, plan_settings(tenant=request.tenant))),
        **plans,
        **context,
    }
    return render(request, "chat/widget.html", context, status=status)


def _search(request, query: str):
    return kb_search.search(
        visible_articles(request.membership), query, tenant_id=request.tenant.pk, limit=KB_RESULTS
    )


@require_GET
@widget_view()
def widget_home(request):
    query = request.GET.get("q", "").strip()[:200]
    hits = _search(request, query) if query else []
    if query and not hits:
        search_log_miss(tenant=request.tenant, query=query, user=request.user)
    notice = {
        "transcript": _("The transcript is on its way to %(email)s.")
        % {"email": request.user.email},
        "transcript-refused": services.transcripts_used_up(),
        "rating": _("Thank you for rating this chat."),
        "rating-refused": _("Choose a rating from 1 to 5."),
    }.get(request.GET.get("sent"), "")
    context = {**_chat_context(request), "query": query, "hits": hits, "notice": notice}
    return _render(request, context)


@require_POST
@widget_view()
def widget_start(request):
    """Start a chat (or, with nobody there, leave the question as a request)."""
    membership = request.membership
    refusal = services.refusal(membership)
    if refusal:
        return _render(request, {"refusal": refusal}, status=403)
    form = ChatStartForm(request.POST)
    if form.is_valid():
        try:
            started = services.chat_start_or_leave_message(
                membership=membership,
                question=form.cleaned_data["question"],
                category=form.cleaned_data["category"],
            )
        except PermissionDenied as refused:
            return _render(request, {"refusal": str(refused)}, status=403)
        except ValidationError as error:
            form.add_error("question" if hasattr(error, "error_dict") else None, error.messages)
        else:
            if isinstance(started, Chat):
                return redirect("widget_home", request.widget.ticket)
            return _render(request, {"left_message": started})
    return _render(request, {"opening": services.opening(membership), "form": form}, status=400)


def _customer_chat(request, key) -> Chat:
    chat = Chat.objects.filter(key=key, customer=request.user).select_related("ticket").first()
    if chat is None:
        raise Http404
    return chat


@require_POST
@widget_view(json_answers=True)
def widget_files(request, key):
    """Files sent in the widget's chat: checked like a ticket's attachments."""
    return files_posted(request, _customer_chat(request, key))


@require_POST
@widget_view()
def widget_transcript(request, key):
    try:
        services.transcript_send(chat=_customer_chat(request, key))
    except ValidationError:
        sent = "transcript-refused"
    else:
        sent = "transcript"
    return redirect(reverse("widget_home", args=[request.widget.ticket]) + f"?sent={sent}")


@require_POST
@widget_view()
def widget_rate(request, key):
    """The one-click rating at the end of the widget's chat."""
    chat = _customer_chat(request, key)
    try:
        services.chat_rate(chat=chat, customer=request.user, rating=int(request.POST["rating"]))
    except (KeyError, ValueError, ValidationError):
        sent = "rating-refused"
    else:
        sent = "rating"
    return redirect(reverse("widget_home", args=[request.widget.ticket]) + f"?sent={sent}")


@require_POST
@widget_view()
def widget_upgrade(request, rank: int):
    """The upsell's button: out to the plan's upgrade page (in a new tab), or "Ask us
    about <plan>" filed as the customer's request."""
    membership = request.membership
    plan = Plan.objects.filter(rank=rank).first()
    if plan is None:
        raise Http404
    url = upgrade_url(plan, plan_settings(tenant=request.tenant))
    try:
        if url:
            upgrade_click_record(membership=membership, plan=plan)
            return HttpResponseRedirect(url)
        ticket, filed = upgrade_enquiry_file(membership=membership, plan=plan)
    except ValidationError as error:
        return _render(request, {**_chat_context(request), "notice": " ".join(error.messages)})
    if filed:
        notice = _("Thank you: we have your question about %(plan)s and will get back to you.")
    else:
        notice = _("You asked about %(plan)s already; we will answer here.")
    return _render(
        request,
        {**_chat_context(request), "notice": notice % {"plan": plan.name}, "asked": ticket},
    )


@require_GET
@widget_view(json_answers=True)
def widget_kb_search(request):
    """Search as you type in the widget: its articles open inside the widget."""
    query = request.GET.get("q", "").strip()[:200]
    ticket = request.widget.ticket
    return JsonResponse(
        {
            "query": query,
            "results": [
                {
                    "id": hit.article.pk,
                    "title": hit.article.title,
                    "url": reverse("widget_article", args=[ticket, hit.article.pk]),
                    "snippet": str(hit.snippet),
                    "language": hit.article.language,
                }
                for hit in (_search(request, query) if query else [])
            ],
        }
    )


@require_GET
@widget_view()
def widget_article(request, pk: int):
    article = visible_articles(request.membership).filter(pk=pk).first()
    if article is None:
        raise Http404
    article_view_record(article=article)
    return _render(request, {"article": article, "query": request.GET.get("q", "")[:200]})
