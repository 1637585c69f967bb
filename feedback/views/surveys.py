"""The pages behind the links in survey emails: no login, the signed token is the key.

A click on a rating records it at once (GET, so the email's links are one click)
and redirects to the survey page, where the answer can be changed and a comment
added for the edit window. A link that is tampered with, expired, from another
desk or pasted under another request gets a page that says so, never a 500.
CSAT and NPS pages work alike; a `SurveyKind` holds what differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from feedback import services, tokens
from feedback.forms import CsatAnswerForm, NpsAnswerForm
from feedback.models import CsatSurvey, NpsSurvey, SurveyOptOut
from helpdesk.models import User


@dataclass(frozen=True)
class SurveyKind:
    load: Callable  # (request, **url kwargs) -> survey, or raises InvalidLink
    form: type[forms.Form]
    answer: Callable  # services.csat_answer / nps_answer
    field: str  # the form field and model field holding the answer
    answered_at: str
    template: str
    page_url: str  # the survey page's URL name


def _load_csat(request, number: int, token: str) -> CsatSurvey:
    target = tokens.read(token, kind="csat", tenant=request.tenant, ticket_number=number)
    survey = (
        CsatSurvey.objects.select_related("ticket", "agent")
        .filter(pk=target.object_id, ticket__number=number)
        .first()
    )
    if survey is None:
        raise tokens.InvalidLink(_("This survey no longer exists."), status=404)
    return survey


def _load_nps(request, token: str) -> NpsSurvey:
    target = tokens.read(token, kind="nps", tenant=request.tenant)
    survey = NpsSurvey.objects.filter(pk=target.object_id).first()
    if survey is None:
        raise tokens.InvalidLink(_("This survey no longer exists."), status=404)
    return survey


CSAT = SurveyKind(
    _load_csat,
    CsatAnswerForm,
    services.csat_answer,
    "rating",
    "rated_at",
    "feedback/csat_survey.html",
    "csat_survey",
)
NPS = SurveyKind(
    _load_nps,
    NpsAnswerForm,
    services.nps_answer,
    "score",
    "responded_at",
    "feedback/nps_survey.html",
    "nps_survey",
)


def _invalid(request, error: tokens.InvalidLink):
    return render(
        request, "feedback/link_invalid.html", {"message": error.message}, status=error.status
    )


def _rate(request, kind: SurveyKind, value: int, **link):
    """The one-click answer from the email, then the survey page."""
    try:
        survey = kind.load(request, **link)
        kind.answer(survey=survey, **{kind.field: value})
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    except ValidationError as error:
        return _page(request, kind, survey, errors=error.messages)
    return redirect(kind.page_url, *link.values())


def _answer(request, kind: SurveyKind, **link):
    """The survey page: change the answer, add a comment (POST), or read them."""
    try:
        survey = kind.load(request, **link)
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    if request.method != "POST":
        return _page(request, kind, survey)
    form = kind.form(request.POST)
    if not form.is_valid():
        return _page(request, kind, survey, form=form, status=400)
    try:
        kind.answer(survey=survey, **form.cleaned_data)
    except ValidationError as error:
        return _page(request, kind, survey, form=form, errors=error.messages)
    return redirect(f"{request.path}?saved=1")


def _page(request, kind: SurveyKind, survey, *, form=None, errors=(), status=None):
    answered_at = getattr(survey, kind.answered_at)
    editable_until = answered_at and services.answer_editable_until(answered_at)
    if form is None:
        form = kind.form(
            initial={kind.field: getattr(survey, kind.field), "comment": survey.comment}
        )
    return render(
        request,
        kind.template,
        {
            "survey": survey,
            "form": form,
            "errors": errors,
            "editable": editable_until is None or timezone.now() <= editable_until,
            "editable_until": editable_until,
            "saved": request.GET.get("saved") == "1",
        },
        status=status or (400 if errors else 200),
    )


@never_cache
@require_http_methods(["GET"])
def csat_rate(request, number: int, token: str, rating: int):
    return _rate(request, CSAT, rating, number=number, token=token)


@never_cache
@require_http_methods(["GET", "POST"])
def csat_survey(request, number: int, token: str):
    return _answer(request, CSAT, number=number, token=token)


@never_cache
@require_http_methods(["GET"])
def nps_rate(request, token: str, score: int):
    return _rate(request, NPS, score, token=token)


@never_cache
@require_http_methods(["GET", "POST"])
def nps_survey(request, token: str):
    return _answer(request, NPS, token=token)


@never_cache
@require_http_methods(["GET", "POST"])
def opt_out(request, token: str):
    """Stop (or resume) surveys. A POST, not the link itself, changes it: mail
    scanners that open every link must not opt people out."""
    try:
        target = tokens.read(token, kind="opt-out", tenant=request.tenant)
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    user = User.objects.filter(pk=target.object_id).first()
    if user is None:
        raise Http404
    if request.method == "POST":
        if request.POST.get("action") == "resume":
            services.surveys_opt_in(user=user)
        else:
            services.surveys_opt_out(tenant=request.tenant, user=user)
        return redirect(request.path)
    return render(
        request,
        "feedback/opt_out.html",
        {"opted_out": SurveyOptOut.objects.filter(user=user).exists(), "email": user.email},
    )
