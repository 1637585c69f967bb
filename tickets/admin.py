"""Tickets in Django admin: categories, macros, and the desk's suspended mail."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import DELETION, LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline, is_tenant_admin
from helpdesk.models import Membership
from tickets.email_parsing import (
    clean_subject,
    readable_attachments,
    readable_headers,
    readable_text,
)
from tickets.models import Category, Group, GroupMember, Macro, SuspendedEmail
from tickets.rendering import render_markdown
from tickets.services import (
    suspended_email_delete,
    suspended_email_retry,
    suspended_email_to_ticket,
)

# Characters of a suspended mail's text shown on its page.
PREVIEW_CHARACTERS = 20_000


@admin.register(Category)
class CategoryAdmin(TenantModelAdmin):
    list_display = ("name", "name_zh_hans", "position", "is_active")
    list_editable = ("position", "is_active")
    search_fields = ("name", "name_zh_hans")
    ordering = ("position", "name")


class GroupMemberInline(TenantTabularInline):
    model = GroupMember
    extra = 1
    fields = ("agent", "last_assigned_at")
    readonly_fields = ("last_assigned_at",)
    staff_user_fields = ("agent",)
    verbose_name_plural = _("agents in this group")


@admin.register(Group)
class GroupAdmin(TenantModelAdmin):
    list_display = ("name", "name_zh_hans", "assignment", "max_open_per_agent", "is_active")
    list_filter = ("assignment", "is_active")
    search_fields = ("name", "name_zh_hans")
    fields = (
        "name",
        "name_zh_hans",
        "description",
        "assignment",
        "max_open_per_agent",
        "is_active",
    )
    inlines = [GroupMemberInline]


@admin.register(Macro)
class MacroAdmin(TenantModelAdmin):
    list_display = ("name", "name_zh_hans", "set_status", "set_priority", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("is_active", "set_status")
    search_fields = ("name", "name_zh_hans", "body")
    fields = (
        "name",
        "name_zh_hans",
        "body",
        "preview",
        "set_status",
        "set_priority",
        "position",
        "is_active",
    )
    readonly_fields = ("preview",)

    @admin.display(description=_("preview"))
    def preview(self, macro):
        # Rendered like a reply (sanitized Markdown); placeholders show as written.
        # render_markdown's output is sanitized HTML (an allowlist, tickets/rendering.py).
        return mark_safe(render_markdown(macro.body)) if macro.pk else "—"  # noqa: S308


def _ticket_link(number: int):
    return format_html('<a href="{}">#{}</a>', reverse("agent_ticket", args=[number]), number)


class SuspendedToTicketForm(forms.Form):
    requester = forms.EmailField(
        label=_("Requester"),
        help_text=_("The email address of a member of this desk: the ticket is theirs."),
        widget=forms.EmailInput(attrs={"class": "vTextField"}),
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )

    def clean_requester(self):
        email = self.cleaned_data["requester"]
        membership = (
            Membership.objects.filter(user__email__iexact=email, is_active=True)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise forms.ValidationError(_("No active member of this desk has this email address."))
        return membership.user


@admin.register(SuspendedEmail)
class SuspendedEmailAdmin(TenantModelAdmin):
    """Mail that email in could not take, kept so nothing is lost (docs/email.md).

    Read-only; an admin downloads the original, retries it, turns it into a ticket
    or deletes it, each through its service in tickets/services.py. The mail's own
    HTML is never rendered: the page shows its headers and a text preview.
    """

    list_display = ("sender_shown", "subject_shown", "reason", "received_at", "expiry")
    list_filter = ("reason", "source")
    search_fields = ("sender", "subject", "message_id")
    actions = ["retry_selected", "delete_selected"]
    fields = (
        "sender",
        "subject",
        "message_id",
        "received_at",
        "source",
        "reason",
        "error",
        "size_shown",
        "retried_at",
        "expiry",
        "headers_shown",
        "text_preview",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The raw bytes (up to 25 MB a row) are read only where they are used.
        return super().get_queryset(request).defer("raw")

    # -- what the list and the page show ---------------------------------------------

    @admin.display(description=_("sender"), ordering="sender")
    def sender_shown(self, suspended):
        return suspended.sender or _("(no sender)")

    @admin.display(description=_("subject"), ordering="subject")
    def subject_shown(self, suspended):
        return suspended.subject or _("(no subject)")

    @admin.display(description=_("expires"), ordering="expires_at")
    def expiry(self, suspended):
        if suspended.expires_at is None:
            return _("Kept until handled")
        return date_format(localtime(suspended.expires_at), "DATETIME_FORMAT")

    @admin.display(description=_("size"))
    def size_shown(self, suspended):
        if suspended.is_truncated:
            return _("%(size)s (only the first %(kept)s were kept)") % {
                "size": filesizeformat(suspended.size),
                "kept": filesizeformat(len(suspended.raw)),
            }
        return filesizeformat(suspended.size)

    @admin.display(description=_("headers"))
    def headers_shown(self, suspended):
        lines = [f"{name}: {value}" for name, value in readable_headers(bytes(suspended.raw))]
        return format_html('<pre class="suspended-mail">{}</pre>', "\n".join(lines))

    @admin.display(description=_("text (preview)"))
    def text_preview(self, suspended):
        text = readable_text(bytes(suspended.raw))
        if len(text) > PREVIEW_CHARACTERS:
            text = text[:PREVIEW_CHARACTERS] + "\n…"
        # Escaped text, never the mail's HTML: a preview cannot run anything.
        return format_html('<pre class="suspended-mail">{}</pre>', text)

    # -- permissions: read-only rows, handled through the services --------------------

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_handle_permission(self, request):
        return is_tenant_admin(request)

    # -- actions -----------------------------------------------------------------------

    @admin.action(description=_("Retry the selected mail"), permissions=["handle"])
    def retry_selected(self, request, queryset):
        for suspended in queryset:
            self._retry(request, suspended)

    def delete_model(self, request, obj):
        suspended_email_delete(suspended=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for suspended in queryset:
            suspended_email_delete(suspended=suspended, actor=request.user)

    def _retry(self, request, suspended) -> bool:
        """Retry one mail and say what became of it; True if it left suspended mail."""
        try:
            result = suspended_email_retry(suspended=suspended, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.WARNING)
            return False
        label = suspended.subject or suspended.sender or gettext("(no subject)")
        if result.action == "suspended":
            self.message_user(
                request,
                gettext("“%(mail)s” is still suspended: %(error)s")
                % {"mail": label, "error": result.detail},
                messages.WARNING,
            )
            return False
        if result.action in ("created", "replied", "unverified"):
            template = {
                "created": gettext("“{mail}” opened ticket {ticket}."),
                "replied": gettext("“{mail}” was added to ticket {ticket} as a reply."),
                # Its sender could not be confirmed: an agent reviews it there.
                "unverified": gettext(
                    "“{mail}” was added to ticket {ticket} as an unverified note to review."
                ),
            }[result.action]
            text = format_html(template, mail=label, ticket=_ticket_link(result.ticket_number))
        else:
            text = gettext("“%(mail)s” was ignored (%(reason)s) and removed.") % {
                "mail": label,
                "reason": result.reason,
            }
        self.message_user(request, text, messages.SUCCESS)
        self._log_handled(request, suspended, f"Retried: {result.action} #{result.ticket_number}")
        return True

    @staticmethod
    def _log_handled(request, suspended, what: str) -> None:
        """The admin's own history (Recent actions) records what became of the mail,
        as it records a deletion: the row itself is gone."""
        LogEntry.objects.log_actions(
            request.user.pk, [suspended], DELETION, change_message=what, single_object=True
        )

    # -- the pages of one mail ----------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.download_view),
                name="tickets_suspendedemail_raw",
            ),
            path(
                "<int:pk>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="tickets_suspendedemail_retry",
            ),
            path(
                "<int:pk>/to-ticket/",
                self.admin_site.admin_view(self.to_ticket_view),
                name="tickets_suspendedemail_to_ticket",
            ),
            *super().get_urls(),
        ]

    def _handled_object(self, request, pk):
        """The desk's mail `pk` for an admin who may handle it: another desk's is a
        404, like a missing one; a platform operator (read-only here) gets a 403."""
        if not self.has_handle_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_handle": self.has_handle_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def download_view(self, request, pk):
        suspended = self._handled_object(request, pk)
        response = HttpResponse(bytes(suspended.raw), content_type="message/rfc822")
        response["Content-Disposition"] = content_disposition_header(
            True, f"suspended-mail-{suspended.pk}.eml"
        )
        # The mail's bytes never run as a page of our origin, whatever they contain.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def retry_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        suspended = self._handled_object(request, pk)
        if self._retry(request, suspended):
            return redirect("admin:tickets_suspendedemail_changelist")
        return redirect("admin:tickets_suspendedemail_change", suspended.pk)

    def to_ticket_view(self, request, pk):
        suspended = self._handled_object(request, pk)
        initial = {"requester": suspended.sender, "subject": clean_subject(suspended.subject)}
        form = SuspendedToTicketForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                ticket = suspended_email_to_ticket(
                    suspended=suspended,
                    requester=form.cleaned_data["requester"],
                    subject=form.cleaned_data["subject"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self._log_handled(request, suspended, f"Turned into ticket #{ticket.number}")
                self.message_user(
                    request,
                    format_html(
                        gettext("Ticket {ticket} was opened from the mail."),
                        ticket=_ticket_link(ticket.number),
                    ),
                    messages.SUCCESS,
                )
                return redirect("admin:tickets_suspendedemail_changelist")
        raw = bytes(suspended.raw)
        uploads, refused = readable_attachments(raw)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Turn suspended mail into a ticket"),
            "form": form,
            "suspended": suspended,
            "preview": readable_text(raw)[:PREVIEW_CHARACTERS],
            "attachments": [upload.name for upload in uploads],
            "refused": refused,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/tickets/suspendedemail/to_ticket.html", context)
