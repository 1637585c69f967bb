"""The customer success manager's workspace (agents and admins): their tasks, the
shared pool, their organizations and the upsell and referral signals; an
organization's page; a task's page. Every write goes through success/services.py."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.access import has_role, role_required
from helpdesk.models import Role
from success import display
from success.forms import COMPLETE, RECORD_RENEWAL, SAVE, NoteForm, TaskForm
from success.selectors import (
    HISTORY_DAYS,
    all_organizations,
    dedicated_without_manager,
    managed_organizations,
    open_owned_tasks,
    open_tasks_of,
    organization_for_agent,
    organization_page,
    pool_tasks,
    task_for_agent,
    task_history,
)
from success.services import (
    TaskError,
    note_add,
    renewal_record,
    task_claim,
    task_complete,
    task_save,
)
from success.signals import SIGNALS_SHOWN, referral_signals, upsell_signals


def _apply_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the form, by field where it names one (a check-in
    question's key names its answer field)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        for candidate in (name, f"answer_{name}"):
            if candidate in form.fields:
                form.add_error(candidate, errors)
                break
        else:
            form.add_error(None, errors)


@require_GET
@role_required(Role.AGENT)
def workspace(request):
    """An agent's own tasks and organizations; an admin oversees the desk: every owned
    task with its owner, and every organization's health, those at most risk first."""
    today = timezone.localdate()
    pool, pool_total = pool_tasks()
    upsell = upsell_signals(request.tenant, today)
    referral = referral_signals(request.tenant, today)
    is_admin = has_role(request, Role.ADMIN)
    return render(
        request,
        "success/workspace.html",
        {
            "today": today,
            "whole_desk": is_admin,
            "my_tasks": open_owned_tasks() if is_admin else open_tasks_of(request.user),
            "pool": pool,
            "pool_total": pool_total,
            "organizations": (
                all_organizations(today) if is_admin else managed_organizations(request.user, today)
            ),
            "upsell": upsell[:SIGNALS_SHOWN],
            "upsell_total": len(upsell),
            "referral": referral[:SIGNALS_SHOWN],
            "referral_total": len(referral),
            "unmanaged": dedicated_without_manager(request.tenant) if is_admin else None,
        },
    )


def _organization_page(request, organization, *, note_form=None, status=200):
    today = timezone.localdate()
    page = organization_page(organization, today=today, now=timezone.now())
    chart = display.history_chart(
        page.history, first=today - timedelta(days=HISTORY_DAYS - 1), last=today
    )
    if request.GET.get("csv") == chart.id:
        return chart.csv_response(f"health-{organization.pk}-{today}.csv")
    if request.GET.get("csv") is not None:
        raise Http404
    return render(
        request,
        "success/organization.html",
        {
            "organization": organization,
            "page": page,
            "today": today,
            "chart": chart,
            "csv_query": "",
            "components": display.component_rows(page.latest.components) if page.latest else [],
            "moves": [
                (display.component_label(name), display.points_words(points), points)
                for name, points in page.moves
            ],
            "note_form": note_form or NoteForm(),
        },
        status=status,
    )


@require_GET
@role_required(Role.AGENT)
def organization_detail(request, pk: int):
    return _organization_page(request, organization_for_agent(pk))


@require_POST
@role_required(Role.AGENT)
def note_create(request, pk: int):
    organization = organization_for_agent(pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_add(organization=organization, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Note added."))
            return redirect("success_organization", pk=organization.pk)
    return _organization_page(request, organization, note_form=form, status=400)


def _task_page(request, task, *, form=None, status=200):
    return render(
        request,
        "success/task.html",
        {
            "task": task,
            "today": timezone.localdate(),
            "form": form or TaskForm(task=task),
            "reason": display.drop_reason_words(task.reason),
            "answers": display.check_in_answers(task),
            "history": task_history(task),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.AGENT)
def task_detail(request, pk: int):
    """The task, and its one form: Save (notes, answers), Complete, or for a renewal
    conversation Record (the outcome). A closed task keeps only its notes editable."""
    task = task_for_agent(pk)
    if request.method == "GET":
        return _task_page(request, task)
    form = TaskForm(request.POST, task=task)
    if form.is_valid():
        data = form.cleaned_data
        action = data["action"]
        try:
            if action == SAVE:
                task_save(
                    task=task,
                    user=request.user,
                    notes=data["notes"],
                    answers=form.answers() if task.is_open else None,
                )
                messages.success(request, _("Task saved."))
            elif action == COMPLETE:
                task_complete(
                    task=task, user=request.user, notes=data["notes"], answers=form.answers()
                )
                messages.success(request, _("Task completed."))
            elif action == RECORD_RENEWAL:
                renewal_record(
                    organization=task.organization,
                    outcome=data["outcome"],
                    user=request.user,
                    arr_after=data.get("arr_after"),
                    plan_after=data.get("plan_after"),
                    next_renewal_date=data.get("next_renewal_date"),
                    task=task,
                    notes=data["notes"],
                )
                messages.success(request, _("Renewal recorded; the task is done."))
        except TaskError as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect("success_task", pk=task.pk)
    return _task_page(request, task, form=form, status=400)


@require_POST
@role_required(Role.AGENT)
def task_take(request, pk: int):
    """Claim a pool task; back to where the button was (the workspace or the task)."""
    task = task_for_agent(pk)
    try:
        task_claim(task=task, user=request.user)
    except TaskError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("You took “%(task)s”: it is in your tasks now.") % {"task": task},
        )
    back = request.POST.get("next", "")
    # A path of this site only: redirect() would take "9999-12-31" for a URL name (a 500).
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    ):
        return HttpResponseRedirect(back)
    return redirect("success_task", pk=task.pk)
