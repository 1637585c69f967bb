"""Keeps the processes of `make run` running, and stops all of them together.

- Each child leads a process group of its own, so a signal to the group reaches what
  it started too (gunicorn's workers, Celery's pool processes).
- A child that dies is restarted after a pause that doubles with each recent death
  (0.5 s, 1 s, 2 s, ...); the others keep running, pids and all. A child that died
  `give_up_deaths` times within `give_up_window` seconds is broken, not unlucky:
  everything stops, with a message naming it.
- SIGINT (Ctrl-C) or SIGTERM stops every child: SIGTERM to each group, SIGKILL to
  what is left after `stop_grace` seconds or at a second Ctrl-C.
- When the parent dies (`make` killed, a closed terminal) the kernel sends this
  process SIGTERM (PR_SET_PDEATHSIG), and the loop also notices the parent's pid
  changing. The children get PR_SET_PDEATHSIG too: if this process is killed
  outright (SIGKILL), they are still told to stop.

Linux only for the parent-death signal; elsewhere the pid check remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def signal_me_when_parent_dies(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send `signum` to this process when its parent exits.

    The kernel watches the parent *thread* that started us; `make` and the
    supervisor start their children from their only thread.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (command) state ppid pgrp ...": the command may contain spaces and brackets.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = None
    deaths: deque[float] = field(default_factory=deque)  # monotonic times, recent ones
    restart_at: float | None = None  # when a dead child is started again

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class Supervisor:
    def __init__(
        self,
        children: dict[str, tuple[list[str], dict[str, str]]],
        *,
        cwd: Path,
        log: Callable[[str], None] | None = None,
        output=None,
        give_up_deaths: int = 5,
        give_up_window: float = 60.0,
        first_pause: float = 0.5,
        stop_grace: float = 20.0,
        poll_interval: float = 0.2,
    ):
        self.children = [Child(name, cmd, env) for name, (cmd, env) in children.items()]
        self.cwd = cwd
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.output = output  # a file for the children's stdout and stderr; ours by default
        self.give_up_deaths = give_up_deaths
        self.give_up_window = give_up_window
        self.first_pause = first_pause
        self.stop_grace = stop_grace
        self.poll_interval = poll_interval
        self.parent_pid = os.getppid()
        self._stop_signal: int | None = None
        self._kill_now = False

    # -- starting ---------------------------------------------------------------------------

    def _spawn(self, child: Child) -> None:
        supervisor_pid = os.getpid()

        def in_the_child() -> None:  # runs between fork and exec
            signal_me_when_parent_dies(signal.SIGTERM)
            if os.getppid() != supervisor_pid:  # we died before prctl took effect
                os._exit(1)

        child.process = subprocess.Popen(  # noqa: S603 - our own fixed commands
            child.command,
            cwd=self.cwd,
            env=child.env,
            process_group=0,
            stdout=self.output,
            stderr=self.output,
            # Not thread-safe in general; the supervisor has a single thread.
            preexec_fn=in_the_child,
        )
        child.restart_at = None

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    # -- watching ---------------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        if self._stop_signal is None:
            self._stop_signal = signum
        else:
            self._kill_now = True  # a second Ctrl-C: no more waiting

    def _parent_gone(self) -> bool:
        return os.getppid() != self.parent_pid

    def run(self, announce: Callable[[Supervisor], None] | None = None) -> int:
        """Start the children, watch them until told to stop; the exit status.

        `announce(self)` is called once they are started (their pids are known)."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal_me_when_parent_dies(signal.SIGTERM)
        try:
            self.start()
            if announce is not None:
                announce(self)
            while self._stop_signal is None:
                if self._parent_gone():
                    self.log(f"the parent process (pid {self.parent_pid}) is gone; stopping")
                    break
                given_up = self._tend_children()
                if given_up is not None:
                    return 1
                time.sleep(self.poll_interval)
            if self._stop_signal is not None:
                name = signal.Signals(self._stop_signal).name
                self.log(f"{name} received; stopping {self._names()}")
            return 0
        finally:
            self.stop()

    def _names(self) -> str:
        return ", ".join(child.name for child in self.children)

    def _tend_children(self) -> Child | None:
        """Notice deaths, restart children whose pause is over; the child given up on, if any."""
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if child.restart_at is None and process is not None and process.poll() is not None:
                while child.deaths and child.deaths[0] < now - self.give_up_window:
                    child.deaths.popleft()
                child.deaths.append(now)
                # What it started may still run (Celery's pool after a SIGKILL): stop it.
                _signal_group(process.pid, signal.SIGTERM)
                if len(child.deaths) >= self.give_up_deaths:
                    self.log(
                        f"{child.name} (pid {process.pid}) {describe_exit(process.returncode)}: "
                        f"it died {len(child.deaths)} times within {self.give_up_window:g} s, so "
                        f"it is not restarted again; stopping {self._names()}. "
                        f"Its output above should say why."
                    )
                    return child
                pause = self.first_pause * 2 ** (len(child.deaths) - 1)
                child.restart_at = now + pause
                self.log(
                    f"{child.name} (pid {process.pid}) {describe_exit(process.returncode)}; "
                    f"restarting it in {pause:g} s (the others keep running)"
                )
            elif child.restart_at is not None and now >= child.restart_at:
                old_group = process.pid if process else None
                if old_group is not None and group_members(old_group):
                    _signal_group(old_group, signal.SIGKILL)
                self._spawn(child)
                self.log(f"{child.name} restarted (pid {child.pid})")
        return None

    # -- stopping ---------------------------------------------------------------------------

    def stop(self) -> None:
        """SIGTERM to every child's group; SIGKILL to what is left after the grace period."""
        groups = [child.process.pid for child in self.children if child.process is not None]
        for pgid in groups:
            _signal_group(pgid, signal.SIGTERM)
        alive = self._wait_for_groups(groups, self.stop_grace)
        if alive:
            self.log(f"still running after SIGTERM: process groups {alive}; killing them")
            for pgid in alive:
                _signal_group(pgid, signal.SIGKILL)
            alive = self._wait_for_groups(alive, 5.0)
            if alive:
                self.log(f"could not stop process groups {alive}")

    def _wait_for_groups(self, groups: list[int], seconds: float) -> list[int]:
        """Wait until the groups are empty, at most `seconds` (or until a second Ctrl-C)."""
        deadline = time.monotonic() + seconds
        while True:
            for child in self.children:
                if child.process is not None:
                    child.process.poll()  # reap the leader: a zombie no longer counts
            alive = [pgid for pgid in groups if group_members(pgid)]
            if not alive or self._kill_now or time.monotonic() > deadline:
                self._kill_now = False
                return alive
            time.sleep(0.1)
