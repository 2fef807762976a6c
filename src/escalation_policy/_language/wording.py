"""Values as people read them: a value's wording, a duration, a time. For the outputs people
read, and for a policy's own actions, whose ``describe`` says what the host is to do."""

import datetime as dt
import enum

from escalation_policy.periods import BusinessTime, Period

__all__ = ["DetailFields", "duration", "label", "timestamp"]

DetailFields = tuple[tuple[str, bool], ...]
"""The names a violation's detail gives in braces, each with whether the fact holds it (else
the escalation does), in order: what the loader compiles of a ``Violation``'s ``detail``."""


def label(value: object) -> str:
    """A value as people read it: a value's wording (``Critical``), a duration (``3d 12h``),
    a period (``each business day``, ``2 per week``), a business time (``2h of business
    time``), the items of a tuple, ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, enum.Enum):
        return str(getattr(value, "label", value.value))
    if isinstance(value, dt.timedelta):
        return duration(value)
    if isinstance(value, Period):
        return value.text  # "each business day", "2 per week": as settings are written
    if isinstance(value, BusinessTime):
        return value.written(_open_time(value.duration))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return ", ".join(label(item) for item in value) or "-"
    return str(value)


def duration(value: dt.timedelta | None) -> str:
    """``3d 4h``, ``2h 30m``, ``45m``, ``0m``; ``-`` for none."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes and not days:
        parts.append(f"{minutes}m")
    return " ".join(parts) or "0m"


def _open_time(value: dt.timedelta) -> str:
    """A length of business time as :func:`duration` writes one, in hours and minutes: a
    day of it is 24 hours of open time (three business days of eight hours), never ``1d``."""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours}h"] if hours else []
    if minutes:
        parts.append(f"{minutes}m")
    return " ".join(parts) or "0m"


def timestamp(value: dt.datetime) -> str:
    """``2026-03-02 09:00 +00:00``: minutes, with the offset the host gave."""
    text = value.strftime("%Y-%m-%d %H:%M")
    offset = value.strftime("%z")
    return f"{text} {offset[:3]}:{offset[3:]}" if offset else text
