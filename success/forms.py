"""Forms of the CSM workspace: a task's notes and answers, a renewal's outcome, a note."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.input_values import date_field
from plans.models import Plan
from success.models import CHECK_IN_QUESTIONS, RenewalOutcome, SuccessTask, TaskKind
from success.services import a_year_after

SAVE, COMPLETE, RECORD_RENEWAL = "save", "complete", "renewal"


class TaskForm(forms.Form):
    """Notes for any task; the three questions for the 90-day check-in; for a renewal
    conversation, how it ended. Which of them count depends on the button pressed."""

    action = forms.ChoiceField(
        choices=[(SAVE, _("Save")), (COMPLETE, _("Complete")), (RECORD_RENEWAL, _("Record"))]
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args, task: SuccessTask, **kwargs):
        super().__init__(*args, **kwargs)
        self.task = task
        if not self.is_bound:
            self.initial["notes"] = task.notes
            self.initial.update(
                {f"answer_{key}": value for key, value in (task.answers or {}).items()}
            )
        if task.kind == TaskKind.CHECK_IN_90:
            for key, question in CHECK_IN_QUESTIONS:
                # Required on completion only (task_complete says so): saving a draft
                # with some answers missing is fine.
                self.fields[f"answer_{key}"] = forms.CharField(
                    label=question, required=False, widget=forms.Textarea(attrs={"rows": 2})
                )
        if task.kind == TaskKind.RENEWAL:
            organization = task.organization
            self.fields["outcome"] = forms.ChoiceField(
                label=_("Outcome"),
                choices=RenewalOutcome.choices,
                required=False,
                widget=forms.RadioSelect,
            )
            self.fields["arr_after"] = forms.DecimalField(
                label=_("New ARR"),
                required=False,
                min_value=Decimal(0),
                max_digits=14,
                decimal_places=2,
            )
            self.fields["plan_after"] = forms.ModelChoiceField(
                label=_("Plan"),
                queryset=Plan.objects.order_by("rank"),
                required=False,
                empty_label=None,
            )
            self.fields["next_renewal_date"] = date_field(_("Next renewal date"), required=False)
            if not self.is_bound:
                self.initial.update(
                    arr_after=organization.arr,
                    plan_after=organization.plan_id,
                    next_renewal_date=organization.renewal_date
                    and a_year_after(organization.renewal_date),
                )

    @property
    def answer_fields(self):
        if not self.has_answers:
            return []
        return [self[f"answer_{key}"] for key, _label in CHECK_IN_QUESTIONS]

    @property
    def has_answers(self) -> bool:
        return self.task.kind == TaskKind.CHECK_IN_90

    @property
    def renewal_fields(self):
        names = ("outcome", "arr_after", "plan_after", "next_renewal_date")
        return [self[name] for name in names if name in self.fields]

    def answers(self) -> dict[str, str] | None:
        if not self.has_answers:
            return None
        return {key: self.cleaned_data[f"answer_{key}"] for key, _label in CHECK_IN_QUESTIONS}

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == RECORD_RENEWAL:
            if self.task.kind != TaskKind.RENEWAL:
                raise forms.ValidationError(_("Only a renewal conversation records an outcome."))
            if not data.get("outcome"):
                self.add_error("outcome", _("Choose how the renewal ended."))
            elif data["outcome"] == RenewalOutcome.RENEWED:
                for name in ("arr_after", "plan_after", "next_renewal_date"):
                    if data.get(name) is None and name not in self.errors:
                        self.add_error(name, _("This field is required."))
        return data


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )
