"""The handbook's policy as a host would write it by hand: the baseline ``handle()`` is held to.

An independent, plain-Python implementation of what ``PolicyEngine.handle`` does with the
handbook's policy, written from docs/rules.md and docs/policy-decisions.md: dictionaries and
slotted objects, straight-line code for each fact type, its own business-time arithmetic (the
policy's calendar: Monday to Friday, 09:00 to 17:00, in UTC or the customer's time zone), its
own obligations kept per escalation and its own queue of what falls due next. Like the floor
in ``decision.py`` it reads its lookup tables (rows, rule ids, citations, limits, texts) from
the loaded policy, so that it cannot drift from it silently; its logic is its own. ``run.py``
cross-checks it action for action against the library before anything is timed.

``Host.handle(fact)`` takes a fact object and returns the actions as JSON objects (dicts);
``Host.handle_line(line)`` takes a JSON line and returns the JSON lines of the actions.

What it does not do, and the workloads never ask: posts about an escalation the engine does
not know (the policy holds them an hour for their opening; here they raise
``Unsupported``), input errors (a host that validates its facts, as the library does, pays
for it; this one trusts them), reminders and escalation tiers (the handbook's policy has
none), snapshots.
"""

import datetime as dt
import heapq
import json
import math
import zoneinfo
from typing import Any

from escalation_policy import Policy, default_policy
from escalation_policy.rules import communication as _communication
from escalation_policy.vocabulary import ANY, EachBusinessDay, OneOf, TimesPerWeek

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
MICROSECOND = dt.timedelta(microseconds=1)
HIGH = ("critical", "high")
ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
PARTS = ("meeting", "customer_communication")  # the cadence's, in the order its facts count


class Unsupported(Exception):
    """A fact this host does not implement (see the module's description)."""


# --------------------------------------------------------------------------- business time
class Hours:
    """The policy's business days in one time zone: weekdays, ``opens`` to ``closes``."""

    __slots__ = ("closes", "ends", "midnights", "opens", "tz")

    def __init__(self, zone: str | None, opens: dt.time, closes: dt.time) -> None:
        self.tz: dt.tzinfo = UTC if zone is None else zoneinfo.ZoneInfo(zone)
        self.opens, self.closes = opens, closes
        self.ends: dict[dt.date, dt.datetime] = {}
        self.midnights: dict[dt.date, dt.datetime] = {}

    def at(self, day: dt.date, wall: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, wall, self.tz).astimezone(UTC)

    def date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()

    def close(self, day: dt.date) -> dt.datetime:
        found = self.ends.get(day)
        if found is None:
            found = self.ends[day] = self.at(day, self.closes)
        return found

    def add(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """When ``amount`` of open time has passed since ``start``."""
        day = self.date(start)
        while True:
            if day.weekday() < 5:
                opens, closes = self.at(day, self.opens), self.close(day)
                begin = start if start > opens else opens
                if begin < closes:
                    if begin + amount <= closes:
                        return begin + amount
                    amount -= closes - begin
            day += DAY

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """The open time between ``start`` and ``end``."""
        total, day = dt.timedelta(0), self.date(start)
        while True:
            opens = self.at(day, self.opens)
            if opens >= end:
                return total
            if day.weekday() < 5:
                begin, finish = max(start, opens), min(end, self.close(day))
                if finish > begin:
                    total += finish - begin
            day += DAY

    def next_day_end(self, day: dt.date) -> dt.datetime:
        """The end of the business day after the local date ``day``: the instant its own date
        ends, so what is done on it counts toward it at any hour."""
        day += DAY
        while day.weekday() >= 5:
            day += DAY
        found = self.midnights.get(day)
        if found is None:
            found = self.midnights[day] = self.at(day + DAY, dt.time())
        return found

    def monday_after(self, instant: dt.datetime) -> dt.datetime:
        day = self.date(instant)
        return self.at(day + dt.timedelta(days=7 - day.weekday()), dt.time())


# --------------------------------------------------------------------------------- periods
# A period is ("day",) for each business day, or ("week", times, weeks); a bucket is
# (due, since, required).
def first_bucket(
    period: tuple[Any, ...], hours: Hours, start: dt.datetime, rounded: Any = math.ceil
) -> tuple[Any, ...]:
    if period[0] == "day":
        day = hours.date(start)
        return hours.next_day_end(day), hours.at(day + DAY, dt.time()), 1
    _, times, weeks = period
    due = start
    # a run of several weeks started after its Monday runs a week longer
    for _ in range(weeks + 1 if weeks > 1 and hours.date(start).weekday() else weeks):
        due = hours.monday_after(due)
    monday = hours.date(start)
    monday -= dt.timedelta(days=monday.weekday())
    last = hours.date(due) - DAY
    total = sum(1 for n in range((last - monday).days + 1) if (monday + n * DAY).weekday() < 5)
    after = hours.date(start) + DAY
    left = sum(1 for n in range((last - after).days + 1) if (after + n * DAY).weekday() < 5)
    required = min(times, rounded(times * left / (5 * weeks))) if total else 0
    if not required:
        return next_bucket(period, hours, due)
    if weeks > 1 and hours.date(start).weekday():  # counted from the week after the start's
        return due, hours.at(monday + dt.timedelta(days=7), dt.time()), required
    return due, start, required


def per_week(period: tuple[Any, ...] | None) -> float:
    """About how many times a week a period asks (the library's ``Period.per_week``)."""
    assert period is not None
    return 5.0 if period[0] == "day" else period[1] / period[2]


def next_bucket(period: tuple[Any, ...], hours: Hours, due: dt.datetime) -> tuple[Any, ...]:
    """The bucket after the one due at ``due``."""
    if period[0] == "day":
        return hours.next_day_end(hours.date(due - MICROSECOND)), due, 1
    _, times, weeks = period
    end = due
    for _ in range(weeks):
        end = hours.monday_after(end)
    return end, due, times  # every run of weeks has weekdays: the policy's calendar has no holidays


def after_wait(hours: Hours, item: Any, start: dt.datetime, end: dt.datetime) -> None:
    """A period once the escalation waited from ``start`` to ``end`` within it: the open time
    waited added up, and what it asks, in full less the share the time waited makes, rounded
    half up."""
    whole = hours.elapsed(item.since, item.due)
    waited = (item.waited or dt.timedelta(0)) + hours.elapsed(start, end)
    full = item.required if item.full is None else item.full
    relieved = math.floor(full * (min(waited, whole) / whole) + 0.5) if whole else 0
    item.required, item.waited, item.full = full - relieved, waited, full


# ----------------------------------------------------------------------------- obligations
class Due:
    """One thing an escalation owes: a one-off (``period`` None) or a period's bucket."""

    __slots__ = ("counts", "due", "full", "kept", "key", "kind", "overdue", "paused", "period",
                 "required", "rule", "since", "waited")  # fmt: skip

    def __init__(self, kind: str, key: str | None, due: dt.datetime, rule: str) -> None:
        self.kind, self.key, self.due, self.rule = kind, key, due, rule
        self.period: tuple[Any, ...] | None = None
        self.since: dt.datetime | None = None
        self.required = 1
        self.counts = [0, 0]
        self.kept = False
        """The period before was met (the library's counts of zeros)."""
        self.overdue = False
        self.paused = False
        self.waited: dt.timedelta | None = None
        """The open time of its period waited on the customer, once a wait took some."""
        self.full: int | None = None
        """What its period asked before waits relieved it."""

    def set_bucket(self, due: dt.datetime, since: dt.datetime, required: int) -> None:
        """A period of its own: nothing waited in it yet."""
        self.due, self.since, self.required = due, since, required
        self.waited = self.full = None


class Escalation:
    __slots__ = ("broad", "cadence", "changed_at", "clock", "customer", "due", "early",
                 "engagement", "hours", "id", "in_scope", "informed", "initiated_by",
                 "involvement", "issue_type", "keep_until", "next_due", "opened_by", "opened_on",
                 "owner", "paused", "severity", "status", "tam")  # fmt: skip

    def __init__(self, escalation_id: str) -> None:
        self.id = escalation_id
        self.due: list[Due] = []
        self.owner: str | None = None
        self.cadence: str | None = None
        self.involvement: tuple[str, ...] = ()
        self.informed: tuple[str, ...] = ()  # every TAM told, once
        self.paused: dt.datetime | None = None  # when the wait on the customer began
        self.keep_until: dt.datetime | None = None
        self.next_due: dt.datetime | None = None
        self.status = "active"
        self.early: dict[tuple[str, str | None], dt.datetime] | None = None
        """Work that met nothing when done, by what it would have met, for an hour."""
        self.changed_at: dt.datetime | None = None  # when the severity last changed
        self.engagement: tuple[object, object] | None = None  # the status and its milestones

    def refresh(self) -> None:
        times = [d.due for d in self.due if not d.overdue and not d.paused]
        if self.keep_until is not None:
            times.append(self.keep_until)
        self.next_due = min(times) if times else None

    def find(self, kind: str, key: str | None = None) -> Due | None:
        for item in self.due:
            if item.kind == kind and (key is None or item.key == key):
                return item
        return None

    def drop(self, *kinds: str) -> None:
        self.due = [d for d in self.due if d.kind not in kinds]


# ------------------------------------------------------------------------ from the policy
def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _row(policy: Policy, table_id: str, **values: object) -> tuple[Any, str]:
    table = policy.table(table_id)
    row = next(r for r in table.rows if all(_fits(r.when[k], v) for k, v in values.items()))
    return row, f"{table_id}/{row.id}"


def _fits(cell: Any, value: object) -> bool:
    if cell is ANY:
        return True
    if isinstance(cell, OneOf):
        return value in [_value(v) for v in cell.values]
    return bool(_value(cell) == value)


def _period(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if isinstance(value, EachBusinessDay):
        return ("day",)
    if isinstance(value, TimesPerWeek):
        return ("week", value.times, value.weeks)
    raise Unsupported(f"a period this host does not count: {value!r}")


class Tables:
    """What the host looks up, read once from the loaded policy."""

    def __init__(self, policy: Policy) -> None:
        rules = policy.rules
        self.cites = {name: info.cites for name, info in rules.items()}
        self.scope: dict[tuple[bool, str, bool], str | None] = {}
        for broad in (False, True):
            for segment in ("enterprise", "commercial", "smb"):
                for partnership in (False, True):
                    row = next(
                        r for r in policy.table("scope.customers").rows
                        if _fits(r.when["broad_impact"], broad)
                        and _fits(r.when["segment"], segment)
                        and _fits(r.when["strategic_partnership"], partnership)
                    )  # fmt: skip
                    reason = None if row.then["in_scope"] else row.then["out_of_scope_reason"]
                    self.scope[broad, segment, partnership] = reason
        self.owner: dict[tuple[str, bool], tuple[str, str]] = {}
        self.levels: dict[str, tuple[str, tuple[str, ...], str]] = {}
        self.cadence_every: dict[str, tuple[tuple[Any, ...] | None, str]] = {}
        self.update_every: dict[str, tuple[tuple[Any, ...] | None, str]] = {}
        for severity in ORDER:
            for tam in (False, True):
                row = next(
                    r for r in policy.table("responsibilities.owner").rows
                    if _fits(r.when["severity"], severity)
                    and (r.when["tam"] is ANY or (r.when["tam"] is None) is not tam)
                )  # fmt: skip
                row_id = f"responsibilities.owner/{row.id}"
                self.owner[severity, tam] = (_value(row.then["owner"]), row_id)
            row, row_id = _row(policy, "severity.levels", severity=severity)
            cadence = _value(row.then["cadence"])
            roles = tuple(_value(role) for role in row.then["involvement"])
            self.levels[severity] = (cadence, roles, row_id)
            every, every_id = _row(policy, "severity.cadence", cadence=cadence)
            self.cadence_every[severity] = (_period(every.then["cadence_every"]), every_id)
            update, update_id = _row(policy, "communication.updates", severity=severity)
            self.update_every[severity] = (_period(update.then["update_every"]), update_id)
        self.extra: dict[str, tuple[str, ...]] = {}
        for row in policy.table("severity.issue_type_involvement").rows:
            self.extra[row.when["issue_type"]] = tuple(
                _value(role) for role in row.then["extra_involvement"]
            )
        self.within: dict[str, dt.timedelta] = {}
        self.to_day_end: set[str] = set()  # due by the end of the day the open time ends on
        self.emit: dict[str, dict[str, Any]] = {}
        for compiled in policy.reactions:
            for effect in compiled.reaction.then:
                within = getattr(effect, "within", None)
                if within is not None:
                    self.within[compiled.reaction.id] = within.duration
                    if within.to_end_of_day:
                        self.to_day_end.add(compiled.reaction.id)
                if type(effect).__name__ == "Emit":
                    values = {k: _value(v) for k, v in effect.values.items()}
                    values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
                    self.emit[compiled.reaction.id] = {**values, "text": dict(effect.text)}
        self.details = {
            compiled.reaction.id: effect.detail
            for compiled in policy.reactions
            for effect in compiled.reaction.then
            if isinstance(getattr(effect, "detail", None), str)
        }
        self.missed = {name: o.obligation.missed for name, o in policy.obligations.items()}
        self.violation = {name: _value(o.violation) for name, o in policy.obligations.items()}
        self.channel = policy.channel or ""
        self.channel_key = self.channel.lstrip("#").casefold()
        calendar = policy.calendars.default if policy.calendars is not None else None
        assert calendar is not None
        window = calendar.hours[0][0]
        self.opens = (dt.datetime.min + dt.timedelta(seconds=window.start)).time()
        self.closes = (dt.datetime.min + dt.timedelta(seconds=window.end)).time()
        self.initiators = {
            (team.value, severity.value)
            for team, severities in _communication.INITIATORS_WHO_POST.items()
            for severity in severities
        }
        self.part_of = {k.value: v.value for k, v in _communication.PART_OF.items()}
        self.corrected_within = _communication.CORRECTED_WITHIN
        # How long work done before an obligation is required counts for it: open time or
        # calendar time, as the policy says.
        # The raise's update is this host's channel post "update", with a grace of its own.
        graces = {name: o.early_grace for name, o in policy.obligations.items() if o.early_grace}
        self.early_grace: dict[str, Any] = {
            "channel_post": graces["channel_post"],
            "update": graces["raise_update"],
            "inform_tam": graces["inform_tam"],
            "executive_summary": graces["executive_summary"],
        }
        assert graces["risk_reduced_post"] == graces["channel_post"]
        self.opening_grace = policy.opening_grace
        self.keep_late = policy.late_fulfilment_window
        self.director = _value(
            next(
                e for r in policy.reactions if r.reaction.id.endswith("account_issues_without_tam")
                for e in r.reaction.then
            ).values["role"]
        )  # fmt: skip


# ------------------------------------------------------------------------------ the host
FIELDS = {
    "opened": ("customer", "segment", "severity", "strategic_partnership", "broad_impact",
               "initiated_by", "opened_by", "tam", "issue_type", "time_zone"),
    "severity_changed": ("severity",),
    "tam_assigned": ("tam",),
    "posted": ("channel", "purpose", "by", "url"),
    "meeting_held": ("audience",),
    "account_issue": ("kind",),
    "issue_type_changed": ("issue_type",),
    "status_changed": ("status", "milestones"),
}  # fmt: skip
"""The fields of a fact object the host reads, by fact type."""


class Host:
    """The escalations a host holds, and what it does with each fact."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.t = Tables(policy or default_policy())
        self.open: dict[str, Escalation] = {}
        self.queue: list[tuple[dt.datetime, str]] = []
        self.hours: dict[str | None, Hours] = {}

    def __len__(self) -> int:
        return len(self.open)

    # ------------------------------------------------------------------------ entry points
    def handle(self, fact: Any) -> list[dict[str, Any]]:
        """A fact object in, the actions' JSON objects out."""
        kind = fact.TYPE
        names = FIELDS.get(kind, ())
        fields = {name: _value(getattr(fact, name)) for name in names}
        if kind == "tick":
            return self.tick(fact.at)
        return self.fact(kind, fact.at, fact.escalation_id, fields)

    def handle_line(self, line: str) -> list[str]:
        """A fact's JSON line in, the actions' JSON lines out."""
        body = json.loads(line)
        text = body["at"]
        at = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        at = at.astimezone(UTC)
        kind = body["type"]
        if kind == "tick":
            actions = self.tick(at)
        else:
            actions = self.fact(kind, at, body["escalation_id"], body)
        return [json.dumps(action) for action in actions]

    def tick(self, at: dt.datetime) -> list[dict[str, Any]]:
        return self.pass_time(at, None)

    # --------------------------------------------------------------------------- time
    def pass_time(self, to: dt.datetime, skip: str | None) -> list[dict[str, Any]]:
        queue = self.queue
        actions: list[dict[str, Any]] = []
        aside = []
        while queue and queue[0][0] < to:
            entry = heapq.heappop(queue)
            due, escalation_id = entry
            escalation = self.open.get(escalation_id)
            if escalation is None or escalation.next_due != due:
                continue
            if escalation_id == skip:
                aside.append(entry)
                continue
            actions += self.advance(escalation, to)
            if self.settled(escalation):
                del self.open[escalation_id]
            elif escalation.next_due is not None:
                heapq.heappush(queue, (escalation.next_due, escalation_id))
        for entry in aside:
            heapq.heappush(queue, entry)
        return actions

    def settled(self, escalation: Escalation) -> bool:
        if escalation.status != "closed" or any(not d.overdue for d in escalation.due):
            return False
        keep = escalation.keep_until
        return not escalation.due or (keep is not None and escalation.clock >= keep)

    def advance(self, escalation: Escalation, to: dt.datetime) -> list[dict[str, Any]]:
        """What fell due unmet before ``to``, reported once; periods move on."""
        if escalation.next_due is None or escalation.next_due >= to:
            return []
        late = sorted(
            ((d.due, n) for n, d in enumerate(escalation.due)
             if not d.overdue and not d.paused and d.due < to)
        )  # fmt: skip
        actions = []
        announce = []
        due = escalation.due
        # The raise's update due with one of the daily updates missed before ``to``: one
        # post, reported as the daily updates.
        spans = []
        for _, n in late:
            if due[n].kind == "channel_update":
                first = last = due[n].due
                bucket = next_bucket(due[n].period, escalation.hours, first)
                while bucket[0] < to:
                    last, bucket = (
                        bucket[0],
                        next_bucket(due[n].period, escalation.hours, bucket[0]),
                    )
                spans.append((first, last))
        for _, n in late:
            item = due[n]
            if item.period is None:
                if not (
                    item.kind == "channel_post"
                    and item.key == "update"
                    and any(first <= item.due <= last for first, last in spans)
                ):
                    actions.append(self.violation(escalation, item, to, item.due.isoformat()))
                item.overdue = True
                continue
            hours = escalation.hours
            periods, last, bucket = 1, item.due, next_bucket(item.period, hours, item.due)
            while bucket[0] < to:
                periods, last = periods + 1, bucket[0]
                bucket = next_bucket(item.period, escalation.hours, bucket[0])
            text = item.due.isoformat()
            if periods > 1:
                later = (
                    "the next due time," if periods == 2
                    else f"any of the {periods - 1} later due times to"
                )  # fmt: skip
                text = f"{text} nor by {later} {last.isoformat()}"
            action = self.violation(escalation, item, to, text)
            if periods > 1:
                action["periods"] = periods
                action["last_due"] = last.isoformat()
            actions.append(action)
            item.set_bucket(*bucket)
            item.counts = [0, 0]
            item.kept = False
            if item.kind == "channel_update":
                announce.append(item)
        for item in announce:
            actions.append(self.post_due(escalation, item, to, "update"))
        if escalation.status == "closed" and escalation.keep_until is None:
            overdue = [d.due for d in escalation.due if d.overdue]
            if overdue:
                escalation.keep_until = max(overdue) + self.t.keep_late
        if to > escalation.clock:
            escalation.clock = to
        escalation.refresh()
        return actions

    def violation(
        self, escalation: Escalation, item: Due, at: dt.datetime, due: str
    ) -> dict[str, Any]:
        t = self.t
        kind = item.kind
        fields = {"due": due, "missing": ""}
        if kind == "cadence":
            required = item.required
            missing = []
            for part, count in zip(PARTS, item.counts, strict=True):
                if count < required:
                    words = part.replace("_", " ")
                    missing.append(f"{words} {count} of {required}" if required > 1 else words)
            fields["missing"] = " and ".join(missing)
        elif kind == "inform_tam":
            fields["tam"] = item.key or ""
        elif kind == "channel_post":
            fields["reason"] = item.key or ""
        return {
            "type": "violation",
            "escalation_id": escalation.id,
            "at": at.isoformat(),
            "rule": item.rule,
            "cites": t.cites[item.rule],
            "code": t.violation[kind],
            "detail": t.missed[kind].format(**fields),
            "due": item.due.isoformat(),
        }

    # ----------------------------------------------------------------------- one fact
    def fact(
        self, kind: str, at: dt.datetime, escalation_id: str, f: dict[str, Any]
    ) -> list[dict[str, Any]]:
        others = self.pass_time(at, escalation_id)
        escalation = self.open.get(escalation_id)
        before = escalation.next_due if escalation is not None else None
        earlier: list[dict[str, Any]] = []
        if escalation is not None and escalation.next_due is not None and escalation.next_due < at:
            earlier = self.advance(escalation, at)
            if self.settled(escalation):
                del self.open[escalation_id]
                escalation = None
                before = None
        if kind == "opened":
            escalation = Escalation(escalation_id)
            own = self.opened(escalation, at, f)
        elif escalation is None:
            raise Unsupported(f"a {kind!r} fact about {escalation_id!r}, which is not open")
        else:
            own = self.apply(escalation, kind, at, f)
        if earlier:
            if kind != "opened":  # a next update announced, then cancelled by this fact
                earlier = [a for a in earlier if self.still_due(escalation, a)]
            own[:0] = earlier
        escalation.refresh()
        if escalation.status == "closed" and self.settled(escalation):
            self.open.pop(escalation_id, None)
        else:
            self.open[escalation_id] = escalation
            if escalation.next_due is not None and escalation.next_due != before:
                heapq.heappush(self.queue, (escalation.next_due, escalation_id))
        if len(self.queue) > 2 * len(self.open) + 1024:
            self.queue = [(e.next_due, k) for k, e in self.open.items() if e.next_due is not None]
            heapq.heapify(self.queue)
        return others + own if others else own

    def still_due(self, escalation: Escalation, action: dict[str, Any]) -> bool:
        if action["type"] != "post_to_channel":
            return True
        return any(
            d.kind == "channel_update" and d.due.isoformat() == action["due"]
            for d in escalation.due
        )

    def common(self, escalation: Escalation, at: dt.datetime, rule: str) -> dict[str, Any]:
        return {
            "escalation_id": escalation.id,
            "at": at.isoformat(),
            "rule": rule,
            "cites": self.t.cites[rule],
        }

    def post_due(
        self, escalation: Escalation, item: Due, at: dt.datetime, reason: str
    ) -> dict[str, Any]:
        return {
            "type": "post_to_channel",
            **self.common(escalation, at, item.rule),
            "channel": self.t.channel,
            "by": escalation.owner,
            "reason": reason,
            "due": item.due.isoformat(),
        }

    def announce(self, escalation: Escalation, item: Due, at: dt.datetime) -> dict[str, Any]:
        kind = item.kind
        if kind == "channel_post":
            return self.post_due(escalation, item, at, item.key or "")
        if kind == "channel_update":
            return self.post_due(escalation, item, at, "update")
        if kind == "inform_tam":
            return {"type": "inform_tam", **self.common(escalation, at, item.rule),
                    "tam": item.key, "due": item.due.isoformat()}  # fmt: skip
        return {"type": "update_executive_summary", **self.common(escalation, at, item.rule),
                "due": item.due.isoformat()}  # fmt: skip

    # ------------------------------------------------------------------ the obligations
    def require(
        self,
        escalation: Escalation,
        kind: str,
        key: str | None,
        rule: str,
        at: dt.datetime,
        actions: list[dict[str, Any]],
        announced: list[tuple[str, str | None, dt.datetime]],
        announce: bool = True,
    ) -> None:
        """A one-off, due within the rule's business time; kept if one is pending."""
        current = escalation.find(kind, None if kind == "inform_tam" else key)
        if current is not None:
            if current.key == key and not (kind == "executive_summary" and current.overdue):
                return
            escalation.due.remove(current)
        if kind == "inform_tam" and key in escalation.informed:
            return  # told before (a TAM back from a cover): replaces one not told, owes nothing
        early = escalation.early
        if early and self.met_early(escalation, early, kind, key, at):
            return
        hours = escalation.hours
        due = hours.add(at, self.t.within[rule])
        if rule in self.t.to_day_end:
            due = hours.at(hours.date(due) + DAY, dt.time())
        item = Due(kind, key, due, rule)
        escalation.due.append(item)
        if announce:
            announced.append((kind, key, item.due))
            actions.append(self.announce(escalation, item, at))

    def met_early(
        self,
        escalation: Escalation,
        early: dict[tuple[str, str | None], dt.datetime],
        kind: str,
        key: str | None,
        at: dt.datetime,
    ) -> bool:
        """Whether work done within the grace before meets a one-off required now."""
        if kind == "channel_post" and key == "created":
            return False  # a created post is required at the opening, before any work
        for (done_kind, done_key), done_at in early.items():
            if (
                done_kind == kind
                and done_key in (None, key)
                and self.within_grace(escalation, kind, done_key, done_at, at)
            ):
                if done_key is None and key is not None:  # now for the instance it met
                    del early[done_kind, done_key]
                    early[done_kind, key] = done_at
                if kind == "inform_tam" and key not in escalation.informed:
                    escalation.informed += (key,)
                return True
        return False

    def within_grace(
        self,
        escalation: Escalation,
        kind: str,
        key: str | None,
        done_at: dt.datetime,
        at: dt.datetime,
    ) -> bool:
        grace = self.t.early_grace["update" if key == "update" else kind]
        if isinstance(grace, dt.timedelta):
            return at - done_at <= grace
        if at - done_at <= grace.duration:
            return True
        return escalation.hours.elapsed(done_at, at) <= grace.duration

    def tam_knows(self, escalation: Escalation, at: dt.datetime) -> None:
        """The TAM owns the escalation: no informing is owed, now or later."""
        escalation.drop("inform_tam")
        tam = escalation.tam
        if tam is not None and tam not in escalation.informed:
            escalation.informed += (tam,)
            self.forget(escalation, "inform_tam")

    def told(self, escalation: Escalation, at: dt.datetime) -> None:
        """The TAM knows of the escalation (told, or posted about it)."""
        item = escalation.find("inform_tam")
        done = item.key if item is not None else escalation.tam
        told = escalation.informed
        if done is not None and done not in told:
            escalation.informed = (*told, done)
        if item is not None:
            escalation.due.remove(item)
        elif escalation.tam is None or escalation.tam in told:  # for the next TAM
            self.remember(escalation, "inform_tam", None, at)
        else:  # the TAM named now is told for good: only earlier work goes
            self.forget(escalation, "inform_tam")

    def forget(self, escalation: Escalation, kind: str) -> None:
        """Work kept for the TAM's informing goes (of the TAM's, only the latest counts)."""
        if escalation.early and any(done_kind == kind for done_kind, _ in escalation.early):
            escalation.early = {k: v for k, v in escalation.early.items() if k[0] != kind}

    def remember(self, escalation: Escalation, kind: str, key: str | None, at: dt.datetime) -> None:
        """Keep work that met nothing for the grace: an obligation required soon may count it
        (of the TAM's, only the latest: it is for the TAM assigned then)."""
        early = {
            (done_kind, done_key): done
            for (done_kind, done_key), done in (escalation.early or {}).items()
            if not (done_kind == kind and (done_key == key or kind == "inform_tam"))
        }
        early[kind, key] = at
        escalation.early = early

    def schedule(
        self,
        escalation: Escalation,
        kind: str,
        plan: tuple[tuple[Any, ...] | None, str],
        at: dt.datetime,
        actions: list[dict[str, Any]],
        announced: list[tuple[str, str | None, dt.datetime]],
    ) -> None:
        """A periodic obligation kept, started, re-planned or stopped."""
        period, rule = plan
        if escalation.status != "active":
            period = None
        current = escalation.find(kind)
        if period is None:
            if current is not None:
                escalation.due.remove(current)
            return
        if current is not None and current.period == period:
            return
        item = Due(kind, None, at, rule)
        item.period = period
        hours = escalation.hours
        item.set_bucket(*first_bucket(period, hours, at))
        if current is not None:
            self.carry(escalation, period, item, current, at)
        item.paused = kind == "cadence" and escalation.paused is not None
        if current is None:
            escalation.due.append(item)
        else:
            escalation.due[escalation.due.index(current)] = item
        if kind == "channel_update":
            announced.append((kind, None, item.due))
            actions.append(self.announce(escalation, item, at))

    @staticmethod
    def carry(
        escalation: Escalation, period: tuple[Any, ...], item: Due, current: Due, at: dt.datetime
    ) -> None:
        """A cadence changed mid-week keeps the week's meetings: a stricter cadence kept until
        the change leaves the new one its share of the days left rounded down; what
        ``current`` counted in the run ``item`` (a first bucket) belongs to counts."""
        hours = escalation.hours
        since = current.since
        if period[0] == "day":
            start = item.since
        else:
            monday = hours.date(item.since)
            start = hours.at(monday - dt.timedelta(days=monday.weekday()), dt.time())
        if since is None:
            return
        if current.kept and not any(current.counts):
            if current.overdue or since <= start:
                return
            lighter = per_week(period) <= per_week(current.period)
            if hours.date(at) != escalation.opened_on and lighter:
                item.set_bucket(*first_bucket(period, hours, at, math.floor))
            item.kept = True
            return
        if not any(current.counts) or not start <= since <= at:
            return
        counts = list(current.counts)
        if min(counts) >= item.required:
            item.set_bucket(*next_bucket(period, hours, item.due))
            item.kept = True
        else:
            item.counts = counts

    def fulfil_part(
        self,
        escalation: Escalation,
        item: Due | None,
        part: int,
        at: dt.datetime,
        actions: list[dict[str, Any]],
    ) -> None:
        """A meeting (part 0) or communication to the customer (1) toward the cadence."""
        if item is not None and item.paused and item.due <= at:  # counted in its own period
            paused_at = escalation.paused
            assert paused_at is not None
            self.waited_through(escalation, item, paused_at, at, actions)
        if item is None or (item.since is not None and at < item.since):
            return
        item.counts[part] += 1
        if min(item.counts) >= item.required:
            period: tuple[Any, ...] = item.period  # type: ignore[assignment]
            item.set_bucket(*next_bucket(period, escalation.hours, item.due))
            item.counts = [0, 0]
            item.kept = True

    def responded(
        self, escalation: Escalation, at: dt.datetime, actions: list[dict[str, Any]]
    ) -> None:
        """The wait on the customer ends: the cadence's clock runs again."""
        if escalation.paused is not None:
            paused_at, escalation.paused = escalation.paused, None
            for item in escalation.due:
                if item.paused:
                    item.paused = False
                    self.resume(escalation, item, paused_at, at, actions)

    def resume(
        self,
        escalation: Escalation,
        item: Due,
        paused_at: dt.datetime,
        at: dt.datetime,
        actions: list[dict[str, Any]],
    ) -> None:
        """The cadence's period when the wait that began at ``paused_at`` ends at ``at``: a
        wait relieves a period only of the open time it took, in proportion."""
        hours = escalation.hours
        if at <= item.since or not hours.elapsed(paused_at, at):
            return
        if item.due <= at:
            self.waited_through(escalation, item, paused_at, at, actions)
        after_wait(hours, item, max(paused_at, item.since), at)
        if min(item.counts) >= item.required:  # all it now asks is done
            item.set_bucket(*next_bucket(item.period, hours, item.due))
            item.counts = [0, 0]
            item.kept = True

    def waited_through(
        self,
        escalation: Escalation,
        item: Due,
        paused_at: dt.datetime,
        to: dt.datetime,
        actions: list[dict[str, Any]],
    ) -> None:
        """A paused period that ended during the wait: reported if short of what it asks for
        its open time not waited; the periods the wait took whole excused."""
        hours, period = escalation.hours, item.period
        after_wait(hours, item, max(paused_at, item.since), item.due)
        if min(item.counts) < item.required:
            actions.append(self.violation(escalation, item, to, item.due.isoformat()))
        following = next_bucket(period, hours, item.due)
        while following[0] <= to:
            following = next_bucket(period, hours, following[0])
        item.set_bucket(*following)
        item.counts = [0, 0]
        item.kept = False

    # ------------------------------------------------------------------------ the plan
    def plan(
        self,
        escalation: Escalation,
        at: dt.datetime,
        actions: list[dict[str, Any]],
    ) -> bool:
        """Owner, involvement and cadence of the escalation as it now is; whether the owner
        changed."""
        t = self.t
        severity = escalation.severity
        owner, owner_rule = t.owner[severity, escalation.tam is not None]
        cadence, roles, levels_rule = t.levels[severity]
        extra = t.extra.get(escalation.issue_type, ())  # type: ignore[arg-type]
        if extra:
            roles = tuple(dict.fromkeys(roles + extra))
        changed = owner != escalation.owner
        if changed:
            escalation.owner = owner
            actions.append({"type": "assign_owner", **self.common(escalation, at, owner_rule),
                            "owner": owner})  # fmt: skip
        current = escalation.involvement
        if roles != current:
            escalation.involvement = roles
            actions.append({"type": "set_involvement", **self.common(escalation, at, levels_rule),
                            "roles": list(roles), "added": [r for r in roles if r not in current],
                            "removed": [r for r in current if r not in roles]})  # fmt: skip
        if cadence != escalation.cadence:
            escalation.cadence = cadence
            actions.append({"type": "set_cadence", **self.common(escalation, at, levels_rule),
                            "cadence": cadence})  # fmt: skip
        return changed

    def again_to_new_owner(
        self,
        escalation: Escalation,
        at: dt.datetime,
        actions: list[dict[str, Any]],
        announced: list[tuple[str, str | None, dt.datetime]],
    ) -> None:
        for item in escalation.due:
            again = (item.kind, item.key, item.due)
            if item.kind == "channel_post" and not item.overdue and again not in announced:
                announced.append(again)
                actions.append(self.announce(escalation, item, at))

    # ---------------------------------------------------------------------- fact types
    def opened(self, escalation: Escalation, at: dt.datetime, f: dict[str, Any]) -> list[Any]:
        t = self.t
        escalation.customer = f["customer"]
        escalation.severity = f["severity"]
        escalation.tam = f.get("tam")
        escalation.opened_by = f.get("opened_by")
        escalation.initiated_by = f.get("initiated_by") or "other"
        escalation.broad = bool(f.get("broad_impact"))
        escalation.issue_type = f.get("issue_type")
        escalation.clock = at
        zone = f.get("time_zone")
        hours = self.hours.get(zone)
        if hours is None:
            hours = self.hours[zone] = Hours(zone, t.opens, t.closes)
        escalation.hours = hours
        escalation.opened_on = hours.date(at)
        reason = t.scope[escalation.broad, f["segment"], bool(f.get("strategic_partnership"))]
        escalation.in_scope = reason is None
        if reason is not None:
            rule = "scope.out_of_scope"
            return [{"type": "out_of_scope", **self.common(escalation, at, rule), "reason": reason}]
        actions: list[dict[str, Any]] = []
        announced: list[tuple[str, str | None, dt.datetime]] = []
        self.plan(escalation, at, actions)
        severity = escalation.severity
        if not escalation.broad:
            self.schedule(escalation, "cadence", t.cadence_every[severity], at, actions, announced)
        tam = escalation.tam
        initiated = escalation.initiated_by == "tam"  # the TAM who initiated it knows of it
        if (
            escalation.owner == "support_engineering"
            and tam is not None
            and (escalation.opened_by != tam)
            and not initiated
        ):
            rule = "responsibilities.inform_tam"
            self.require(escalation, "inform_tam", tam, rule, at, actions, announced)
        if escalation.owner == "tam" or (initiated and tam is not None):
            self.tam_knows(escalation, at)
        if severity in HIGH and tam is None and not escalation.broad:
            rule = "responsibilities.tam_needed"
            self.require(escalation, "assign_tam", None, rule, at, actions, announced, False)
        rule = "tracker.create_document"
        document = t.emit[rule]
        actions.append({"type": "create_tracker_document", **self.common(escalation, at, rule),
                        "title": document["text"]["title"].format(customer=escalation.customer),
                        "template": document["template"],
                        "sections": document["sections"]})  # fmt: skip
        rule = "communication.post_when_created"
        self.require(escalation, "channel_post", "created", rule, at, actions, announced)
        self.schedule(escalation, "channel_update", t.update_every[severity], at, actions,
                      announced)  # fmt: skip
        return actions

    def apply(
        self, escalation: Escalation, kind: str, at: dt.datetime, f: dict[str, Any]
    ) -> list[dict[str, Any]]:
        t = self.t
        escalation.clock = at
        actions: list[dict[str, Any]] = []
        announced: list[tuple[str, str | None, dt.datetime]] = []
        status = escalation.status
        if kind == "posted":
            tam = escalation.tam
            posted_by_tam = f["by"] == "tam" and tam is not None
            if posted_by_tam and tam not in escalation.informed and escalation.in_scope:
                self.told(escalation, at)  # a TAM who posts knows of it
            if f["channel"].lstrip("#").casefold() != t.channel_key:
                return actions
            purpose = f["purpose"]
            # The update a High spell still owes, lowered since: its TAM may post it (read
            # before the post meets it).
            owed_update = (
                purpose == "update" and escalation.find("channel_post", "update") is not None
            )
            if escalation.in_scope:
                if purpose in ("created", "update", "closed", "risk_reduced"):
                    item = escalation.find("channel_post", purpose)
                    if item is not None:
                        escalation.due.remove(item)
                    elif purpose != "created":
                        self.remember(escalation, "channel_post", purpose, at)
                if purpose == "created":  # made after a raise: it is the raise's update too
                    item = escalation.find("channel_post", "update")
                    if item is not None:
                        escalation.due.remove(item)
                if purpose == "closed":  # "closed or risk reduced": also the risk-reduced post
                    item = escalation.find("channel_post", "risk_reduced")
                    if item is not None:
                        escalation.due.remove(item)
                    else:
                        self.remember(escalation, "channel_post", "risk_reduced", at)
                if purpose == "update":
                    item = escalation.find("channel_update")
                    if item is not None and not (item.since is not None and at < item.since):
                        period = item.period
                        assert period is not None
                        item.set_bucket(*next_bucket(period, escalation.hours, item.due))
                        actions.append(self.announce(escalation, item, at))
                by = f["by"]
                by_owner = by == escalation.owner or (
                    # no TAM yet: Support owns it, and a TAM is the owner the page names
                    by == "tam"
                    and (
                        (escalation.tam is None and escalation.severity in ("critical", "high"))
                        or owed_update
                    )
                )
                if purpose in ("update", "closed", "risk_reduced") and not by_owner:
                    rule = "communication.posted_by_owner"
                    actions.append(self.effect_violation(escalation, at, rule, "wrong_poster", by))
                if purpose == "created" and not by_owner:
                    part_of = t.part_of
                    team = part_of.get(by, by)
                    initiator = escalation.initiated_by
                    if team != part_of.get(initiator, initiator) or (
                        (team, escalation.severity) not in t.initiators
                    ):
                        rule = "communication.created_by_owner_or_initiator"
                        actions.append(
                            self.effect_violation(escalation, at, rule, "wrong_poster", by)
                        )
                if purpose in ("created", "closed", "risk_reduced") and f.get("url") is None:
                    rule = "communication.document_linked"
                    actions.append(
                        self.effect_violation(escalation, at, rule, "document_link_missing")
                    )
            if purpose == "initiation":
                rule = "communication.not_for_initiation"
                actions.append(self.effect_violation(escalation, at, rule, "channel_misuse"))
            elif purpose == "tracking":
                rule = "communication.not_for_tracking"
                actions.append(self.effect_violation(escalation, at, rule, "channel_misuse"))
            return actions
        if kind == "closed":
            escalation.status = "closed"
            if not escalation.in_scope:
                return actions
            if escalation.paused is not None:  # a period that ended during the wait: judged
                for item in escalation.due:
                    if item.paused and item.due <= at:
                        self.waited_through(escalation, item, escalation.paused, at, actions)
            escalation.drop("channel_update", "cadence", "inform_tam", "assign_tam",
                            "executive_summary")  # fmt: skip
            if status == "active":
                escalation.drop("channel_post")
                rule = "communication.post_when_closed"
                self.require(escalation, "channel_post", "closed", rule, at, actions, announced)
            return actions
        if not escalation.in_scope:
            if kind == "severity_changed":
                before = escalation.severity
                escalation.severity = f["severity"]
                if escalation.severity != before:  # a re-sync of the same one changes nothing
                    escalation.changed_at = at
                if status == "risk_reduced" and ORDER[f["severity"]] < ORDER[before]:
                    escalation.status = "active"  # a raise re-escalates
            elif kind == "tam_assigned":
                escalation.tam = f["tam"]
            elif kind == "issue_type_changed":
                escalation.issue_type = f["issue_type"]
            elif kind == "risk_reduced" and status == "active":
                escalation.status = "risk_reduced"
            return actions
        if kind == "meeting_held":
            cadence = escalation.find("cadence")
            self.fulfil_part(escalation, cadence, 0, at, actions)
            if f["audience"] in ("customer", "executive"):
                self.fulfil_part(escalation, escalation.find("cadence"), 1, at, actions)
        elif kind == "customer_contacted":
            self.fulfil_part(escalation, escalation.find("cadence"), 1, at, actions)
        elif kind == "tam_informed":
            self.told(escalation, at)
        elif kind == "status_changed":
            engagement = (f["status"], tuple(f.get("milestones") or ()))
            news = engagement != escalation.engagement  # the same synced again changes nothing
            escalation.engagement = engagement
            if status != "closed" and news:  # "Closed - resolved", set as it closes: nothing
                rule = "tracker.summary_on_status_change"
                self.require(escalation, "executive_summary", None, rule, at, actions, announced)
        elif kind == "executive_summary_updated":
            item = escalation.find("executive_summary")
            if item is not None:
                escalation.due.remove(item)
            else:
                self.remember(escalation, "executive_summary", None, at)
        elif kind == "severity_changed":
            before = escalation.severity
            severity = escalation.severity = f["severity"]
            changed_at = escalation.changed_at
            if severity != before:  # a re-sync of the same severity changes nothing
                escalation.changed_at = at
            corrects = before in HIGH and (  # out of High or Critical, soon after the change
                changed_at is None or at - changed_at <= t.corrected_within
            )
            if status == "risk_reduced" and ORDER[severity] < ORDER[before]:
                escalation.status = "active"  # a raise re-escalates
            new_owner = self.plan(escalation, at, actions)
            if not escalation.broad:
                self.schedule(escalation, "cadence", t.cadence_every[severity], at, actions,
                              announced)  # fmt: skip
            needed = severity in HIGH and escalation.tam is None and not escalation.broad
            if needed and escalation.status == "active":  # not while risk is reduced
                rule = "responsibilities.tam_needed"
                self.require(escalation, "assign_tam", None, rule, at, actions, announced, False)
            if severity not in HIGH:
                escalation.drop("assign_tam")
            if escalation.owner == "tam":
                self.tam_knows(escalation, at)
            raised, lowered = ORDER[severity] < ORDER[before], ORDER[severity] > ORDER[before]
            # The summary owed for the raise before alone (due as that raise set it).
            summary = escalation.find("executive_summary")
            for_the_raise = (
                summary is not None
                and changed_at is not None
                and status == "active"  # risk reduced since asked for it too
                # a raise while closed is not told apart from an earlier one that evening
                and escalation.hours.elapsed(changed_at - dt.timedelta(seconds=1), changed_at)
                > dt.timedelta(0)
                and summary.rule == "tracker.summary_on_severity_change"
                and summary.due
                == escalation.hours.add(
                    changed_at, self.t.within["tracker.summary_on_severity_change"]
                )
            )
            # A severity set while its created post is still due is the one it is documented
            # with: no summary is owed for it.
            created = escalation.find("channel_post", "created")
            documented = created is None or created.overdue
            if raised and documented:
                rule = "tracker.summary_on_severity_change"
                self.require(escalation, "executive_summary", None, rule, at, actions, announced)
            if lowered and documented:
                rule = "tracker.summary_on_severity_lowered"
                self.require(escalation, "executive_summary", None, rule, at, actions, announced)
            self.schedule(escalation, "channel_update", t.update_every[severity], at, actions,
                          announced)  # fmt: skip
            if raised and severity in HIGH:
                rule = "communication.update_when_raised"
                self.require(escalation, "channel_post", "update", rule, at, actions, announced)
            if severity not in HIGH and corrects:  # a raise corrected: its update is not owed
                item = escalation.find("channel_post", "update")
                if item is not None:
                    escalation.due.remove(item)
                if for_the_raise:  # nor the summary it asked for
                    escalation.drop("executive_summary")
            if new_owner:
                self.again_to_new_owner(escalation, at, actions, announced)
        elif kind == "tam_assigned":
            tam = escalation.tam = f["tam"]
            new_owner = self.plan(escalation, at, actions)
            if not escalation.broad:
                self.schedule(escalation, "cadence", t.cadence_every[escalation.severity], at,
                              actions, announced)  # fmt: skip
            if escalation.owner == "support_engineering" and escalation.opened_by != tam:
                rule = "responsibilities.inform_tam"
                self.require(escalation, "inform_tam", tam, rule, at, actions, announced)
            if escalation.owner == "tam":
                self.tam_knows(escalation, at)
            if escalation.opened_by == tam:  # back after a cover: the cover is owed nothing
                escalation.drop("inform_tam")
            item = escalation.find("assign_tam")
            if item is not None:
                escalation.due.remove(item)
            if new_owner:
                self.again_to_new_owner(escalation, at, actions, announced)
        elif kind == "issue_type_changed":
            escalation.issue_type = f["issue_type"]
            self.plan(escalation, at, actions)
        elif kind == "risk_reduced":
            if status == "active":
                escalation.status = "risk_reduced"
            escalation.drop("assign_tam")  # the engagement a TAM would manage is over
            if status == "active":  # reduced again (a re-sync) is no news
                self.responded(escalation, at, actions)  # handed back: the wait ends too
                rule = "tracker.summary_on_risk_reduced"
                self.require(escalation, "executive_summary", None, rule, at, actions, announced)
                escalation.drop("channel_update", "cadence")
                item = escalation.find("channel_post", "update")  # the raise's update
                if item is not None:
                    escalation.due.remove(item)
                rule = "communication.post_when_risk_reduced"
                self.require(escalation, "channel_post", "risk_reduced", rule, at, actions,
                             announced)  # fmt: skip
        elif kind == "waiting_on_customer":
            if escalation.paused is None:
                escalation.paused = at
                for item in escalation.due:
                    if item.kind == "cadence" and not item.overdue:
                        item.paused = True
        elif kind == "customer_responded":
            self.responded(escalation, at, actions)
        elif kind == "enhancement_requested":
            if escalation.severity in HIGH:
                rule = "related_links.enhancement_to_product"
                actions.append({"type": "request_product_escalation",
                                **self.common(escalation, at, rule),
                                "template": t.emit[rule]["template"], "team": escalation.owner,
                                "responsible": escalation.tam, "business_case": True})  # fmt: skip
            else:
                rule = "related_links.enhancement_from_support"
                actions.append({"type": "request_product_escalation",
                                **self.common(escalation, at, rule),
                                "template": t.emit[rule]["template"], "team": escalation.owner,
                                "responsible": None, "business_case": False})  # fmt: skip
        elif kind == "account_issue":
            if escalation.tam is not None:
                rule = "responsibilities.account_issues_to_tam"
                actions.append({"type": "route_to_tam", **self.common(escalation, at, rule),
                                "kind": f["kind"], "tam": escalation.tam})  # fmt: skip
            else:
                rule = "responsibilities.account_issues_without_tam"
                actions.append({"type": "route_to_role", **self.common(escalation, at, rule),
                                "kind": f["kind"], "role": t.director})  # fmt: skip
        return actions

    def effect_violation(
        self, escalation: Escalation, at: dt.datetime, rule: str, code: str, by: str = ""
    ) -> dict[str, Any]:
        detail = self.t.details[rule].format(
            by=by,
            owner=escalation.owner or "none",
            initiated_by=escalation.initiated_by or "none",
            severity=escalation.severity,
        )
        return {"type": "violation", **self.common(escalation, at, rule), "code": code,
                "detail": detail, "due": None}  # fmt: skip
