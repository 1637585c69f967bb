from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from helpdesk.admin_site import (
    PlatformModelAdmin,
    PlatformTabularInline,
    TenantModelAdmin,
    is_tenant_admin,
)
from helpdesk.api_tokens import api_token_revoke
from helpdesk.models import (
    ApiToken,
    Membership,
    OutboundEmail,
    OutboxJob,
    Role,
    Tenant,
    TenantDomain,
    TenantSettings,
    User,
)
from helpdesk.outbox import outbox_job_retry
from helpdesk.second_factor import AUTHENTICATOR_TYPES
from helpdesk.services import (
    email_mark_delivered,
    email_send_again,
    member_invite,
    second_factor_reset,
    tenant_provision,
)
from helpdesk.tenancy import tenant_url

admin.site.unregister(Group)
admin.site.unregister(EmailAddress)
# allauth's own list of authenticators shows their stored data (a TOTP secret among it) to
# any superuser; people's second factors are seen and reset through the member and user
# lists instead (`SecondFactorAdminMixin`).
admin.site.unregister(Authenticator)


class SecondFactorAdminMixin:
    """A "two-factor" column and a reset action on a list of people (or their memberships,
    `user_path` leading to the person): an admin sees who has a second factor, and takes
    them away from someone who lost them (helpdesk.services.second_factor_reset)."""

    user_path = "user"
    actions = ["reset_second_factor"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                has_second_factor=Exists(
                    Authenticator.objects.filter(
                        user=OuterRef(self.user_path or "pk"), type__in=AUTHENTICATOR_TYPES
                    )
                )
            )
        )

    @admin.display(description=_("two-factor"), boolean=True, ordering="has_second_factor")
    def second_factor(self, row):
        return row.has_second_factor

    @admin.action(description=_("Reset two-factor sign-in (lost app or key)"))
    def reset_second_factor(self, request, queryset):
        people = [getattr(row, self.user_path) if self.user_path else row for row in queryset]
        try:
            reset = sum(bool(second_factor_reset(user=user, actor=request.user)) for user in people)
        except PermissionDenied as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return
        self.message_user(
            request,
            ngettext(
                "Two-factor sign-in of %(count)d person reset: they sign in with their "
                "password and set it up again.",
                "Two-factor sign-in of %(count)d people reset: they sign in with their "
                "password and set it up again.",
                reset,
            )
            % {"count": reset},
        )


@admin.register(EmailAddress)
class PlatformEmailAddressAdmin(PlatformModelAdmin, EmailAddressAdmin):
    pass


class TenantDomainInline(PlatformTabularInline):
    model = TenantDomain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(PlatformModelAdmin):
    list_display = ("name", "slug", "time_zone", "default_language", "signup_policy", "is_active")
    search_fields = ("name", "slug")
    list_filter = ("is_active", "default_language")
    inlines = [TenantDomainInline]

    def get_readonly_fields(self, request, obj=None):
        # The slug is part of every URL customers have bookmarked.
        return ("slug", "created_at") if obj else ("created_at",)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                tenant_provision(tenant=obj)


@admin.register(User)
class UserAdmin(SecondFactorAdminMixin, PlatformModelAdmin):
    user_path = ""
    list_display = (
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "second_factor",
        "last_login",
    )
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_staff", "is_superuser")
    fields = (
        "email",
        "full_name",
        "preferred_language",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
        "date_joined",
    )
    readonly_fields = ("last_login", "date_joined")
    ordering = ("email",)


class MembershipAddForm(forms.ModelForm):
    """Adding a member names a person by email: a new address gets an invitation."""

    email = forms.EmailField(label=_("Email address"))
    full_name = forms.CharField(label=_("Full name"), required=False)

    class Meta:
        model = Membership
        fields = ("role",)  # the admin adds organization per request, with tenant-scoped choices

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if email and Membership.objects.filter(user__email__iexact=email).exists():
            self.add_error("email", _("This person is already a member."))
        if cleaned.get("role") != Role.CUSTOMER and cleaned.get("organization"):
            self.add_error("organization", _("Only customers belong to an organization."))
        return cleaned


@admin.register(Membership)
class MembershipAdmin(SecondFactorAdminMixin, TenantModelAdmin):
    list_display = (
        "user_email",
        "user_name",
        "role",
        "organization",
        "second_factor",
        "is_active",
        "created_at",
    )
    list_filter = ("role", "is_active", "organization")
    search_fields = ("user__email", "user__full_name", "organization__name")
    list_select_related = ("user", "organization")
    ordering = ("user__email",)

    @admin.display(description=_("email"), ordering="user__email")
    def user_email(self, membership):
        return membership.user.email

    @admin.display(description=_("name"), ordering="user__full_name")
    def user_name(self, membership):
        return membership.user.full_name

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("email", "full_name", "role", "organization")
        return ("user", "role", "organization", "is_org_manager", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "created_at") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        membership = member_invite(
            tenant=request.tenant,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data.get("full_name", ""),
            role=form.cleaned_data["role"],
            organization=form.cleaned_data.get("organization"),
            invited_by=request.user,
        )
        # The admin goes on to log and redirect with the saved object.
        obj.pk = membership.pk
        obj.user = membership.user
        obj.tenant = membership.tenant


@admin.register(OutboundEmail)
class OutboundEmailAdmin(TenantModelAdmin):
    """The delivery log, read-only: what the desk sent, to whom, when, and any error.

    Bodies are never shown: they may carry another person's sign-in links. Emails
    whose delivery failed, or is unknown (a worker died while the mail server took
    it), are never sent again on a guess: an admin decides, with the actions.
    """

    list_display = ("subject", "recipients", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("subject",)
    fields = (
        "to",
        "from_email",
        "subject",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "claimed_at",
        "retry_at",
        "sent_at",
    )
    readonly_fields = fields
    actions = ["send_again", "mark_delivered"]

    @admin.display(description=_("to"))
    def recipients(self, email):
        return ", ".join(email.to)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again (unknown or failed delivery)"))
    def send_again(self, request, queryset):
        queued = sum(email_send_again(email=email) for email in queryset)
        skipped = len(queryset) - queued
        self.message_user(
            request,
            ngettext("%(count)d email queued again.", "%(count)d emails queued again.", queued)
            % {"count": queued},
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email was left alone: only unknown or failed ones are sent again.",
                    "%(count)d emails were left alone: only unknown or failed ones are sent again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.action(description=_("Mark as delivered (the recipient has it)"))
    def mark_delivered(self, request, queryset):
        marked = sum(email_mark_delivered(email=email) for email in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d email marked as delivered.",
                "%(count)d emails marked as delivered.",
                marked,
            )
            % {"count": marked},
        )


@admin.register(OutboxJob)
class OutboxJobAdmin(TenantModelAdmin):
    """Work waiting for a worker (emails about tickets, for now): normally gone within
    seconds; a job listed here is retried with back-off, or failed for good."""

    list_display = ("__str__", "created_at", "attempts", "retry_at", "failed_at", "last_error")
    list_filter = (("failed_at", admin.EmptyFieldListFilter),)
    fields = ("handler", "payload", "created_at", "attempts", "retry_at", "failed_at", "last_error")
    readonly_fields = fields
    actions = ["run_again"]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Run again"))
    def run_again(self, request, queryset):
        for job in queryset:
            outbox_job_retry(job=job)
        self.message_user(
            request,
            ngettext(
                "%(count)d job will run again.", "%(count)d jobs will run again.", len(queryset)
            )
            % {"count": len(queryset)},
        )


@admin.register(TenantSettings)
class TenantSettingsAdmin(admin.ModelAdmin):
    """A tenant admin's own desk settings: one row, their tenant's."""

    fields = (
        "name",
        "slug",
        "time_zone",
        "default_language",
        "signup_policy",
        "require_staff_mfa",
        "agents_see_own_groups_only",
        "inbound_email",
    )
    readonly_fields = ("slug", "inbound_email")

    @admin.display(description=_("inbound email"))
    def inbound_email(self, tenant):
        endpoint = tenant_url(tenant, reverse("inbound_email"))
        return format_html(
            "{}<br>{} <code>X-Inbound-Secret: {}</code><br>{}",
            _("Your mail gateway POSTs each raw message (RFC 822) to"),
            format_html("<code>{}</code> {}", endpoint, _("with the header")),
            tenant.inbound_email_secret,
            _("Or run: manage.py ingest_mail --tenant %(slug)s --maildir PATH")
            % {"slug": tenant.slug},
        )

    def get_queryset(self, request):
        if not is_tenant_admin(request):
            return TenantSettings.objects.none()
        return TenantSettings.objects.filter(pk=request.tenant.pk)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        return redirect(reverse("admin:helpdesk_tenantsettings_change", args=[request.tenant.pk]))

    def has_view_permission(self, request, obj=None):
        return is_tenant_admin(request)

    has_change_permission = has_module_permission = has_view_permission

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(TenantModelAdmin):
    """Members' API tokens: admins see who can use the API and revoke a token."""

    list_display = ("name", "owner", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "user__email", "prefix")
    list_select_related = ("user",)
    fields = ("name", "owner", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description=_("owner"), ordering="user__email")
    def owner(self, token):
        return token.user.email

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = sum(api_token_revoke(token=token, actor=request.user) for token in queryset)
        self.message_user(request, _("%(count)d tokens revoked.") % {"count": revoked})

    def has_revoke_permission(self, request):
        return is_tenant_admin(request)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False
