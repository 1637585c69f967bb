"""Django admin for two audiences on one site.

- On a tenant's host (acme.localhost/admin/), the tenant's admins configure
  their desk. Every tenant-owned model is registered through
  `TenantAdminMixin`, which scopes querysets, choices and search to the tenant
  and sets the tenant on save.
- On the platform host (BASE_DOMAIN/admin/), superusers manage tenants, their
  domains and users, and can browse (not edit) every tenant's rows.

Both sign in through allauth (its failed-login limits and its second-factor stage),
never through Django's admin login form.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_scopes import scopes_disabled

from helpdesk.access import has_role
from helpdesk.input_values import DateField
from helpdesk.models import Role, TenantOwned


def on_platform_host(request) -> bool:
    return getattr(request, "tenant", None) is None


def is_platform_operator(request) -> bool:
    user = request.user
    return user.is_active and user.is_authenticated and user.is_superuser


def is_tenant_admin(request) -> bool:
    return (
        not on_platform_host(request) and request.user.is_active and has_role(request, Role.ADMIN)
    )


class HelpdeskAdminSite(admin.AdminSite):
    site_title = _("Helpdesk admin")
    index_title = _("Configuration")
    index_template = "admin/helpdesk_index.html"

    def index(self, request, extra_context=None):
        if not on_platform_host(request) and self.has_permission(request):
            extra_context = {**(extra_context or {}), "needs_attention": _needs_attention()}
        return super().index(request, extra_context)

    def has_permission(self, request):
        if on_platform_host(request):
            return is_platform_operator(request)
        return is_tenant_admin(request)

    def each_context(self, request):
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        context["site_header"] = (
            _("%(tenant)s · admin") % {"tenant": tenant.name} if tenant else _("Platform admin")
        )
        return context

    def login(self, request, extra_context=None):
        # Everyone signs in through allauth, on either host: on a desk's host it refuses
        # people with no membership there, on the platform host anyone but an operator;
        # its failed-login limits and second-factor stage apply to both.
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect("admin:index")
            return render(
                request, "helpdesk/forbidden.html", {"required_role": Role.ADMIN}, status=403
            )
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def platform_aware(request, *args, **kwargs):
            if on_platform_host(request) and is_platform_operator(request):
                # The operator's admin reads across tenants; render inside the block
                # so lazily rendered responses run their queries unscoped too.
                with scopes_disabled():
                    response = inner(request, *args, **kwargs)
                    if hasattr(response, "render") and not response.is_rendered:
                        response.render()
                    return response
            return inner(request, *args, **kwargs)

        return platform_aware


def _needs_attention() -> list[tuple[str, str]]:
    """What an admin of the desk must decide, with a link to it: emails of unknown or
    failed delivery, and background jobs that failed for good."""
    from helpdesk.models import OutboundEmail, OutboxJob

    statuses = dict(
        OutboundEmail.objects.filter(
            status__in=[OutboundEmail.Status.UNKNOWN, OutboundEmail.Status.FAILED]
        )
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    unknown = statuses.get(OutboundEmail.Status.UNKNOWN, 0)
    failed = statuses.get(OutboundEmail.Status.FAILED, 0)
    failed_jobs = OutboxJob.objects.exclude(failed_at=None).count()
    emails = reverse("admin:helpdesk_outboundemail_changelist")
    notices = []
    if unknown:
        notices.append(
            (
                ngettext(
                    "%(count)d email may not have been delivered: a worker stopped while "
                    "sending it. Check with the recipient, then send it again or mark it "
                    "delivered.",
                    "%(count)d emails may not have been delivered: a worker stopped while "
                    "sending them. Check with the recipients, then send them again or mark "
                    "them delivered.",
                    unknown,
                )
                % {"count": unknown},
                f"{emails}?status__exact=unknown",
            )
        )
    if failed:
        notices.append(
            (
                ngettext(
                    "%(count)d email could not be delivered after every attempt.",
                    "%(count)d emails could not be delivered after every attempt.",
                    failed,
                )
                % {"count": failed},
                f"{emails}?status__exact=failed",
            )
        )
    if failed_jobs:
        notices.append(
            (
                ngettext(
                    "%(count)d background job failed after every attempt.",
                    "%(count)d background jobs failed after every attempt.",
                    failed_jobs,
                )
                % {"count": failed_jobs},
                reverse("admin:helpdesk_outboxjob_changelist") + "?failed_at__isempty=0",
            )
        )
    return notices


def tenant_staff_queryset(tenant):
    """Users who are agents or admins of `tenant`: the only people an admin may pick
    as assignee, customer success manager and the like."""
    return (
        get_user_model()
        .objects.filter(
            memberships__tenant=tenant,
            memberships__role__in=[Role.AGENT, Role.ADMIN],
            memberships__is_active=True,
        )
        .distinct()
    )


def tenant_members_queryset(tenant):
    return get_user_model().objects.filter(memberships__tenant=tenant).distinct()


class _TenantChoicesMixin:
    """Limit every foreign-key and many-to-many choice to the request's tenant."""

    # Foreign keys to users that must be the tenant's staff rather than any member.
    staff_user_fields: tuple[str, ...] = ()
    # Dates within the years the desk's arithmetic handles (a renewal on 9999-12-31 would
    # overflow the year after it): helpdesk/input_values.py. Django's admin widget stays.
    formfield_overrides = {models.DateField: {"form_class": DateField}}

    def _scoped_choices(self, db_field, request):
        related = db_field.remote_field.model
        tenant = request.tenant
        if tenant is None:
            return None
        if issubclass(related, TenantOwned):
            return related.objects.filter(tenant=tenant)
        if related is get_user_model():
            if db_field.name in self.staff_user_fields:
                return tenant_staff_queryset(tenant)
            return tenant_members_queryset(tenant)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = self._scoped_choices(db_field, request)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        queryset = self._scoped_choices(db_field, request)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @staticmethod
    def _bind_form_to_tenant(form_class, tenant):
        """A form class whose instance carries the tenant before validation, so the
        unique constraints that lead with tenant are checked as form errors."""

        class TenantBoundForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if tenant is not None and self.instance.tenant_id is None:
                    self.instance.tenant = tenant

        TenantBoundForm.__name__ = form_class.__name__
        return TenantBoundForm

    def _tenant_permission(self, request) -> bool:
        return is_tenant_admin(request)

    def has_view_permission(self, request, obj=None):
        if on_platform_host(request):
            return is_platform_operator(request)
        return self._tenant_permission(request)

    def has_add_permission(self, request, *args):
        # Rows are created in the tenant's own admin, never from the platform host.
        return self._tenant_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._tenant_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self._tenant_permission(request)

    def has_module_permission(self, request):
        return self.has_view_permission(request)


class TenantAdminMixin(_TenantChoicesMixin):
    """Scope a ModelAdmin of a tenant-owned model to the request's tenant."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.tenant is not None:
            queryset = queryset.filter(tenant=request.tenant)
        return queryset

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if on_platform_host(request):
            return ("tenant", *columns)
        return columns

    def get_form(self, request, obj=None, **kwargs):
        return self._bind_form_to_tenant(super().get_form(request, obj, **kwargs), request.tenant)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant = request.tenant
        elif obj.tenant_id != request.tenant.id:
            raise PermissionError("An object of another tenant reached save_model.")
        super().save_model(request, obj, form, change)


class TenantInlineMixin(_TenantChoicesMixin):
    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = self._bind_form_to_tenant(formset.form, request.tenant)
        return formset


class TenantModelAdmin(TenantAdminMixin, admin.ModelAdmin):
    pass


class TenantTabularInline(TenantInlineMixin, admin.TabularInline):
    pass


class PlatformModelAdmin(admin.ModelAdmin):
    """Models of the platform itself (tenants, users): superusers on the platform host only."""

    def _allowed(self, request) -> bool:
        return on_platform_host(request) and is_platform_operator(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request, *args):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)

    def has_module_permission(self, request):
        return self._allowed(request)


class PlatformTabularInline(admin.TabularInline):
    def has_view_permission(self, request, obj=None):
        return on_platform_host(request) and is_platform_operator(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


__all__ = [
    "HelpdeskAdminSite",
    "PlatformModelAdmin",
    "PlatformTabularInline",
    "TenantAdminMixin",
    "TenantModelAdmin",
    "TenantTabularInline",
]
