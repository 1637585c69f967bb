from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin
from tickets.models import Category, Macro
from tickets.rendering import render_markdown


@admin.register(Category)
class CategoryAdmin(TenantModelAdmin):
    list_display = ("name", "position", "is_active")
    list_editable = ("position", "is_active")
    search_fields = ("name",)
    ordering = ("position", "name")


@admin.register(Macro)
class MacroAdmin(TenantModelAdmin):
    list_display = ("name", "set_status", "set_priority", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("is_active", "set_status")
    search_fields = ("name", "body")
    fields = ("name", "body", "preview", "set_status", "set_priority", "position", "is_active")
    readonly_fields = ("preview",)

    @admin.display(description=_("preview"))
    def preview(self, macro):
        # Rendered like a reply (sanitized Markdown); placeholders show as written.
        return render_markdown(macro.body) if macro.pk else "—"
