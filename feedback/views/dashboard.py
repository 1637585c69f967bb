"""The insights dashboards (admins): volume, speed, SLA, CSAT, NPS and the knowledge
base for a date range, compared with the previous period, each chart also a table
and a CSV download (`?...&csv=<chart id>`)."""

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from feedback.dashboard import DAY, WEEK, Filters, Period, Scope, panels
from helpdesk.access import role_required
from helpdesk.forms import DateRangeForm
from helpdesk.models import Role
from tickets.models import Priority
from tickets.selectors import desk_lists

DEFAULT_DAYS = 30


def _optional(label, choices, everything):
    return forms.TypedChoiceField(
        label=label,
        choices=[("", everything), *choices],
        coerce=int,
        empty_value=None,
        required=False,
    )


class DashboardForm(DateRangeForm):
    bucket = forms.ChoiceField(
        label=_("Show by"),
        required=False,
        choices=[
            ("", _("Automatic")),
            (DAY, pgettext_lazy("bucket", "Day")),
            (WEEK, pgettext_lazy("bucket", "Week")),
        ],
    )

    def __init__(self, *args, lists: dict[str, list[tuple]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lists = lists
        # Choices from the desk's cached lists (tickets.selectors.desk_lists): no query.
        self.fields["plan"] = _optional(_("Plan"), lists["plan"], _("All plans"))
        self.fields["category"] = _optional(_("Category"), lists["category"], _("All categories"))
        self.fields["priority"] = _optional(_("Priority"), Priority.choices, _("All priorities"))
        self.fields["agent"] = _optional(_("Agent"), lists["assignee"], _("All agents"))

    def scope(self) -> Scope:
        data = self.cleaned_data
        return Scope.make(
            Period(data["start"], data["end"]),
            data["bucket"],
            Filters(
                plan=data["plan"],
                category=data["category"],
                priority=data["priority"],
                agent=data["agent"],
            ),
            lists=self.lists,
        )

    def query(self, scope: Scope) -> str:
        """The URL query of exactly what is shown, for the CSV links."""
        data = self.cleaned_data
        params = {
            "start": scope.period.start.isoformat(),
            "end": scope.period.end.isoformat(),
            "bucket": scope.bucket,
            **{k: data[k] for k in ("plan", "category", "priority", "agent") if data[k]},
        }
        return urlencode(params)


@require_GET
@role_required(Role.ADMIN)
def insights_dashboard(request):
    today = timezone.localdate()
    initial = {"start": today - timedelta(days=DEFAULT_DAYS - 1), "end": today}
    form = DashboardForm({**initial, **request.GET.dict()}, lists=desk_lists(request.tenant))
    if not form.is_valid():
        return render(request, "feedback/dashboard.html", {"form": form}, status=400)
    scope = form.scope()
    chart_id = request.GET.get("csv")
    if chart_id is not None:
        chart = panels.chart(scope, chart_id)
        if chart is None:
            raise Http404
        return chart.csv_response(f"{chart_id}-{scope.period.start}-{scope.period.end}.csv")
    return render(
        request,
        "feedback/dashboard.html",
        {
            "form": form,
            "scope": scope,
            "previous": scope.period.previous,
            "panels": panels.panels(scope),
            "csv_query": form.query(scope),
        },
    )
