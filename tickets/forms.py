import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import tenant_staff_queryset
from helpdesk.input_values import IntegerField, parse_int
from helpdesk.models import Role, User
from helpdesk.uploads import check_upload
from plans.models import Organization, Plan
from tickets.models import Category, Channel, Group, Macro, Priority, Status
from tickets.selectors import QUEUE_VIEWS, QueueFilters
from tickets.services import CHANNELS_AGENTS_OPEN, Upload, clean_tag


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.display_name


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return user.display_name


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input, each checked by name and content (check_upload)."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > settings.ATTACHMENTS_PER_MESSAGE:
            raise ValidationError(
                _("Attach at most %(count)d files.") % {"count": settings.ATTACHMENTS_PER_MESSAGE}
            )
        errors = []
        for uploaded in files:
            try:
                check_upload(
                    name=uploaded.name,
                    size=uploaded.size,
                    declared_type=uploaded.content_type,
                    content=uploaded,
                )
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return [Upload.from_uploaded(f) for f in files]


def priority_choices(plan: Plan | None, *, staff: bool) -> list[tuple[int, str]]:
    allowed = staff or (plan is not None and plan.allows_urgent)
    return [
        (value, label) for value, label in Priority.choices if allowed or value != Priority.URGENT
    ]


class TicketCreateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), empty_label=None
    )
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, initial=Priority.MEDIUM)
    body = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown is supported. Include steps to reproduce and what you expected."),
    )
    attachments = AttachmentsField()

    def __init__(self, *args, plan: Plan | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["priority"].choices = priority_choices(plan, staff=False)
        if plan is not None and not plan.allows_urgent:
            self.fields["priority"].help_text = _("Urgent priority comes with higher plans.")


class TicketOpenForm(forms.Form):
    """An agent opens a ticket for a customer: an existing customer of this desk (the
    search's choices), or a new one added to an organization of this desk."""

    requester = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose a customer of this help desk.")},
    )
    new_email = forms.EmailField(label=_("Email"), required=False, max_length=254)
    new_name = forms.CharField(label=_("Full name"), required=False, max_length=200)
    new_organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("— none (entry plan) —"),
        error_messages={"invalid_choice": _("Choose an organization of this help desk.")},
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Public: the customer sees it on their request and gets it by email, written "
            "by you. Markdown is supported."
        ),
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(value, Channel(value).label) for value in CHANNELS_AGENTS_OPEN],
        initial=Channel.PHONE,
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"), coerce=int, choices=Priority.choices, initial=Priority.MEDIUM
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), required=False, empty_label="—"
    )
    assignee = StaffChoiceField(
        label=_("Assignee"), queryset=None, required=False, empty_label=_("Unassigned")
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        # Querysets of the desk in scope: another desk's person or organization is no
        # choice, so a forged id is a form error like any unknown one.
        self.fields["requester"].queryset = User.objects.filter(
            memberships__role=Role.CUSTOMER, memberships__is_active=True
        )
        self.fields["new_organization"].queryset = Organization.objects.all()
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["assignee"].queryset = tenant_staff_queryset(tenant).order_by("full_name")

    def clean(self):
        cleaned = super().clean()
        if "requester" in self.errors or "new_email" in self.errors:
            return cleaned
        if cleaned.get("requester") is None and not cleaned.get("new_email"):
            self.add_error(
                "requester", _("Choose the customer, or give a new customer's email address.")
            )
        elif cleaned.get("requester") is not None and cleaned.get("new_email"):
            self.add_error(
                "new_email",
                _(
                    "Choose a customer or add a new one, not both: clear the email to keep "
                    "your choice."
                ),
            )
        return cleaned


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}), required=False
    )
    attachments = AttachmentsField()

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("body") or "").strip() and not cleaned.get("attachments"):
            self.add_error("body", _("Write a message or attach a file."))
        return cleaned


class AgentReplyForm(ReplyForm):
    is_internal = forms.BooleanField(label=_("Internal note"), required=False)
    status = forms.ChoiceField(
        label=_("Submit as"),
        required=False,
        choices=[("", _("Keep status"))]
        + [(s, label) for s, label in Status.choices if s != Status.CLOSED],
    )
    macro = forms.ModelChoiceField(queryset=Macro.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["macro"].queryset = Macro.objects.filter(is_active=True)


class TicketFieldsForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, choices=Priority.choices)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), required=False
    )
    assignee = StaffChoiceField(
        label=_("Assignee"), queryset=None, required=False, empty_label=_("Unassigned")
    )
    group = forms.ModelChoiceField(
        label=_("Group"), queryset=Group.objects.none(), required=False, empty_label=_("No group")
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas."))

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.all()
        self.fields["assignee"].queryset = tenant_staff_queryset(tenant).order_by("full_name")
        self.fields["group"].queryset = Group.objects.all()

    def clean_tags(self):
        # Chinese keyboards type "，" or "、" between words just as naturally.
        return [t for t in re.split(r"[,，、]", self.cleaned_data["tags"]) if t.strip()]


class MergeForm(forms.Form):
    target = IntegerField(label=_("Merge into ticket number"), min_value=1)


class MailReviewForm(forms.Form):
    """An agent's decision on unverified mail. The author it is published as is never
    a field: it is the customer the mail's From names (unverified_mail_publish)."""

    decision = forms.ChoiceField(
        choices=[("publish", _("Publish as the customer's reply")), ("keep", _("Keep as a note"))],
        error_messages={"required": _("Choose to publish the mail or keep it as a note.")},
    )


class NumberListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            return [parse_int(v, minimum=1) for v in value or []]
        except (TypeError, ValueError):
            raise ValidationError(_("That selection is not valid.")) from None


class BulkForm(forms.Form):
    selected = NumberListField(error_messages={"required": _("Select at least one ticket.")})
    status = forms.ChoiceField(
        required=False,
        choices=[("", "—")] + [(s, label) for s, label in Status.choices if s != Status.CLOSED],
    )
    assignee = StaffChoiceField(queryset=None, required=False, empty_label="—")
    unassign = forms.BooleanField(required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = tenant_staff_queryset(tenant)

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("status") or cleaned.get("assignee") or cleaned.get("unassign")):
            raise ValidationError(_("Choose a status or an assignee to apply."))
        return cleaned


CHECKBOXES = forms.CheckboxSelectMultiple
MAX_PAGE = 10_000


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the URL so they survive refresh and can be shared."""

    view = forms.ChoiceField(choices=[(v, v) for v in QUEUE_VIEWS], required=False)
    status = forms.MultipleChoiceField(label=_("Status"), choices=Status.choices, required=False)
    priority = forms.TypedMultipleChoiceField(
        label=_("Priority"), coerce=int, choices=Priority.choices, required=False
    )
    category = forms.ModelMultipleChoiceField(
        label=_("Category"), queryset=Category.objects.none(), required=False
    )
    plan = forms.ModelMultipleChoiceField(
        label=_("Plan"), queryset=Plan.objects.none(), required=False
    )
    assignee = forms.ModelMultipleChoiceField(label=_("Assignee"), queryset=None, required=False)
    organization = forms.ModelMultipleChoiceField(
        label=_("Organization"), queryset=Organization.objects.none(), required=False
    )
    group = forms.ModelMultipleChoiceField(
        label=_("Group"), queryset=Group.objects.none(), required=False
    )
    org = forms.CharField(label=_("Organization name"), required=False, max_length=200)
    tag = forms.CharField(label=_("Tag"), required=False)
    q = forms.CharField(label=_("Search"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("relevance", _("Best match (searches)")),
            ("urgent", _("SLA due soonest")),
            ("priority", _("Highest priority first")),
            ("oldest", _("Oldest first")),
            ("newest", _("Newest first")),
            ("updated", _("Recently updated")),
        ],
    )
    page = IntegerField(min_value=1, max_value=MAX_PAGE, required=False)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.all()
        self.fields["plan"].queryset = Plan.objects.all()
        self.fields["assignee"].queryset = tenant_staff_queryset(tenant).order_by("full_name")
        self.fields["organization"].queryset = Organization.objects.all()
        self.fields["group"].queryset = Group.objects.all()

    def filters(self) -> QueueFilters:
        """The valid part of the filters; an invalid value is dropped, not an error page."""
        data = (
            self.cleaned_data
            if self.is_valid()
            else {name: value for name, value in getattr(self, "cleaned_data", {}).items()}
        )
        pks = lambda name: [obj.pk for obj in data.get(name) or []]  # noqa: E731
        return QueueFilters(
            view=data.get("view") or "open",
            status=data.get("status") or [],
            priority=data.get("priority") or [],
            category=pks("category"),
            plan=pks("plan"),
            assignee=pks("assignee"),
            organization=pks("organization"),
            group=pks("group"),
            org=(data.get("org") or "").strip(),
            tag=clean_tag(data.get("tag") or ""),
            q=(data.get("q") or "").strip()[:200],
            # A search is ranked best match first unless another order is chosen.
            sort=data.get("sort") or ("relevance" if (data.get("q") or "").strip() else "urgent"),
        )
