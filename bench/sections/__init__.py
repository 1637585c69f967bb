"""The sections of RESULTS.md after "Machine and setup", in order (see bench/section.py).

A new measured section (an SLA sweep, say) is a module here with a `Section` subclass,
listed in SECTIONS; each run makes one instance of each.
"""

from bench.sections.chat import LiveChat
from bench.sections.dashboard import Dashboard
from bench.sections.events import EventsCost
from bench.sections.figures import HttpFigures
from bench.sections.health import HealthScores
from bench.sections.kb_search import KbSearch
from bench.sections.load import UnderLoad
from bench.sections.plans import QueryPlans
from bench.sections.queries import QueryCounts
from bench.sections.rules import RulesCost
from bench.sections.scale import ScaleComparison
from bench.sections.sla_sweep import SlaSweep
from bench.sections.targets import Targets
from bench.sections.ticket_search import TicketSearchCost

SECTIONS = [
    HttpFigures,
    Targets,
    EventsCost,
    RulesCost,
    QueryCounts,
    QueryPlans,
    SlaSweep,
    KbSearch,
    TicketSearchCost,
    Dashboard,
    ScaleComparison,
    HealthScores,
    LiveChat,
    UnderLoad,
]


def section_name(section: type) -> str:
    """A section's name for `--only`: its module's (dashboard, kb_search, ...)."""
    return section.__module__.rsplit(".", 1)[-1]
