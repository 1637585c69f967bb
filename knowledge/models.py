"""The knowledge base: categories, sections and articles, like a bookstore's
shelves (seeds/000), in English and Simplified Chinese, each article visible to
everyone, to signed-in customers, or to chosen plans only."""

import re
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.localized import LocalizedName
from helpdesk.models import TenantOwned


class Language(models.TextChoices):
    EN = "en", "English"
    ZH_HANS = "zh-hans", "简体中文"


class Category(LocalizedName, TenantOwned):
    slug = models.SlugField(_("slug"), max_length=100, allow_unicode=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("knowledge base category")
        verbose_name_plural = _("knowledge base categories")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "slug"],
                name="kbcategory_tenant_slug_unique",
                violation_error_message=_("Another category already has this slug."),
            )
        ]


class Section(LocalizedName, TenantOwned):
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="sections", verbose_name=_("category")
    )
    slug = models.SlugField(_("slug"), max_length=100, allow_unicode=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["category__position", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "category", "slug"],
                name="kbsection_category_slug_unique",
                violation_error_message=_("Another section of this category has this slug."),
            )
        ]
        indexes = [models.Index(fields=["tenant", "category", "position"], name="kbsection_order")]

    def __str__(self) -> str:
        return f"{self.category} › {self.display_name}"


class Article(TenantOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Visibility(models.TextChoices):
        EVERYONE = "everyone", _("Everyone, including visitors who are not signed in")
        SIGNED_IN = "signed_in", _("Signed-in customers")
        PLANS = "plans", _("Customers on the selected plans")
        # Internal knowledge: never shown to a customer, anywhere.
        AGENTS = "agents", _("Agents only (internal)")
        GROUP = "group", _("Agents of one group (internal)")

    INTERNAL = (Visibility.AGENTS, Visibility.GROUP)

    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="articles", verbose_name=_("section")
    )
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200, allow_unicode=True)
    body = models.TextField(_("body"), help_text=_("Markdown: headings, lists, tables, code."))
    body_html = models.TextField(editable=False, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    visibility = models.CharField(
        _("visible to"), max_length=10, choices=Visibility.choices, default=Visibility.EVERYONE
    )
    plans = models.ManyToManyField(
        "plans.Plan", blank=True, related_name="+", verbose_name=_("plans")
    )
    team = models.ForeignKey(
        "tickets.Group",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("group"),
        help_text=_("For articles visible to the agents of one group."),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.EN
    )
    translation_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="translations",
        verbose_name=_("translation of"),
        help_text=_("The original article, when this one is its translation."),
    )
    # The original's id for every version of one article (its own id for an
    # original): lists show one version per group, in the reader's language if any.
    group_id = models.PositiveBigIntegerField(null=True, editable=False, db_index=False)
    labels = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    promoted = models.BooleanField(_("promoted"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    # Kept by knowledge.search.index_article: title (A), labels (B) and body (C),
    # Chinese segmented into words, English stemmed.
    search_vector = SearchVectorField(null=True, editable=False)
    # Title and labels as plain words: the vocabulary typos are corrected against.
    search_words = models.TextField(editable=False, default="")
    # The body as plain text, for search snippets.
    body_text = models.TextField(editable=False, default="")
    # Links to other articles that lead nowhere (missing or unpublished), found on save.
    broken_links = ArrayField(
        models.CharField(max_length=300),
        default=list,
        editable=False,
        verbose_name=_("broken links"),
    )

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["section", "position", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "language", "slug"],
                name="kbarticle_language_slug_unique",
                violation_error_message=_("Another article in this language has this slug."),
            )
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="kbarticle_search"),
            models.Index(fields=["tenant", "section", "status"], name="kbarticle_section"),
            models.Index(fields=["tenant", "group_id", "language"], name="kbarticle_group"),
            models.Index(fields=["tenant", "status", "-updated_at"], name="kbarticle_recent"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        if self.visibility == self.Visibility.GROUP and self.team_id is None:
            raise ValidationError({"team": _("Choose the group whose agents may read it.")})
        if self.visibility != self.Visibility.GROUP:
            self.team = None

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_internal(self) -> bool:
        return self.visibility in self.INTERNAL


def article_image_path(image: "ArticleImage", filename: str) -> str:
    return f"kb/{image.tenant_id}/{image.key}"


class ArticleImage(TenantOwned):
    """A picture uploaded for articles, served by the app at /kb/images/<key>/."""

    key = models.UUIDField(unique=True, editable=False, default=uuid.uuid4)
    file = models.FileField(upload_to=article_image_path)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(max_length=100, editable=False)
    size = models.PositiveIntegerField(editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("article image")
        verbose_name_plural = _("article images")

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"/kb/images/{self.key}/"


class ArticleVote(TenantOwned):
    """'Was this helpful?': one vote per person and article, which they may change."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "article", "user"], name="kbvote_one_per_user"
            )
        ]


class ArticleViewDay(TenantOwned):
    """How often an article was read on one day (the desk's time zone): one row per
    article and day, counted up by knowledge.services.article_view_record."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="view_days")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "article", "day"], name="kbviewday_one_per_day"
            )
        ]
        indexes = [models.Index(fields=["tenant", "day"], name="kbviewday_day")]


class SearchLog(TenantOwned):
    """A search with no results, so admins can write the article people looked for."""

    query = models.CharField(max_length=200)
    normalized = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"], name="kbsearchlog_recent")]


class Deflection(TenantOwned):
    """A customer opened an article suggested while filing a request. If they file
    anyway within DEFLECTION_WINDOW, `ticket` says which; otherwise the article
    answered them (deflected)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    opened_at = models.DateTimeField(default=timezone.now)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "user", "opened_at"], name="kbdeflection_user"),
            models.Index(fields=["tenant", "opened_at"], name="kbdeflection_recent"),
        ]


class SearchSynonym(TenantOwned):
    """Words and phrases customers use for the same thing ("专票" for "增值税专用发票",
    "2FA" for "two-factor authentication"): a search for any of them also finds the
    articles that use another (knowledge/search.py)."""

    terms = models.CharField(
        _("words that mean the same"),
        max_length=500,
        help_text=_(
            "Two or more words or phrases, separated by commas, e.g. 专票, 增值税专用发票. "
            "A search for any of them also finds articles with the others."
        ),
    )

    class Meta:
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")
        ordering = ["terms"]

    def __str__(self) -> str:
        return self.terms

    @property
    def term_list(self) -> list[str]:
        return split_terms(self.terms)

    def clean(self) -> None:
        terms = split_terms(self.terms)
        if len(terms) < 2:
            raise ValidationError(
                {"terms": _("Give at least two words or phrases, separated by commas.")}
            )
        if any(len(term) > 60 for term in terms):
            raise ValidationError({"terms": _("Each word or phrase may have 60 characters.")})
        self.terms = ", ".join(terms)


def split_terms(text: str) -> list[str]:
    """'专票，增值税专用发票, 2FA ' -> ['专票', '增值税专用发票', '2FA'] (commas of either
    width, spaces tidied, each once whatever its case)."""
    parts = (" ".join(part.split()) for part in re.split(r"[,，、;；\n]", text or ""))
    seen: dict[str, str] = {}
    for part in parts:
        if part:
            seen.setdefault(part.lower(), part)
    return list(seen.values())
