"""The policy's settings: each one the rules use, its value (given or its default), and the
rules with every setting replaced by its value."""

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from escalation_policy.calendar import HORIZON_DAYS
from escalation_policy.errors import PolicyDefinitionError, did_you_mean
from escalation_policy.periods import (
    END_OF_THAT_DAY,
    BusinessTime,
    EveryBusinessDays,
    Period,
    Rolling,
    TimesPerWeek,
    parse_duration,
    parse_period,
)
from escalation_policy.policy.locations import where
from escalation_policy.vocabulary import (
    Location,
    Obligation,
    Setting,
)

_DURATION = re.compile(r"^\s*(?:([0-9]+)d)?\s*(?:([0-9]+)h)?\s*(?:([0-9]+)m)?\s*$")


LONGEST_SETTING = dt.timedelta(days=HORIZON_DAYS)
"""The longest duration or period a setting may be given (a year, as far as a calendar looks
for open time): what an escalation waits for must fall due while it is followed, and the
policy must be able to schedule it for any fact it takes."""


def parse_setting(setting: Setting, value: object) -> object:
    """``value`` as a value of ``setting`` (a duration from a text such as ``"3d 12h"``), or a
    :class:`~escalation_policy.errors.PolicyDefinitionError` saying what was expected."""
    try:
        parsed = _parse_setting(setting, value)
        span = _span(parsed)
    except OverflowError:  # more days than a duration holds
        parsed, span = None, LONGEST_SETTING * 2
    if span is not None and span > LONGEST_SETTING:
        raise PolicyDefinitionError(
            f"setting {setting.name}: got {value!r}, expected at most {HORIZON_DAYS} days: "
            "the policy schedules what falls due within a year"
        )
    return parsed


def _span(value: object) -> dt.timedelta | None:
    """How long a setting's value (a duration, a business time or a period) asks to wait, as
    a duration (in open time for business time), if it is one of those."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, BusinessTime):
        return value.duration
    if isinstance(value, Rolling):
        return value.every
    if isinstance(value, TimesPerWeek):
        return dt.timedelta(weeks=value.weeks)
    if isinstance(value, EveryBusinessDays):
        return dt.timedelta(days=value.days)
    return None


def _parse_setting(setting: Setting, value: object) -> object:
    default = setting.default
    if isinstance(default, dt.timedelta):
        if isinstance(value, dt.timedelta):
            parsed = value
        elif isinstance(value, str) and (match := _DURATION.match(value)) and value.strip():
            days, hours, minutes = (int(part or 0) for part in match.groups())
            parsed = dt.timedelta(days=days, hours=hours, minutes=minutes)
        else:
            raise PolicyDefinitionError(
                f"setting {setting.name}: got {value!r}, expected a duration such as '2h', "
                "'3d 12h' or '90m'"
            )
        if parsed <= dt.timedelta(0):
            raise PolicyDefinitionError(
                f"setting {setting.name}: got {value!r}, expected a positive duration"
            )
        return parsed
    if isinstance(default, Period):
        if isinstance(value, (Period, dt.timedelta)):
            return value
        if isinstance(value, str):
            period = parse_period(value)
            if period is not None:
                return period
            if (every := parse_duration(value)) is not None:
                return every  # a rolling period of calendar time, as a duration gives
        raise PolicyDefinitionError(
            f"setting {setting.name}: got {value!r}, expected a period such as 'each business "
            "day', '2 per week', '1 per 2 weeks', 'every 3 business days', 'every 4h of "
            "business time' or a duration ('3d 12h')"
        )
    if isinstance(default, BusinessTime):
        if isinstance(value, BusinessTime):
            return value
        if isinstance(value, dt.timedelta) and value > dt.timedelta(0):
            return value  # a duration of calendar time, as a duration gives everywhere
        length, to_end_of_day = None, False
        if isinstance(value, str):
            text = value.strip().lower()
            if text.endswith(" of calendar time"):
                calendar_time = parse_duration(text.removesuffix(" of calendar time"))
                if calendar_time is not None:
                    return calendar_time
            to_end_of_day = text.endswith(END_OF_THAT_DAY)
            text = text.removesuffix(END_OF_THAT_DAY)
            length = parse_duration(text.removesuffix(" of business time"))
        if length is None or length <= dt.timedelta(0):
            raise PolicyDefinitionError(
                f"setting {setting.name}: got {value!r}, expected a positive duration of "
                "business time such as '2h' or '16h' (hours of open time; '1d' is 24 of them), "
                "and ', to the end of that day' if it ends there, or of calendar time ('2h of "
                "calendar time')"
            )
        return BusinessTime(length, to_end_of_day)
    if not isinstance(value, type(default)):
        raise PolicyDefinitionError(
            f"setting {setting.name}: got {value!r}, expected a {type(default).__name__}"
        )
    return value


_PLAIN = frozenset({str, int, bool, float, type(None), dt.timedelta})
"""Types of values that hold nothing inside (most of what a rule holds)."""


def walk(item: Any) -> Iterator[object]:
    """Every value inside a rule: its fields, mappings and tuples, depth first."""
    if type(item) in _PLAIN:
        return
    if isinstance(item, Setting):
        yield item
    elif isinstance(item, Mapping):
        for value in item.values():
            yield from walk(value)
    elif isinstance(item, (tuple, list)):
        for value in item:
            yield from walk(value)
    elif attrs.has(type(item)) and not isinstance(item, (Obligation, Location)):
        for field in attrs.fields(type(item)):
            yield from walk(getattr(item, field.name))


def chosen_settings(
    rules: Sequence[tuple[object, str]], given: dict[str, object]
) -> dict[str, tuple[Setting, object]]:
    """Each setting the rules use, and its value: the one given, else its default."""
    found: dict[str, Setting] = {}
    for rule, module in rules:
        for item in walk(rule):
            assert isinstance(item, Setting)
            known = found.get(item.name)
            if known is not None and known != item:
                raise PolicyDefinitionError(
                    f"two settings are named {item.name!r}, with other defaults or meanings",
                    module=module,
                    **where(item),
                )
            found[item.name] = item
    unknown = sorted(set(given) - set(found))
    if unknown:
        raise PolicyDefinitionError(
            f"no setting {unknown[0]!r}{did_you_mean(unknown[0], found)}; the policy's "
            f"settings are {', '.join(sorted(found)) or 'none'}"
        )
    return {
        name: (setting, parse_setting(setting, given[name]) if name in given else setting.default)
        for name, setting in found.items()
    }


def resolved(item: Any, chosen: Mapping[str, tuple[Setting, object]]) -> Any:
    """``item`` with every setting in it replaced by its value; where it was declared kept."""
    if isinstance(item, Setting):
        return chosen[item.name][1]
    if isinstance(item, Mapping):
        return {key: resolved(value, chosen) for key, value in item.items()}
    if isinstance(item, tuple):
        return tuple(resolved(value, chosen) for value in item)
    if not attrs.has(type(item)) or isinstance(item, (Obligation, Location)):
        return item
    changes = {}
    for field in attrs.fields(type(item)):
        value = getattr(item, field.name)
        if field.init and any(walk(value)):
            changes[field.name] = resolved(value, chosen)
    if not changes:
        return item
    copy = attrs.evolve(item, **changes)
    if hasattr(item, "defined_at"):
        object.__setattr__(copy, "defined_at", item.defined_at)
    return copy


def setting_places(
    tables: Sequence[tuple[Any, str]], reactions: Sequence[tuple[Any, str]]
) -> dict[tuple[str, str], str]:
    """Where the declared rules use a setting (see ``Policy.setting_places``): a table row's
    output, a ``Require``'s ``within`` or ``remind_before``."""
    places: dict[tuple[str, str], str] = {}
    for table, _ in tables:
        for row in table.rows:
            for output, value in row.then.items():
                if isinstance(value, Setting):
                    places[f"{table.id}/{row.id}", output] = value.name
    for reaction, _ in reactions:
        for index, effect in enumerate(reaction.then):
            for name in ("within", "remind_before"):
                value = getattr(effect, name, None)
                if isinstance(value, Setting):
                    places[reaction.id, f"{index}.{name}"] = value.name
    return places
