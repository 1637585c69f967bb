"""Query plans: PostgreSQL's plans (EXPLAIN ANALYZE) for the main query of each page."""

from __future__ import annotations

from bench.fixtures import Fixtures
from bench.section import BenchRun, Section


class QueryPlans(Section):
    title = "Query plans"

    def __init__(self):
        self.plans: dict[str, str] = {}

    def measure_in_process(self, run: BenchRun) -> None:
        self.plans = explain_pages(run.fixtures)

    def report(self, run: BenchRun) -> list[str]:
        lines = []
        for label, plan in self.plans.items():
            lines += [f"{label}:", "", "```", plan, "```", ""]
        return lines


def explain_pages(fixtures: Fixtures) -> dict[str, str]:
    """PostgreSQL's plans for the main query of each page measured."""
    from helpdesk.tenancy import tenant_scope
    from tickets.models import Ticket
    from tickets.selectors import PAGE_SIZE, TICKET_PAGE_RELATED, QueueFilters, queue

    plans = {}
    with tenant_scope(fixtures.tenant):
        for label, filters in (
            ("Agent queue, default view (first page: 51 rows)", QueueFilters()),
            (
                "Agent queue, priority=1&status=open (first page: 51 rows)",
                QueueFilters(priority=[1], status=["open"]),
            ),
        ):
            tickets = queue(filters, agent=fixtures.agent, member=None)[: PAGE_SIZE + 1]
            plans[label] = tickets.explain(analyze=True)
        # The ticket page's query of tickets.selectors.ticket_for_agent (`.get()` reads
        # at most 21 rows).
        ticket = Ticket.objects.select_related(*TICKET_PAGE_RELATED).filter(
            number=fixtures.ticket_number
        )[:21]
        plans["Ticket page, the ticket (tickets.selectors.ticket_for_agent)"] = ticket.explain(
            analyze=True
        )
    return plans
