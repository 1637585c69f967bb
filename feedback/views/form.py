"""The help center's feedback form: open to every visitor, signed in or not."""

from django.core.cache import cache
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from feedback.forms import FeedbackForm, safe_page
from feedback.services import FeedbackInput, feedback_submit

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


@require_http_methods(["GET", "POST"])
def feedback_form(request):
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
