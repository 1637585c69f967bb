from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_site import TenantModelAdmin, TenantTabularInline
from helpdesk.uploads import check_upload, name_content_type
from knowledge.models import Article, ArticleImage, Category, SearchSynonym, Section
from knowledge.services import article_save

STALE_AFTER = timedelta(days=180)


class SectionInline(TenantTabularInline):
    model = Section
    extra = 1
    fields = ("name", "name_zh_hans", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Category)
class CategoryAdmin(TenantModelAdmin):
    list_display = ("name", "name_zh_hans", "position")
    list_editable = ("position",)
    search_fields = ("name", "name_zh_hans")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SectionInline]


@admin.register(Section)
class SectionAdmin(TenantModelAdmin):
    list_display = ("name", "name_zh_hans", "category", "position")
    list_editable = ("position",)
    list_filter = ("category",)
    list_select_related = ("category",)
    search_fields = ("name", "name_zh_hans")
    prepopulated_fields = {"slug": ("name",)}


class BrokenLinksFilter(admin.SimpleListFilter):
    title = _("links")
    parameter_name = "broken"

    def lookups(self, request, model_admin):
        return [("yes", _("Has broken links"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(broken_links=[])
        return queryset


class StaleFilter(admin.SimpleListFilter):
    title = _("freshness")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", _("Not updated in 6 months"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(updated_at__lt=timezone.now() - STALE_AFTER)
        return queryset


@admin.register(Article)
class ArticleAdmin(TenantModelAdmin):
    list_display = (
        "title",
        "section",
        "language",
        "status",
        "visibility",
        "promoted",
        "updated_at",
    )
    list_filter = (
        "status",
        "language",
        "visibility",
        StaleFilter,
        BrokenLinksFilter,
        "section__category",
    )
    list_select_related = ("section__category",)
    search_fields = ("title", "labels")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("plans",)
    readonly_fields = ("preview", "broken_links", "updated_at")
    staff_user_fields = ("author",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "section", "language", "translation_of", "labels")}),
        (_("Content"), {"fields": ("body", "preview", "broken_links")}),
        (
            _("Publishing"),
            {
                "fields": (
                    "status",
                    "visibility",
                    "plans",
                    "team",
                    "promoted",
                    "position",
                    "author",
                )
            },
        ),
        (None, {"fields": ("updated_at",)}),
    )

    @admin.display(description=_("preview"))
    def preview(self, article):
        if not article.pk:
            return _("Save to see the preview.")
        # body_html is sanitized when saved (knowledge.rendering).
        return format_html('<div class="kb-body">{}</div>', mark_safe(article.body_html))  # noqa: S308

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant = request.tenant
            obj.author = obj.author or request.user
        article_save(obj)


# Pictures only, in the formats every browser shows; SVG can carry script.
IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
IMAGE_MAX_BYTES = 5 * 1024 * 1024


class ArticleImageForm(forms.ModelForm):
    class Meta:
        model = ArticleImage
        fields = ["name", "file"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            upload.content_type = check_upload(
                name=upload.name,
                size=upload.size,
                declared_type=getattr(upload, "content_type", None),
                content=upload,
                max_bytes=IMAGE_MAX_BYTES,
                accept=IMAGE_TYPES,
            )
        except ValidationError as error:
            if error.code == "too_large":
                message = _("Pictures can be at most 5 MB.")
            elif name_content_type(upload.name, None) in IMAGE_TYPES:
                message = _("This file is not the picture its name says.")
            else:
                message = _("Upload a PNG, JPEG, GIF or WebP picture.")
            raise ValidationError(message, code=error.code) from None
        return upload


@admin.register(SearchSynonym)
class SearchSynonymAdmin(TenantModelAdmin):
    """Words customers use for the same thing, for search and suggestions."""

    list_display = ("terms",)
    search_fields = ("terms",)
    fields = ("terms",)


@admin.register(ArticleImage)
class ArticleImageAdmin(TenantModelAdmin):
    """Upload a picture, then paste its Markdown into an article."""

    form = ArticleImageForm
    list_display = ("name", "markdown", "size", "created_at")
    search_fields = ("name",)
    readonly_fields = ("markdown",)

    @admin.display(description=_("Markdown to paste"))
    def markdown(self, image):
        if not image.pk:
            return "—"
        return format_html("<code>![{}]({})</code>", image.name, image.url)

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data["file"]
        obj.content_type = upload.content_type
        obj.size = upload.size
        obj.uploaded_by = obj.uploaded_by or request.user
        super().save_model(request, obj, form, change)
