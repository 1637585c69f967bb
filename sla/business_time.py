"""Deadlines in business hours: add working time to an instant, or measure it between two.

A `Schedule` says when a team works: weekly hours in the team's local time, holidays, and
make-up working days. The SLA engine asks two questions of it:

    due = add_business_time(created, timedelta(hours=8), schedule)  # when is the reply due?
    used = business_time_between(created, replied, schedule)        # how much of it was used?

Semantics
---------
* Every datetime in or out is timezone-aware; a naive one raises ValueError. Results are in UTC.
* Business time is real elapsed time inside working intervals. Intervals are local wall times
  in `time_zone`, turned into real instants day by day with the zone's rules, so an interval
  that spans a clock change lasts an hour less (spring) or more (autumn) in real time: a Sunday
  open 00:00-24:00 measures 23 h on the spring-forward night and 25 h on the fall-back one.
* A boundary at wall time w happens at the first instant the local clock reads w or later:
  - in the spring-forward gap, where the clock never reads w, that is the instant it jumps
    (Berlin 2026-03-29 02:30 -> 03:00 CEST = 01:00 UTC);
  - in the repeated fall-back hour it is the first time the clock reads w (fold=0).
  This keeps a day's intervals in order; an interval lying wholly in the gap is empty.
* Intervals are half-open: `is_open` is true at an interval's start instant, false at its end.
* `holidays` close a whole local date. `extra_workdays` open a date its weekday leaves closed
  with the hours of the first weekday, Monday to Sunday, that has any; a date whose weekday
  already has hours keeps them. A date can't be both.
* `always_open`: business time is plain elapsed time; weekly hours, holidays and extra days
  are ignored.
* `add_business_time(start, d)` is the earliest instant t >= start with
  `business_time_between(start, t) == d`. d == 0 gives start itself (in UTC), even in closed
  time; d > 0 gives an instant inside a working interval or exactly at its end, never in
  closed time. A negative d raises ValueError.
* `business_time_between(a, b)` is the business time in [a, b], negative when b is before a,
  so "overdue by" is `business_time_between(deadline, now)`.

Speed: the walk goes interval by interval, and a run of regular weeks (no holiday or extra
day, the same UTC offset at every local midnight) is skipped in one step, so the cost grows
with the irregular days crossed rather than with the duration. `python -m sla.business_time`
prints microseconds per call.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# A schedule closed this long in a row is a data error, not a deadline.
MAX_CLOSED_DAYS = 3653

_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)
_MICROSECOND = timedelta(microseconds=1)

Interval = tuple[int, int]
WeeklyHours = tuple[tuple[Interval, ...], ...]
# Start and end of a working period as naive UTC datetimes.
Period = tuple[datetime, datetime]


@dataclass(frozen=True)
class Schedule:
    """When a team works; see the module docstring for how it is read."""

    time_zone: str
    # Monday..Sunday, each a sorted tuple of non-overlapping (start_minute, end_minute) in
    # local wall time, 0 <= start < end <= 1440. Split shifts are several intervals in a day.
    weekly: WeeklyHours
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self):
        # Schedules are often built from JSON or a form: accept lists and sets.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "extra_workdays", frozenset(self.extra_workdays))
        try:
            weekly = tuple(tuple(tuple(interval) for interval in day) for day in self.weekly)
        except TypeError:
            return  # validate() says what is wrong
        object.__setattr__(self, "weekly", weekly)

    @classmethod
    def office_hours(
        cls,
        time_zone: str,
        start_minute: int = 9 * 60,
        end_minute: int = 18 * 60,
        weekdays: Iterable[int] = range(5),
        **kw,
    ) -> Schedule:
        """The same hours on each of `weekdays` (0 = Monday), closed on the others."""
        open_days = set(weekdays)
        weekly = tuple(((start_minute, end_minute),) if i in open_days else () for i in range(7))
        return cls(time_zone=time_zone, weekly=weekly, **kw)

    @classmethod
    def around_the_clock(cls, time_zone: str = "UTC") -> Schedule:
        return cls(time_zone=time_zone, weekly=(((0, MINUTES_PER_DAY),),) * 7, always_open=True)

    def validate(self) -> None:
        """Raise ValueError saying what is wrong with the schedule, if anything."""
        _Plan.compile(self)

    def is_open(self, moment: datetime) -> bool:
        instant = _as_utc(moment, "moment")
        plan = self._plan
        if self.always_open:
            return True
        day = _local_date(instant, plan.zone)
        # After a fall-back across midnight the next day's hours may already have begun.
        for candidate in (day, day + _DAY):
            for opens, closes in plan.periods_on(candidate):
                if opens <= instant < closes:
                    return True
        return False

    def weekly_minutes(self) -> int:
        """Minutes open in a regular week, as wall-clock time (for display)."""
        if self.always_open:
            return 7 * MINUTES_PER_DAY
        return sum(end - start for day in self.weekly for start, end in day)

    @cached_property
    def _plan(self) -> _Plan:
        return _Plan.compile(self)


def add_business_time(start: datetime, duration: timedelta, schedule: Schedule) -> datetime:
    """The earliest instant at which `duration` of business time has passed since `start`."""
    start_utc = _as_utc(start, "start")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    plan = schedule._plan
    try:
        if schedule.always_open or not duration:
            return (start_utc + duration).replace(tzinfo=UTC)
        return _add(plan, start_utc, duration).replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError(f"{duration} of business time from {start} ends after 9999") from None


def business_time_between(a: datetime, b: datetime, schedule: Schedule) -> timedelta:
    """Business time in [a, b]; negative if b is before a."""
    a_utc, b_utc = _as_utc(a, "a"), _as_utc(b, "b")
    plan = schedule._plan
    if schedule.always_open:
        return b_utc - a_utc
    try:
        if b_utc < a_utc:
            return -_between(plan, b_utc, a_utc)
        return _between(plan, a_utc, b_utc)
    except OverflowError:
        raise ValueError(f"cannot measure business time up to {max(a, b)}") from None


def subtract_business_time(end: datetime, duration: timedelta, schedule: Schedule) -> datetime:
    """The latest instant t <= end with `business_time_between(t, end) == duration`: the
    mirror of `add_business_time`, used for "warn an hour of business time before due"."""
    end_utc = _as_utc(end, "end")
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    plan = schedule._plan
    try:
        if schedule.always_open or not duration:
            return (end_utc - duration).replace(tzinfo=UTC)
        return _subtract(plan, end_utc, duration).replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError(f"{duration} of business time before {end} starts before year 1") from None


def _as_utc(moment: datetime, name: str) -> datetime:
    """`moment` as a naive UTC datetime, the form all arithmetic here is done in.

    Aware datetimes sharing a tzinfo add and subtract as wall-clock times, which is wrong
    across a DST change; naive UTC has no such trap.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.replace(tzinfo=UTC).astimezone(zone).date()


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class _Plan:
    """A validated schedule, in the form the walks need."""

    def __init__(self, zone, hours_by_weekday, makeup_hours, holidays, extra_workdays):
        self.zone = zone
        # Per weekday, (start, end) as timedeltas from local midnight.
        self.hours_by_weekday = hours_by_weekday
        self.makeup_hours = makeup_hours
        self.holidays = holidays
        self.extra_workdays = extra_workdays
        self.special_days = sorted(holidays | extra_workdays)
        self.week_open = sum(
            (end - start for hours in hours_by_weekday for start, end in hours), timedelta(0)
        )

    @classmethod
    def compile(cls, schedule: Schedule) -> _Plan:
        zone = _zone(schedule.time_zone)
        weekly = schedule.weekly
        if not isinstance(weekly, tuple) or len(weekly) != 7:
            raise ValueError(f"weekly needs 7 entries, Monday to Sunday, got {weekly!r}")
        hours_by_weekday = tuple(
            _day_hours(day_name, hours) for day_name, hours in zip(DAY_NAMES, weekly, strict=True)
        )
        for name in ("holidays", "extra_workdays"):
            for day in getattr(schedule, name):
                # A datetime is a date too, but never equal to one: it would silently not match.
                if not isinstance(day, date) or isinstance(day, datetime):
                    raise ValueError(f"{name} must hold dates, got {day!r}")
        both = schedule.holidays & schedule.extra_workdays
        if both:
            listed = ", ".join(str(day) for day in sorted(both))
            raise ValueError(f"{listed} cannot be both a holiday and an extra workday")
        makeup_hours = next((hours for hours in hours_by_weekday if hours), ())
        if not makeup_hours and not schedule.always_open:
            raise ValueError("the schedule has no working hours on any day of the week")
        return cls(zone, hours_by_weekday, makeup_hours, schedule.holidays, schedule.extra_workdays)

    def hours_on(self, day: date) -> tuple[tuple[timedelta, timedelta], ...]:
        if day in self.holidays:
            return ()
        hours = self.hours_by_weekday[day.weekday()]
        if not hours and day in self.extra_workdays:
            return self.makeup_hours
        return hours

    def offset_at_midnight(self, day: date) -> timedelta:
        return self.zone.utcoffset(_midnight(day))

    def periods_on(self, day: date, offset=None, next_offset=None) -> list[Period]:
        """The day's working periods as naive UTC, in order, none empty.

        `offset` and `next_offset` are the UTC offsets at this and the next local midnight,
        passed in by walks that already know them.
        """
        hours = self.hours_on(day)
        if not hours:
            return []
        if offset is None:
            offset = self.offset_at_midnight(day)
        if next_offset is None:
            next_offset = self.offset_at_midnight(day + _DAY)
        midnight = _midnight(day)
        if offset == next_offset:
            # No clock change today (no zone changes its offset and back within a day).
            base = midnight - offset
            return [(base + start, base + end) for start, end in hours]
        periods = []
        for start, end in hours:
            opens = self.first_instant_reading(midnight + start)
            closes = self.first_instant_reading(midnight + end)
            if closes > opens:
                periods.append((opens, closes))
        return periods

    def first_instant_reading(self, wall: datetime) -> datetime:
        """The first instant, as naive UTC, at which the local clock reads `wall` or later."""
        zone = self.zone
        before = zone.utcoffset(wall)
        after = zone.utcoffset(wall.replace(fold=1))
        if before >= after:
            # An ordinary wall time, or one the fall-back hour repeats: its first time.
            return wall - before
        # `wall` is in the spring-forward gap, so the clock passes it at the jump. Search for
        # the jump between an instant that reads earlier than `wall` and one that reads later.
        too_early, late_enough = wall - after, wall - before
        while late_enough - too_early > _MICROSECOND:
            middle = too_early + (late_enough - too_early) // 2
            reading = zone.fromutc(middle.replace(tzinfo=zone)).replace(tzinfo=None)
            if reading >= wall:
                late_enough = middle
            else:
                too_early = middle
        return late_enough

    def regular_weeks(self, monday: date, wanted: int) -> int:
        """How many of the `wanted` weeks from `monday` on can be skipped whole.

        A week is regular when no holiday or extra day falls in it and the UTC offset is the
        same at each of its local midnights: then every interval lasts its wall-clock length,
        the week holds exactly `week_open`, and it spans exactly seven real days. (Checking
        midnights only is enough because no zone changes its offset and back within one day;
        the shortest such round trip in tzdb, Freetown 1939, took four days.)
        """
        next_special = bisect.bisect_left(self.special_days, monday)
        if next_special < len(self.special_days):
            wanted = min(wanted, (self.special_days[next_special] - monday).days // 7)
        if wanted <= 0:
            return 0
        midnight = _midnight(monday)
        offset = self.zone.utcoffset(midnight)
        for days in range(1, 7 * wanted + 1):
            midnight += _DAY
            if self.zone.utcoffset(midnight) != offset:
                # Midnights 0..days-1 agree; a week needs all eight of its own.
                return (days - 1) // 7
        return wanted


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError(f"time_zone must be an IANA time zone name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _day_hours(day_name: str, hours) -> tuple[tuple[timedelta, timedelta], ...]:
    """Validate one day's intervals and return them as timedeltas, touching ones merged."""
    if not isinstance(hours, tuple):
        raise ValueError(f"{day_name}: hours must be a tuple of intervals, got {hours!r}")
    merged: list[list[int]] = []
    for interval in hours:
        if (
            not isinstance(interval, tuple)
            or len(interval) != 2
            or not all(type(minute) is int for minute in interval)
        ):
            raise ValueError(
                f"{day_name}: {interval!r} is not a (start_minute, end_minute) pair of ints"
            )
        start, end = interval
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(
                f"{day_name}: interval {start}-{end} must have 0 <= start < end <= 1440"
            )
        if merged and start < merged[-1][1]:
            previous = f"{_clock(merged[-1][0])}-{_clock(merged[-1][1])}"
            raise ValueError(
                f"{day_name}: {_clock(start)}-{_clock(end)} overlaps or comes before "
                f"{previous}; list a day's intervals in order without overlap"
            )
        if merged and start == merged[-1][1]:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return tuple((timedelta(minutes=start), timedelta(minutes=end)) for start, end in merged)


def _add(plan: _Plan, start: datetime, remaining: timedelta) -> datetime:
    start_day = day = last_open_day = _local_date(start, plan.zone)
    offset = plan.offset_at_midnight(day)
    while True:
        # Skip whole weeks, but leave some time over so the answer is the start or middle of
        # an interval in a later week, never the gap between a week's close and the next one.
        if day.weekday() == 0 and day > start_day and remaining > plan.week_open:
            weeks = plan.regular_weeks(day, (remaining - _MICROSECOND) // plan.week_open)
            if weeks:
                remaining -= weeks * plan.week_open
                day += weeks * _WEEK
                last_open_day = day
                offset = plan.offset_at_midnight(day)
                continue
        next_offset = plan.offset_at_midnight(day + _DAY)
        for opens, closes in plan.periods_on(day, offset, next_offset):
            if closes <= start:
                continue
            opens = max(opens, start)
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens
            last_open_day = day
        if (day - last_open_day).days > MAX_CLOSED_DAYS:
            raise ValueError(
                f"the schedule has no working time for ten years after {last_open_day}"
            )
        day += _DAY
        offset = next_offset


def _subtract(plan: _Plan, end: datetime, remaining: timedelta) -> datetime:
    # Day by day backwards: windows are short (a warning), so no week skipping is needed.
    # The day after end's local date comes first: after a fall-back across midnight,
    # end may lie in that day's first hour.
    day = last_open_day = _local_date(end, plan.zone) + _DAY
    while True:
        offset, next_offset = plan.offset_at_midnight(day), plan.offset_at_midnight(day + _DAY)
        for opens, closes in reversed(plan.periods_on(day, offset, next_offset)):
            if opens >= end:
                continue
            closes = min(closes, end)
            if closes - opens >= remaining:
                return closes - remaining
            remaining -= closes - opens
            last_open_day = day
        if (last_open_day - day).days > MAX_CLOSED_DAYS:
            raise ValueError(
                f"the schedule has no working time for ten years before {last_open_day}"
            )
        day -= _DAY


def _between(plan: _Plan, a: datetime, b: datetime) -> timedelta:
    total = timedelta(0)
    first_day = day = _local_date(a, plan.zone)
    # After a fall-back across midnight, b may lie in the next day's first hour.
    last_day = _local_date(b, plan.zone) + _DAY
    offset = plan.offset_at_midnight(day)
    while day <= last_day:
        if day.weekday() == 0 and day > first_day:
            # If the week turns out regular, its midnight is unambiguous and this is exact.
            real_midnight = _midnight(day) - offset
            weeks = plan.regular_weeks(day, (b - real_midnight) // _WEEK)
            if weeks:
                total += weeks * plan.week_open
                day += weeks * _WEEK
                offset = plan.offset_at_midnight(day)
                continue
        next_offset = plan.offset_at_midnight(day + _DAY)
        for opens, closes in plan.periods_on(day, offset, next_offset):
            if opens >= b:
                return total
            if closes > a:
                total += min(closes, b) - max(opens, a)
        day += _DAY
        offset = next_offset
    return total


def _print_timings() -> None:
    """Microseconds per add_business_time call, for the numbers quoted in reviews."""
    import timeit

    start = datetime(2025, 6, 9, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
    national_day = frozenset(date(2025, 10, day) for day in range(1, 9))
    schedules = {
        "Shanghai 9-18 Mon-Fri": Schedule.office_hours("Asia/Shanghai"),
        "Shanghai + National Day": Schedule.office_hours(
            "Asia/Shanghai",
            holidays=national_day,
            extra_workdays=frozenset({date(2025, 9, 28), date(2025, 10, 11)}),
        ),
        "Berlin 9-12,13-18 Mon-Fri": Schedule(
            "Europe/Berlin", weekly=(((540, 720), (780, 1080)),) * 5 + ((), ())
        ),
    }
    for label, schedule in schedules.items():
        schedule.validate()
        for hours in (48, 2000):
            duration = timedelta(hours=hours)
            calls, seconds = timeit.Timer(
                lambda s=schedule, d=duration: add_business_time(start, d, s)
            ).autorange()
            print(f"{label:28} {hours:5} h: {seconds / calls * 1e6:8.1f} µs per call")


if __name__ == "__main__":
    _print_timings()
