"""The customer-success reports (tenant admins): renewal rates by quarter, ARR at risk
by health band, the health distribution over time and CSM task timeliness, each a
chart, its table and a CSV download (`?...&csv=<report id>`)."""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from helpdesk.access import role_required
from helpdesk.forms import DateRangeForm
from helpdesk.input_values import date_field
from helpdesk.models import Role
from success import report_charts
from success.reports import ReportRange


class ReportRangeForm(DateRangeForm):
    """Both dates optional: the end is today unless chosen; without a start, each
    report takes its own default span back from the end (success/reports.py)."""

    start = date_field(pgettext_lazy("date range", "From"), required=False)
    end = date_field(pgettext_lazy("date range", "To"), required=False)

    def clean(self):
        # The end is known before the range is checked, so a start after today is an error.
        if self.cleaned_data.get("end") is None and "end" not in self.errors:
            self.cleaned_data["end"] = timezone.localdate()
        return super().clean()

    def report_range(self) -> ReportRange:
        return ReportRange.make(
            today=timezone.localdate(),
            tz=timezone.get_current_timezone(),
            start=self.cleaned_data["start"],
            end=self.cleaned_data["end"],
        )

    def query(self, report_range: ReportRange) -> str:
        """The URL query of what is shown, for the CSV links: the end pinned, the start
        only if chosen (so the defaults stay each report's own)."""
        params = {"end": report_range.end.isoformat()}
        if self.cleaned_data["start"]:
            params = {"start": report_range.start.isoformat(), **params}
        return urlencode(params)


@require_GET
@role_required(Role.ADMIN)
def success_reports(request):
    form = ReportRangeForm(request.GET)
    if not form.is_valid():
        return render(request, "success/reports.html", {"form": form}, status=400)
    report_range = form.report_range()
    report_id = request.GET.get("csv")
    if report_id is not None:
        report = report_charts.report(report_range, report_id)
        if report is None:
            raise Http404
        return report.chart.csv_response(f"{report.id}-{report.first}-{report.last}.csv")
    return render(
        request,
        "success/reports.html",
        {
            "form": form,
            "range": report_range,
            "reports": report_charts.all_reports(report_range),
            "csv_query": form.query(report_range),
        },
    )
