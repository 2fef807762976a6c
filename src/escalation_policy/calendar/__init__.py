"""Business calendars: when a team is open, and arithmetic on open time.

A :class:`Calendar` is policy data: a time zone, open hours for each weekday, holidays, partial
closures and extra open days, all written in the calendar's local wall time. Its arithmetic
takes and returns UTC instants, exact to the microsecond:

- :meth:`Calendar.add` says when a duration of open time has elapsed from an instant, and
  :meth:`Calendar.elapsed` how much open time lies between two instants; both may be given
  paused intervals, which count only where they overlap open time.
- :meth:`Calendar.end_of_business_day`, :meth:`Calendar.next_business_day_end` and
  :meth:`Calendar.week_end` give the cadences people recognise ("by the end of each business
  day", "every N business days", "each calendar week").

**Local times to instants.** A local time on a local date names the first instant at which
the calendar's wall clock reads that time or later. A time that exists once is that instant;
a time skipped by a change of offset (a DST gap) is the instant the clock skips to, the end of
the gap; a time shown twice (a DST fold) is its first occurrence. ``24:00`` is the next date's
``00:00``, and a date's bounds are its ``00:00`` and the next date's ``00:00`` under the same
rule, so a date whose midnight does not exist still starts and ends somewhere.

**Zone data.** Zones are read from the ``tzdata`` package (a dependency) rather than from the
host, so that every host with the same ``tzdata`` version computes the same instants; a zone
it lacks is read from the host. :attr:`Calendar.zone_data` records which data was used.

The module does no I/O but reading zone data, and has no clock: time arrives as arguments.
"""

from escalation_policy.calendar._calendar import Calendar
from escalation_policy.calendar._declaring import (
    FRIDAY,
    HORIZON_DAYS,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    GeneratedHolidays,
    Holiday,
    HolidaySource,
    Weekday,
    Window,
    zone_data,
)
from escalation_policy.calendar._holidays import holidays_from

__all__ = [
    "FRIDAY",
    "HORIZON_DAYS",
    "MONDAY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "Calendar",
    "GeneratedHolidays",
    "Holiday",
    "HolidaySource",
    "Weekday",
    "Window",
    "holidays_from",
    "zone_data",
]
