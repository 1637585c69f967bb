"""Whether the machine is quiet: the CPU share of processes that are not the benchmark's.

The benchmark shares the machine's cores with whatever else runs (a test suite, a
browser, another benchmark); its figures mean little while they are busy.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.common import BENCH_DATABASE, log


def cpu_busy(seconds: float = 3.0) -> float:
    """Share of all CPUs busy over `seconds` (from /proc/stat), 0.0 to 1.0."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    if not Path("/proc/stat").exists():
        return 0.0
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_for_quiet(limit: float, threshold: float = 0.15) -> float:
    """Wait up to `limit` seconds for other processes to leave the CPUs alone.

    The benchmark shares the machine's cores with whatever else runs (a test
    suite, a browser); its figures mean little while they are busy.
    """
    deadline = time.monotonic() + limit
    while True:
        busy = cpu_busy()
        if busy <= threshold or time.monotonic() > deadline:
            return busy
        log(f"other processes keep {busy:.0%} of the CPUs busy; waiting for quiet")


# A measurement during which other processes (a test suite, a browser...) used more
# than this share of the machine's CPUs is taken again, within --retry-budget.
DISTURBED = 0.10


class OtherCpu:
    """CPU time used by processes that are not the benchmark's, from /proc.

    The benchmark's own are this process and its children (gunicorn and its
    workers) and PostgreSQL's backends for the bench database (or `database`). Processes that
    both start and end within the window are missed.
    """

    def __init__(self, database: str = BENCH_DATABASE):
        self.database = database
        self.started = time.monotonic()
        self.before = self._snapshot()

    @staticmethod
    def _snapshot() -> dict[int, tuple[int, int, str]]:
        found = {}
        proc = Path("/proc")
        if not proc.exists():
            return found
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, ticks = int(fields[1]), int(fields[11]) + int(fields[12])
            found[int(entry.name)] = (ppid, ticks, cmdline.decode(errors="replace"))
        return found

    def share(self) -> float:
        after = self._snapshot()
        elapsed = time.monotonic() - self.started
        ours = {os.getpid()}
        changed = True
        while changed:  # descendants of this process
            changed = False
            for pid, (ppid, _ticks, _cmd) in after.items():
                if ppid in ours and pid not in ours:
                    ours.add(pid)
                    changed = True
        ticks = 0
        for pid, (_ppid, now, cmdline) in after.items():
            if pid in ours or f" {self.database} " in cmdline:
                continue
            ticks += max(now - self.before.get(pid, (0, 0, ""))[1], 0)
        cpus = os.cpu_count() or 1
        return ticks / os.sysconf("SC_CLK_TCK") / max(elapsed, 1e-9) / cpus
