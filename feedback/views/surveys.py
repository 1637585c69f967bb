"""The pages behind the links in survey emails: no login, the signed token is the key.

A click on a rating records it at once (GET, so the email's links are one click)
and redirects to the survey page, where the answer can be changed and a comment
added for the edit window. A link that is tampered with, expired, from another
desk or pasted under another request gets a page that says so, never a 500.
"""

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


def _invalid(request, error: tokens.InvalidLink):
    return render(
        request, "feedback/link_invalid.html", {"message": error.message}, status=error.status
    )


def _csat_survey(request, number: int, token: str) -> CsatSurvey:
    target = tokens.read(token, kind="csat", tenant=request.tenant, ticket_number=number)
    survey = (
        CsatSurvey.objects.select_related("ticket", "agent")
        .filter(pk=target.object_id, ticket__number=number)
        .first()
    )
    if survey is None:
        raise tokens.InvalidLink(_("This survey no longer exists."), status=404)
    return survey


@never_cache
@require_http_methods(["GET"])
def csat_rate(request, number: int, token: str, rating: int):
    """The one-click rating from the email."""
    try:
        survey = _csat_survey(request, number, token)
        services.csat_answer(survey=survey, rating=rating)
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    except ValidationError as error:
        return _csat_page(request, survey, token, errors=error.messages, status=400)
    return redirect("csat_survey", number, token)


@never_cache
@require_http_methods(["GET", "POST"])
def csat_survey(request, number: int, token: str):
    try:
        survey = _csat_survey(request, number, token)
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    if request.method == "POST":
        form = CsatAnswerForm(request.POST)
        if form.is_valid():
            try:
                services.csat_answer(
                    survey=survey,
                    rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                return _csat_page(request, survey, token, form=form, errors=error.messages)
            return redirect(f"{request.path}?saved=1")
        return _csat_page(request, survey, token, form=form, status=400)
    return _csat_page(request, survey, token)


def _csat_page(request, survey, token, *, form=None, errors=(), status=None):
    editable_until = survey.rated_at and services.answer_editable_until(survey.rated_at)
    if form is None:
        form = CsatAnswerForm(initial={"rating": survey.rating, "comment": survey.comment})
    return render(
        request,
        "feedback/csat_survey.html",
        {
            "survey": survey,
            "ticket": survey.ticket,
            "form": form,
            "errors": errors,
            "editable": editable_until is None or timezone.now() <= editable_until,
            "editable_until": editable_until,
            "saved": request.GET.get("saved") == "1",
            "token": token,
        },
        status=status or (400 if errors else 200),
    )


def _nps_survey(request, token: str) -> NpsSurvey:
    target = tokens.read(token, kind="nps", tenant=request.tenant)
    survey = NpsSurvey.objects.filter(pk=target.object_id).first()
    if survey is None:
        raise tokens.InvalidLink(_("This survey no longer exists."), status=404)
    return survey


@never_cache
@require_http_methods(["GET"])
def nps_rate(request, token: str, score: int):
    try:
        survey = _nps_survey(request, token)
        services.nps_answer(survey=survey, score=score)
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    except ValidationError as error:
        return _nps_page(request, survey, token, errors=error.messages)
    return redirect("nps_survey", token)


@never_cache
@require_http_methods(["GET", "POST"])
def nps_survey(request, token: str):
    try:
        survey = _nps_survey(request, token)
    except tokens.InvalidLink as error:
        return _invalid(request, error)
    if request.method == "POST":
        form = NpsAnswerForm(request.POST)
        if form.is_valid():
            try:
                services.nps_answer(
                    survey=survey,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                return _nps_page(request, survey, token, form=form, errors=error.messages)
            return redirect(f"{request.path}?saved=1")
        return _nps_page(request, survey, token, form=form, status=400)
    return _nps_page(request, survey, token)


def _nps_page(request, survey, token, *, form=None, errors=(), status=None):
    editable_until = survey.responded_at and services.answer_editable_until(survey.responded_at)
    if form is None:
        form = NpsAnswerForm(initial={"score": survey.score, "comment": survey.comment})
    return render(
        request,
        "feedback/nps_survey.html",
        {
            "survey": survey,
            "form": form,
            "errors": errors,
            "editable": editable_until is None or timezone.now() <= editable_until,
            "editable_until": editable_until,
            "saved": request.GET.get("saved") == "1",
            "score_range": range(11),
        },
        status=status or (400 if errors else 200),
    )


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
