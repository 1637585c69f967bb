from django.utils.text import slugify

from knowledge.models import Article, Category, Section
from knowledge.services import article_save


def section(desk, category="Billing", name="Invoices and payments"):
    with desk.scope():
        cat, _ = Category.objects.get_or_create(
            tenant=desk.tenant, slug=category.lower().replace(" ", "-"), defaults={"name": category}
        )
        sec, _ = Section.objects.get_or_create(
            tenant=desk.tenant,
            category=cat,
            slug=name.lower().replace(" ", "-"),
            defaults={"name": name},
        )
    return sec


def make_article(desk, title, body="", *, plans=(), visibility="everyone", **fields):
    in_section = fields.pop("section", None) or section(desk)
    with desk.scope():
        article = Article(
            tenant=desk.tenant,
            section=in_section,
            title=title,
            slug=fields.pop("slug", slugify(title, allow_unicode=True)[:50]),
            body=body or f"## About\n\n{title}.",
            status=fields.pop("status", Article.Status.PUBLISHED),
            visibility="plans" if plans else visibility,
            **fields,
        )
        article_save(article)
        if plans:
            article.plans.set(plans)
    return article
