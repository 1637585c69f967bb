"""Search quality on the knowledge base's own corpus (knowledge/content/): each
query's expected articles should be in the top five, the first one as high as
possible. MRR@5 (mean reciprocal rank of the first expected article, 0 when it is
not in the top five) and recall@5 (share of expected articles found in the top
five), as the tests hold them and `make bench` reports them."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.demo import content
from knowledge.search import search

TOP = 5


@dataclass
class Quality:
    mrr: float
    recall: float
    cases: int
    misses: list[tuple[str, list[str], list[str]]]  # query, expected, found


def evaluate(articles, by_key: dict, *, tenant_id: int) -> Quality:
    """Run every public case of queries.json against `articles` (what a visitor sees)."""
    reciprocal, recalled, expected_total, misses = [], 0, 0, []
    cases = [case for case in content("queries.json") if _public(case, by_key)]
    keys = {article.pk: key for key, article in by_key.items()}
    for case in cases:
        found = [
            keys.get(hit.article.pk)
            for hit in search(articles, case["query"], tenant_id=tenant_id, limit=TOP)
        ]
        expected = case["expected"]
        rank = next((i for i, key in enumerate(found, 1) if key == expected[0]), None)
        reciprocal.append(1 / rank if rank else 0.0)
        recalled += sum(1 for key in expected if key in found)
        expected_total += len(expected)
        if rank is None:
            misses.append((case["query"], expected, found))
    return Quality(
        mrr=sum(reciprocal) / len(cases),
        recall=recalled / expected_total,
        cases=len(cases),
        misses=misses,
    )


def _public(case: dict, by_key: dict) -> bool:
    from knowledge.models import Article

    return all(
        key in by_key and by_key[key].visibility == Article.Visibility.EVERYONE
        for key in case["expected"]
    )
