from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import CsatRating, FeedbackSubmission
from feedback.services import COMMENT_MAX_LENGTH


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        # The labels are questions: no colon after their question marks.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CsatAnswerForm(_Form):
    rating = forms.TypedChoiceField(
        label=_("How would you rate the support you received?"),
        choices=list(reversed(CsatRating.choices)),
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NpsAnswerForm(_Form):
    score = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend or colleague?"),
        choices=[(score, str(score)) for score in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("What is the main reason for your score? (optional)"),
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def safe_page(value: str | None) -> str:
    """A path on this site ('/kb/articles/3/...'), or '' for anything else: the
    form's 'page' is shown to admins and must not carry an off-site address."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    return value[:500]


class FeedbackForm(_Form):
    ease = forms.TypedChoiceField(
        label=_("How easy was it to find what you needed?"),
        choices=list(reversed(FeedbackSubmission.Ease.choices)),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how easy it was, from very easy to very hard.")},
    )
    text = forms.CharField(
        label=_("Tell us more (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    page = forms.CharField(required=False, widget=forms.HiddenInput, max_length=500)

    @staticmethod
    def too_many_message():
        return _("You have sent a lot of feedback this hour; please try again later.")

    def clean_page(self) -> str:
        return safe_page(self.cleaned_data.get("page"))
