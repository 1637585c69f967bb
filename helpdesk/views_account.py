"""The signed-in person's own account pages: personal API tokens."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from helpdesk.access import role_required
from helpdesk.api_tokens import (
    NAME_MAX_LENGTH,
    api_token_create,
    api_token_for_user,
    api_token_revoke,
    api_tokens_of,
)
from helpdesk.models import Role


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Token name"),
        max_length=NAME_MAX_LENGTH,
        help_text=gettext_lazy("What the token is for, such as “Status dashboard”."),
    )


def _apply_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# never_cache: the page that shows a new key must not be kept by any cache.
@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.CUSTOMER)
def api_tokens(request):
    """List the person's tokens and create one; a new key is shown in this response only."""
    form = ApiTokenForm(request.POST or None)
    new_token = new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token, new_key = api_token_create(
                tenant=request.tenant, user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            form = ApiTokenForm()
    return render(
        request,
        "helpdesk/api_tokens.html",
        {
            "form": form,
            "tokens": api_tokens_of(request.user),
            "new_token": new_token,
            "new_key": new_key,
            "api_url": request.build_absolute_uri(reverse("api-ticket-list")),
        },
    )


@require_POST
@role_required(Role.CUSTOMER)
def api_token_revoke_view(request, prefix: str):
    token = api_token_for_user(request.user, prefix)
    if api_token_revoke(token=token, actor=request.user):
        messages.success(
            request,
            _("Revoked “%(name)s”. Programs using it can no longer sign in.")
            % {"name": token.name},
        )
    return redirect("account_api_tokens")
