import csv
from datetime import timedelta

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from helpdesk.access import role_required
from helpdesk.forms import DateRangeForm
from helpdesk.models import Role
from plans.selectors import plan_for_membership
from sla import reports
from sla.models import Metric
from sla.selectors import service_levels


@require_GET
def service_levels_page(request):
    """Every plan's promises and channels side by side, public like a pricing page,
    with the visitor's own plan marked and what upgrading would give."""
    membership = getattr(request, "membership", None)
    is_customer = membership is not None and not membership.is_staff_member
    current = plan_for_membership(membership) if is_customer else None
    columns = service_levels(request.tenant)
    return render(
        request,
        "sla/service_levels.html",
        {
            "columns": columns,
            "current_plan": current,
            "has_higher_plan": current is not None and columns[-1].plan != current,
        },
    )


class ReportForm(DateRangeForm):
    by = forms.ChoiceField(
        label=_("Group by"),
        choices=[(key, label) for key, (label, _field) in reports.GROUPINGS.items()],
    )


@require_GET
@role_required(Role.ADMIN)
def sla_report(request):
    """Attainment per metric by plan, priority, category or agent, and the breaches."""
    today = timezone.localdate()
    initial = {"start": today - timedelta(days=29), "end": today, "by": "plan"}
    form = ReportForm({**initial, **request.GET.dict()})
    context = {"form": form, "metrics": Metric.choices}
    if form.is_valid():
        start, end = reports.day_range(
            form.cleaned_data["start"], form.cleaned_data["end"], timezone.get_current_timezone()
        )
        overall, rows = reports.attainment(start, end, form.cleaned_data["by"])
        if request.GET.get("format") == "csv":
            return _report_csv(form, overall, rows)
        context.update(
            overall=overall,
            rows=rows,
            breaches=reports.breaches(start, end),
            group_label=reports.GROUPINGS[form.cleaned_data["by"]][0],
        )
    return render(request, "sla/report.html", context, status=200 if form.is_valid() else 400)


def _report_csv(form, overall, rows) -> HttpResponse:
    data = form.cleaned_data
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sla-{data["by"]}-{data["start"]}-{data["end"]}.csv"'
    )
    writer = csv.writer(response)
    header = [str(reports.GROUPINGS[data["by"]][0])]
    for _value, label in Metric.choices:
        header += [f"{label} met", f"{label} breached", f"{label} %"]
    writer.writerow(header)
    for row in [overall, *rows]:
        line = [row.label]
        for metric in Metric.values:
            cell = row.cells[metric]
            line += [cell.met, cell.breached, "" if cell.percent is None else cell.percent]
        writer.writerow(line)
    return response
