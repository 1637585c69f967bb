"""Live chat in Django admin: the desk's chat rules and its widget (the sites that may
embed it, and the secret its identity tokens are signed with)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from chat.models import ChatSettings
from chat.widget import origins_normalized, widget_secret_rotate
from helpdesk.admin_site import TenantModelAdmin, on_platform_host
from helpdesk.tenancy import tenant_url


def _code(text: str):
    """A name to type as it is, in any language."""
    return format_html('<code translate="no">{}</code>', text)


class OriginsField(forms.CharField):
    """The allowed origins as lines of text, normalized (chat/widget.py) into the list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return origins_normalized(super().to_python(value) or "")


class ChatSettingsForm(forms.ModelForm):
    widget_origins = OriginsField(
        label=_("websites allowed to embed the widget"),
        required=False,
        help_text=ChatSettings._meta.get_field("widget_origins").help_text,
    )

    class Meta:
        model = ChatSettings
        fields = (
            "capacity",
            "offer_seconds",
            "grace_seconds",
            "widget_enabled",
            "widget_origins",
        )


@admin.register(ChatSettings)
class ChatSettingsAdmin(TenantModelAdmin):
    form = ChatSettingsForm
    list_display = ("__str__", "widget_enabled", "capacity", "offer_seconds")
    fieldsets = (
        (
            _("Routing"),
            {"fields": ("capacity", "offer_seconds", "grace_seconds")},
        ),
        (
            _("Chat widget in your product"),
            {"fields": ("widget_enabled", "widget_origins", "widget_secret_shown", "snippet")},
        ),
    )
    readonly_fields = ("widget_secret_shown", "snippet")

    def get_fieldsets(self, request, obj=None):
        if not on_platform_host(request):
            return self.fieldsets
        # The desk's secret is for the desk's admins: operators browsing every desk's
        # rows from the platform host do not see it.
        routing, (name, options) = self.fieldsets
        kept = tuple(f for f in options["fields"] if f not in self.readonly_fields)
        return (routing, (name, {**options, "fields": kept}))

    def has_add_permission(self, request, *args):
        # One row per desk, made with the defaults when first needed (deleting it resets
        # them: the widget off, with a new secret).
        return super().has_add_permission(request, *args) and not ChatSettings.objects.exists()

    @admin.display(description=_("widget secret"))
    def widget_secret_shown(self, rules):
        if not rules.pk:
            return "-"
        return format_html(
            '<code translate="no">{}</code> <a class="button" href="{}">{}</a>'
            '<div class="help">{}</div>',
            rules.widget_secret,
            reverse("admin:chat_chatsettings_rotate_widget_secret", args=[rules.pk]),
            _("Rotate…"),
            _(
                "Your backend signs each customer's sign-in token with it (a JWT, HS256): "
                "keep it on your servers, never in a page."
            ),
        )

    @admin.display(description=_("snippet for your product"))
    def snippet(self, rules):
        if not rules.pk:
            return "-"
        script = tenant_url(rules.tenant, reverse("widget_loader", urlconf=settings.ROOT_URLCONF))
        help_text = format_html(
            _(
                "On the pages of your product where a customer is signed in. {attribute} is "
                "a JWT your backend signs with the widget secret, with the claims {email} "
                "(the customer's, as this desk knows it) and {exp} (at most 24 hours ahead)."
            ),
            attribute=_code("data-token"),
            email=_code("email"),
            exp=_code("exp"),
        )
        return format_html(
            '<code translate="no">&lt;script src="{}" data-token="…" async&gt;&lt;/script&gt;'
            '</code><div class="help">{}</div>',
            script,
            help_text,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/rotate-widget-secret/",
                self.admin_site.admin_view(self.rotate_widget_secret_view),
                name="chat_chatsettings_rotate_widget_secret",
            ),
            *super().get_urls(),
        ]

    def rotate_widget_secret_view(self, request, pk):
        """Asks first (a new secret refuses every token the product signs until its
        backend has the new one), then rotates on POST."""
        rules = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, rules):
            return redirect("admin:index")
        if request.method == "POST":
            widget_secret_rotate(tenant=request.tenant)
            # The log says that it changed, never what it is.
            self.log_change(request, rules, [{"changed": {"fields": ["widget secret"]}}])
            self.message_user(
                request,
                _(
                    "The widget has a new secret. Give it to your backend: tokens signed "
                    "with the old one are refused from now on."
                ),
                messages.SUCCESS,
            )
            return redirect("admin:chat_chatsettings_change", rules.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Rotate the widget secret"),
            "rules": rules,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/chat/rotate_widget_secret.html", context)
