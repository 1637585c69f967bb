"""Targets: every section's targets, met or not."""

from __future__ import annotations

from bench.section import BenchRun, Section


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


class Targets(Section):
    title = "Targets"

    def report(self, run: BenchRun) -> list[str]:
        lines = ["| target | measured | |", "|---|---|---|"]
        for section in run.sections:
            for target, measured, ok in section.targets(run):
                lines.append(f"| {target} | {measured} | {verdict(ok)} |")
        return lines
