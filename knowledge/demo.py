"""Articles from knowledge/content/articles.json into a tenant's knowledge base:
the demo's ~40 (seed_demo) or all of them (the search-quality tests and bench).

In the file, articles link to each other as `/kb/articles/<key>/`; once every
article exists those links become the real addresses.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from django.utils.text import slugify

from helpdesk.models import Tenant
from knowledge.models import Article, Category, SearchSynonym, Section
from knowledge.services import article_save
from plans.models import Plan

CONTENT = Path(__file__).resolve().parent / "content"
CATEGORY_NAMES = {
    "Getting started": "快速入门",
    "Troubleshooting": "故障排除",
    "Billing": "账单与发票",
    "Account": "账户",
}
SECTION_NAMES = {
    "Tracking setup": "埋点设置",
    "Dashboards": "看板",
    "Exports": "数据导出",
    "Invoices and payments": "发票与付款",
    "Plans and upgrades": "套餐与升级",
    "Sign-in and security": "登录与安全",
    "Team and permissions": "团队与权限",
    "Integrations": "集成",
    "Data and privacy": "数据与隐私",
    "First steps": "新手入门",
    "Reports": "分析报表",
    "Data import and sync": "数据导入与同步",
    "API and webhooks": "API 与 Webhook",
    "Service status": "服务状态",
    "Support": "联系支持",
}
_LINK = re.compile(r"/kb/articles/([\w-]+)/")


@cache
def content(name: str = "articles.json") -> list[dict]:
    return json.loads((CONTENT / name).read_text(encoding="utf-8"))


def _slug(text: str) -> str:
    return slugify(text, allow_unicode=True)[:100] or "section"


def load_articles(tenant: Tenant, *, demo_only: bool = False) -> dict[str, Article]:
    """Create the articles (idempotent by language and slug); returns them by key."""
    entries = [e for e in content() if e.get("demo") or not demo_only]
    plans = {plan.name: plan for plan in Plan.objects.all()}
    categories: dict[str, Category] = {}
    sections: dict[tuple[str, str], Section] = {}
    for position, name in enumerate(CATEGORY_NAMES):
        categories[name], _ = Category.objects.get_or_create(
            tenant=tenant,
            slug=_slug(name),
            defaults={"name": name, "name_zh_hans": CATEGORY_NAMES[name], "position": position},
        )
    by_key: dict[str, Article] = {}
    # Originals first, so translations can point at them.
    for entry in sorted(entries, key=lambda e: e.get("translation_of") is not None):
        category = categories.get(entry["category"])
        if category is None:
            category, _ = Category.objects.get_or_create(
                tenant=tenant, slug=_slug(entry["category"]), defaults={"name": entry["category"]}
            )
            categories[entry["category"]] = category
        key = (entry["category"], entry["section"])
        if key not in sections:
            sections[key], _ = Section.objects.get_or_create(
                tenant=tenant,
                category=category,
                slug=_slug(entry["section"]),
                defaults={
                    "name": entry["section"],
                    "name_zh_hans": SECTION_NAMES.get(entry["section"], ""),
                    "position": len(sections),
                },
            )
        slug = _slug(entry["key"])
        article = Article.objects.filter(language=entry["language"], slug=slug).first()
        if article is None:
            article = Article(tenant=tenant, language=entry["language"], slug=slug)
        article.section = sections[key]
        article.title = entry["title"]
        article.body = entry["body"]
        article.labels = entry.get("labels", [])
        article.promoted = bool(entry.get("promoted"))
        article.status = Article.Status.PUBLISHED
        article.translation_of = by_key.get(entry.get("translation_of") or "")
        visibility = entry.get("visibility", "everyone")
        article.visibility = (
            visibility if visibility in ("everyone", "signed_in") else Article.Visibility.PLANS
        )
        article_save(article)
        if article.visibility == Article.Visibility.PLANS:
            article.plans.set([plans[name] for name in visibility.split(",") if name in plans])
        by_key[entry["key"]] = article
    for article in by_key.values():
        linked = _LINK.sub(lambda m: _address(by_key, m), article.body)
        if linked != article.body:
            article.body = linked
            article_save(article, touch=False)
    load_synonyms(tenant)
    return by_key


def load_synonyms(tenant: Tenant) -> None:
    """The corpus's synonym groups (content/synonyms.json), each once."""
    for terms in content("synonyms.json"):
        SearchSynonym.objects.get_or_create(tenant=tenant, terms=terms)


def _address(by_key: dict[str, Article], match: re.Match) -> str:
    target = by_key.get(match.group(1))
    return f"/kb/articles/{target.pk}/{target.slug}/" if target else match.group(0)
