"""The figures of the insights dashboards, each computed by PostgreSQL aggregates.

base.py holds what is asked (period, buckets, filters) and the shared pieces;
tickets.py, surveys.py and kb.py the figures; panels.py turns them into headlines
and charts for the page (feedback/views/dashboard.py). The ticket figures (volume,
speed, SLA, CSAT) are read from the desk-day rollups (from_rollups.py, built by
feedback/rollups.py) when they hold them; the queries below over the tickets remain
for what they do not (two filters or more, a desk not rolled up yet).

One function per panel of figures; each runs a few grouped queries over index
ranges and returns small dataclasses, never model rows by the thousand. Most
queries read the current period and the previous one (of the same length, just
before) at once: each row is numbered by `width_bucket` over edges computed in
Python (the previous period's start, the desk's midnight starting each bucket,
the period's end; Scope.slot), so one GROUP BY gives the buckets, the previous
period and what came after. Speed takes both clocks, grouped every way (GROUPING
SETS), and the previous period's overall figures in one statement.

Definitions (docs/feedback-and-dashboards.md says the same for readers):

- Buckets are days, or weeks starting on Monday, in the desk's time zone
  (`timezone.get_current_timezone()`, the tenant's during a request).
- Volume: tickets created per bucket (by `created_at`), solved per bucket (by
  `solved_at`, the latest solve of a ticket). The backlog at an instant t is the
  tickets created before t and not solved by then. It is derived, not scanned:
  backlog(t) = unsolved now - created in [t, now) + solved in [t, now), then
  carried through the buckets as a running sum of created - solved. Tickets are
  known by their current state, so a ticket solved and later reopened counts as
  open ever since it was created.
- Speed: business time (the ticket's SLA calendar), stored on the ticket when it
  happens. First response: tickets whose first public agent reply falls in the
  period; resolution: tickets solved in the period. Median and 90th percentile
  are PostgreSQL's `percentile_cont` (interpolated); read from the rollups'
  histograms, within rollups.RELATIVE_ERROR (5%) of it.
- SLA: clocks that ended (`SLAOutcome`), by due time, as in the SLA report.
- CSAT: ratings given in the period (by `rated_at`); satisfied = rating >=
  SATISFIED_RATING (4 of 5); % satisfied = satisfied / rated; average = mean rating.
- NPS: answers in the period (by `responded_at`): % promoters (9-10) - % detractors
  (0-6), from -100 to 100.
- Knowledge base: article views per day (`ArticleViewDay`), "was this helpful?"
  votes by their last change, deflection as knowledge.selectors defines it.

Filters: plan, category, priority and agent narrow the ticket figures (volume,
speed, SLA, CSAT; for CSAT "agent" is the agent who solved the ticket, elsewhere
its assignee); NPS follows the plan filter only (the plan when asked);
knowledge-base figures ignore them.
"""

from feedback.dashboard.base import (
    DAILY_UP_TO_DAYS,
    DAY,
    MAX_DAYS,
    WEEK,
    Compare,
    Filters,
    Percentile,
    Period,
    Scope,
)
from feedback.dashboard.chats import Chats, Waits, chats
from feedback.dashboard.kb import Deflections, Knowledge, Votes, knowledge
from feedback.dashboard.surveys import (
    AgentSatisfaction,
    Csat,
    Nps,
    PlanNps,
    Satisfaction,
    csat,
    nps,
)
from feedback.dashboard.tickets import (
    SPEED_GROUPINGS,
    Durations,
    Sla,
    Speed,
    SpeedRow,
    Volume,
    sla,
    speed,
    volume,
)

__all__ = [
    "DAILY_UP_TO_DAYS",
    "DAY",
    "MAX_DAYS",
    "SPEED_GROUPINGS",
    "WEEK",
    "AgentSatisfaction",
    "Chats",
    "Compare",
    "Csat",
    "Deflections",
    "Durations",
    "Filters",
    "Knowledge",
    "Nps",
    "Percentile",
    "Period",
    "PlanNps",
    "Satisfaction",
    "Scope",
    "Sla",
    "Speed",
    "SpeedRow",
    "Volume",
    "Votes",
    "Waits",
    "chats",
    "csat",
    "knowledge",
    "nps",
    "sla",
    "speed",
    "volume",
]
