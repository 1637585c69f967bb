"""bench/generate.py at another scale (`bench.run --tickets N`) and bench/sections/scale.py,
which compares the pages at 100,000 tickets and at N."""

import argparse

from bench import generate, loadgen
from bench.common import HOST_NAME, desk_host, desk_slug
from bench.fixtures import Fixtures
from bench.report import render_results
from bench.section import BenchRun
from bench.sections.scale import Desk, Page, ScaleComparison
from bench.sections.targets import Targets
from feedback.models import CsatSurvey
from helpdesk.models import User
from helpdesk.tenancy import tenant_scope
from sla.models import SLAOutcome
from tickets.models import TicketSearch, TicketSequence


def test_each_scale_has_a_desk_of_its_own():
    assert desk_slug(100_000) == "bench" and desk_host(100_000) == HOST_NAME
    assert desk_slug(1_000_000) == "bench-1m" and desk_host(1_000_000) == "bench-1m.localhost"
    assert desk_slug(250_000) == "bench-250k"
    assert desk_slug(50) == "bench-50"


def test_the_run_takes_a_second_scale():
    from bench.run import parse_args

    assert parse_args([]).tickets == 100_000
    assert parse_args(["--tickets", "1000000", "--only", "scale"]).tickets == 1_000_000


def test_a_desk_of_any_size_is_generated_like_the_bench_desk(db):
    small = generate.generate(log=lambda _line: None, tickets=50)
    other = generate.generate(log=lambda _line: None, tickets=60)

    assert small.slug == "bench-50" and generate.bench_tenant(50) == small
    sizes = generate.data_sizes(small, 50)
    assert sizes["tickets"] == 50
    assert sizes["messages"] == 50 * generate.MESSAGES_PER_TICKET
    assert sizes["staff"] == generate.STAFF and sizes["customers"] == generate.CUSTOMERS
    assert generate.is_complete(small, 50) and generate.is_complete(other, 60)
    assert generate.data_sizes(other, 60)["messages"] == 180
    with tenant_scope(small):
        assert TicketSearch.objects.count() == 50  # searchable
        assert SLAOutcome.objects.exists() and CsatSurvey.objects.exists()  # dashboards
        assert TicketSequence.objects.get().last_number == 50  # new tickets follow on
    # People belong to one desk: the same addresses at both, one account each.
    emails = {t.pk: set(User.objects.filter(tenant=t).values_list("email", flat=True))
              for t in (small, other)}  # fmt: skip
    assert emails[small.pk] == emails[other.pk]
    assert len(emails[small.pk]) == generate.STAFF + generate.CUSTOMERS


def _run(section, tickets: int) -> BenchRun:
    args = argparse.Namespace(
        tickets=tickets, requests=100, warmup=10, clients=8, seconds=1.0, retry_budget=0.0
    )
    sizes = dict.fromkeys(
        ("tickets", "unsolved", "messages", "events", "organizations", "customers", "staff"), 1
    )
    fixtures = Fixtures(None, None, "s", 75, 5, 3, None, None, {}, "tickets/api.py", sizes)
    return BenchRun(
        args=args, env={}, fixtures=fixtures, data_note="reused", sections=[Targets(), section]
    )


def test_without_a_second_desk_the_section_says_how_to_measure_it(db):
    section = ScaleComparison()
    run = _run(section, 100_000)
    section.measure_in_process(run)

    assert not section.needs_server(run)
    text = render_results(run, seconds=60)
    assert "Not measured in this run" in text and 'make bench ARGS="--tickets 1000000"' in text
    assert [ok for _label, _shown, ok in section.targets(run)] == [None, None, None]


def _result(p95_ms: float) -> loadgen.Result:
    # 20 turns: the 19th slowest is the p95 (nearest rank), the median 10 ms.
    return loadgen.Result([0.010] * 18 + [p95_ms / 1000] * 2, elapsed=1.0)


def test_both_scales_side_by_side_with_their_ratios_and_targets(db):
    from datetime import date

    section = ScaleComparison()
    sizes = {"tickets": 100, "unsolved": 12, "messages": 300, "events": 280,
             "organizations": 200, "customers": 2000}  # fmt: skip
    section.desks = [
        Desk(n, desk_host(n), {}, {}, 75, 8, date(2026, 1, 31), sizes) for n in (100_000, 1_000_000)
    ]

    def page(name, target_ms, small_ms, large_ms):
        target = loadgen.Target(name, "GET", "/agent/")
        return Page(name, target_ms, [target, target], [_result(small_ms), _result(large_ms)])

    section.pages = [
        page("Agent queue, default view", 50, 20, 22),
        page("Agent search, “export”", 50, 40, 200),
        page("Insights dashboard, 90 days", 100, 60, 70),
    ]
    run = _run(section, 1_000_000)
    text = render_results(run, seconds=60)

    assert "## At 100,000 and 1,000,000 tickets" in text
    assert (
        "| Agent queue, default view (`/agent/`) | 10.0 / 20.0 | 10.0 / 22.0 | ×1.00 | ×1.10 "
        in text
    )
    assert (
        "| Agent search, “export” (`/agent/`) | 10.0 / 40.0 | 10.0 / 200.0 | ×1.00 | ×5.00 " in text
    )
    assert text.count("| yes |") == 2 and text.count("| **no** |") == 1
    ratio, pages, dashboard = section.targets(run)
    assert ratio[2] is False and "Agent search, “export” ×5.00" in ratio[1]
    assert pages[2] is False and "missed by Agent search, “export” p95 200.0 ms" in pages[1]
    assert dashboard == (
        "Insights dashboard at 1,000,000 tickets, p95 < 100 ms, 1 at a time",
        "all met; slowest: Insights dashboard, 90 days p95 70.0 ms",
        True,
    )
