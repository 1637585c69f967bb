"""Under load: 50 signed-in clients for 60 s against the server as `make run` starts it.

The measurement is bench/load/ (`make bench-load` runs it alone and rewrites only its
section of RESULTS.md); in a full `make bench` this section runs it, so the section
is kept when RESULTS.md is written again.
"""

from __future__ import annotations

import sys

from bench.load import run_load
from bench.load.report import SECTION_TITLE, LoadResult, print_summary, report_lines, targets
from bench.section import BenchRun, Section, TargetRow

CLIENTS = 50
SECONDS = 60.0


class UnderLoad(Section):
    title = SECTION_TITLE

    def __init__(self):
        self.result: LoadResult | None = None

    def measure_in_process(self, run: BenchRun) -> None:
        # Its own processes and database; the bench's data and server play no part.
        self.result = run_load(clients=CLIENTS, seconds=SECONDS, settle=5.0, wait_quiet=0.0)
        print_summary(self.result)

    def targets(self, run: BenchRun) -> list[TargetRow]:
        return targets(self.result) if self.result else []

    def report(self, run: BenchRun) -> list[str]:
        if self.result is None:
            return ["Not measured in this run."]
        command = "make bench" + (f' ARGS="{" ".join(sys.argv[1:])}"' if sys.argv[1:] else "")
        return report_lines(self.result, command)
