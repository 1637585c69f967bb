"""A section of the benchmark: what it measures and what it writes into RESULTS.md.

Every part of RESULTS.md after "Machine and setup" is a `Section` (bench/sections/);
bench/run.py calls each one's hooks in turn:

1. `measure_in_process(run)`: Django is set up on the bench database, the data and
   `run.fixtures` exist, the CPUs are as quiet as they get. Measure (see
   bench/inprocess.py `timed`) and keep the results on the section or on `run`.
2. `http_targets(run)`: requests to measure over HTTP once gunicorn is up; each is
   measured 1 at a time and with N clients, and gets a row of the Figures table
   (`run.measured`, in order). A section that measures over HTTP its own way (two
   desks' requests taking turns) says so with `needs_server(run)`, and its
   `measure_over_http(run, port)` runs after those, gunicorn still up.
3. `targets(run)`: rows of the Targets table, `(target, measured, met)` with `met`
   True, False or None (not measured).
4. `report(run)`: the Markdown lines under the section's `## title`.

To add a section, subclass `Section`, override the hooks it needs and list the class
in `SECTIONS` (bench/sections/__init__.py), in the place it should have in RESULTS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from bench.fixtures import Fixtures
    from bench.http_load import Measured
    from bench.inprocess import QueryCount
    from bench.loadgen import Target


@dataclass
class BenchRun:
    """One run of the benchmark: its options, its data, and what was measured so far."""

    args: argparse.Namespace
    env: dict[str, str]
    fixtures: Fixtures
    data_note: str  # how the data came about (generated now, reused)
    sections: list[Section]
    counts: list[QueryCount] = field(default_factory=list)  # in-process, per request
    in_process_other: float = 0.0  # other processes' CPU share meanwhile
    measured: list[Measured] = field(default_factory=list)  # over HTTP, per target
    busy_before: float = 0.0  # CPUs busy before gunicorn started
    load_before: tuple[float, ...] = (0.0, 0.0, 0.0)
    load_after: tuple[float, ...] = (0.0, 0.0, 0.0)
    removed: int = 0  # tickets the API created, deleted after the run

    def measured_target(self, name: str) -> Measured | None:
        return next((m for m in self.measured if m.target.name == name), None)


TargetRow = tuple[str, str, "bool | None"]


class Section:
    title: str = ""

    def measure_in_process(self, run: BenchRun) -> None:
        """Measure with Django set up on the bench database (no server running)."""

    def http_targets(self, run: BenchRun) -> list[Target]:
        """Requests to measure over HTTP against gunicorn."""
        return []

    def needs_server(self, run: BenchRun) -> bool:
        """Whether gunicorn must run for `measure_over_http`."""
        return False

    def measure_over_http(self, run: BenchRun, port: int) -> None:
        """Measure over HTTP its own way, against gunicorn on 127.0.0.1:`port`."""

    def targets(self, run: BenchRun) -> list[TargetRow]:
        """Rows of the Targets table: (target, measured, met)."""
        return []

    def report(self, run: BenchRun) -> list[str]:
        """The Markdown lines under `## {title}`."""
        return []
