"""The help center's feedback form: for people signed in to the help center, like every
support channel (seeds/001), unless the desk's admin opens it to visitors."""

from django.core.cache import cache
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from feedback.forms import FeedbackForm, safe_page
from feedback.selectors import feedback_form_open_to_visitors
from feedback.services import FeedbackInput, feedback_submit
from helpdesk.access import denial
from helpdesk.models import Role

# Submissions per visitor (signed-in person, or IP address) and hour.
HOURLY_LIMIT = 10


def _over_limit(request) -> bool:
    who = (
        f"u{request.user.pk}"
        if request.user.is_authenticated
        else request.META.get("REMOTE_ADDR", "")
    )
    key = f"feedback-form:{request.tenant.pk}:{who}"
    cache.add(key, 0, timeout=3600)
    return cache.incr(key) > HOURLY_LIMIT


def _refusal(request):
    """Sign in first, unless the desk takes feedback from visitors (a signed-in person
    needs an active membership here, whatever their role)."""
    if request.user.is_authenticated or not feedback_form_open_to_visitors():
        return denial(request, Role.CUSTOMER)
    return None


@require_http_methods(["GET", "POST"])
def feedback_form(request):
    refused = _refusal(request)
    if refused is not None:
        return refused
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            if _over_limit(request):
                form.add_error(None, FeedbackForm.too_many_message())
                return render(request, "feedback/form.html", {"form": form}, status=429)
            feedback_submit(
                tenant=request.tenant,
                data=FeedbackInput(**form.cleaned_data),
                user=request.user,
                language=get_language() or "",
            )
            return redirect(f"{request.path}?sent=1")
        return render(request, "feedback/form.html", {"form": form}, status=400)
    page = safe_page(request.GET.get("from"))
    return render(
        request,
        "feedback/form.html",
        {"form": FeedbackForm(initial={"page": page}), "sent": request.GET.get("sent") == "1"},
    )
