"""The decision on an opened escalation, made by each implementation the benchmarks compare.

Every implementation makes the same decision: the JSON form of an ``opened`` fact in (or the
fact object, for the library's object API), the actions the policy requires out, in order,
in the JSON form of the contract (``docs/json-contract.md``): owner, involvement, cadence,
TAM to inform, tracker document, the posts due with their due times, or "out of scope".
``answers`` gives each implementation's answers to every input; ``run.py`` compares them with
the library's own before anything is timed.

The plain-Python floor and the zen-engine graph are written independently of the library's
engine; both take their tables (rows, rule ids, citations, durations) from the loaded policy,
so that they cannot drift from it silently, and the answers are cross-checked all the same.
"""

import datetime as dt
import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, NamedTuple

import attrs

from escalation_policy import (
    Action,
    Fact,
    Policy,
    PolicyEngine,
    decide,
    default_policy,
    load_policy,
    make_converter,
)
from escalation_policy.rules import Opened, Segment, Severity
from escalation_policy.vocabulary import (
    ANY,
    BusinessTime,
    EachBusinessDay,
    EveryBusinessDays,
    OneOf,
    Rolling,
    TimesPerWeek,
)


def _in_calendar_time(value: object) -> object:
    """A business time or period of the handbook's, as the calendar time it stands for."""
    if isinstance(value, BusinessTime):
        return value.duration
    if isinstance(value, EachBusinessDay):
        return dt.timedelta(days=1)
    if isinstance(value, TimesPerWeek):
        return dt.timedelta(days=7 * value.weeks) / value.times
    if isinstance(value, EveryBusinessDays):
        return dt.timedelta(days=value.days)
    if isinstance(value, Rolling):
        return value.every
    return value


def _calendar_time_policy() -> Policy:
    """The handbook's policy with every deadline and period in calendar time: what the
    independent implementations compute (their arithmetic is on durations), so that every
    contender makes the same decision. The decision's machinery is what is compared."""
    handbook = default_policy()
    return load_policy(
        settings={name: _in_calendar_time(value) for name, value in handbook.settings.items()}
    )


POLICY = _calendar_time_policy()

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)
CUSTOMERS = ("Acme", "Globex", "Initech")

Answer = list[dict[str, Any]]


class Contender(NamedTuple):
    """One implementation: its answers to ``INPUTS`` (JSON form), and a timed run.

    ``run(count)`` makes ``count`` decisions and returns the seconds they took (set-up that a
    long-running host does once, such as building an engine, is not timed).
    """

    name: str
    answers: Callable[[], list[Answer]]
    run: Callable[[int], float]
    count: int  # decisions per timed round, about a second's worth


def inputs() -> list[Opened]:
    """Every combination of what the decision depends on (96), at varied times and customers."""
    facts = []
    combinations = itertools.product(
        Severity, Segment, (False, True), (False, True), (None, "Alex")
    )
    for number, (severity, segment, partnership, broad, tam) in enumerate(combinations):
        facts.append(
            Opened(
                at=START + dt.timedelta(hours=number, minutes=7 * number),
                escalation_id=f"ESC-{number}",
                customer=CUSTOMERS[number % len(CUSTOMERS)],
                segment=segment,
                severity=severity,
                strategic_partnership=partnership,
                broad_impact=broad,
                tam=tam,
            )
        )
    return facts


INPUTS = inputs()


def normalised(answers: Sequence[Answer]) -> list[Answer]:
    """Answers with their timestamps parsed, so ``Z`` and ``+00:00`` compare equal."""
    result = []
    for actions in answers:
        result.append(
            [
                {
                    key: dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                    if key in ("at", "due") and isinstance(value, str)
                    else value
                    for key, value in action.items()
                }
                for action in actions
            ]
        )
    return result


CONVERTER = make_converter(POLICY)


def _json_actions(actions: Sequence[Action]) -> Answer:
    return [CONVERTER.unstructure(action, Action) for action in actions]


def _timed(one: Callable[[Any], object], items: Sequence[Any]) -> Callable[[int], float]:
    """Seconds to call ``one`` on ``count`` of the inputs, in turn (the same for everyone)."""

    def run(count: int) -> float:
        started = time.perf_counter()
        for index in range(count):
            one(items[index % len(items)])
        return time.perf_counter() - started

    return run


def _facts_json() -> list[dict[str, Any]]:
    return [CONVERTER.unstructure(fact, Fact) for fact in INPUTS]


# ------------------------------------------------------------------------ the library, public
def decide_objects() -> Contender:
    """``escalation_policy.decide(None, fact)``: fact object in, action objects out."""
    facts = INPUTS

    def run(count: int) -> float:
        started = time.perf_counter()
        for index in range(count):
            decide(None, facts[index % 96], policy=POLICY)
        return time.perf_counter() - started

    return Contender(
        "escalation-policy `decide(None, fact)`, objects",
        lambda: [_json_actions(decide(None, fact, policy=POLICY).actions) for fact in facts],
        run,
        10_000,
    )


def decide_json() -> Contender:
    """The JSON form in, ``decide``, the JSON form of each action out (``make_converter``)."""
    converter = CONVERTER
    documents = _facts_json()

    def one(document: Mapping[str, Any]) -> Answer:
        outcome = decide(None, converter.structure(document, Fact), policy=POLICY)  # type: ignore[arg-type]
        return [converter.unstructure(action, Action) for action in outcome.actions]

    run = _timed(one, documents)

    return Contender(
        "escalation-policy `decide`, JSON form in and out",
        lambda: [one(document) for document in documents],
        run,
        10_000,
    )


def handle(engine: str) -> Contender:
    """``PolicyEngine.handle(fact)``: each decision opens another escalation in one engine."""
    PolicyEngine(POLICY, engine=engine)  # type: ignore[arg-type]  # raises here if it cannot run
    count = 10_000 if engine == "native" else 1_000
    facts = [
        Opened(
            at=START,  # one time for all: nothing falls due, every call makes the one decision
            escalation_id=f"H-{number}",
            customer=INPUTS[number % 96].customer,
            segment=INPUTS[number % 96].segment,
            severity=INPUTS[number % 96].severity,
            strategic_partnership=INPUTS[number % 96].strategic_partnership,
            broad_impact=INPUTS[number % 96].broad_impact,
            tam=INPUTS[number % 96].tam,
        )
        for number in range(max(count, 2_000))
    ]

    def answers() -> list[Answer]:
        # A new engine for each input: the inputs' times are hours apart, and in one engine
        # the posts due in between would be reported as well.
        return [
            _json_actions(PolicyEngine(POLICY, engine=engine).handle(fact).actions)  # type: ignore[arg-type]
            for fact in INPUTS
        ]

    def run(count: int) -> float:
        policy_engine = PolicyEngine(POLICY, engine=engine)  # type: ignore[arg-type]
        chosen = facts[:count]
        while len(chosen) < count:  # more than prepared: the ids must stay distinct
            number = len(chosen)
            chosen.append(attrs.evolve(facts[number % len(facts)], escalation_id=f"H-{number}"))
        started = time.perf_counter()
        for fact in chosen:
            policy_engine.handle(fact)
        return time.perf_counter() - started

    return Contender(
        f"escalation-policy `PolicyEngine.handle`, {engine} engine, objects",
        answers,
        run,
        count,
    )


# ----------------------------------------------------------------- tables from the policy
class _Tables(NamedTuple):
    scope: list[tuple[dict[str, Any], bool, str | None, str]]  # cells, in scope, reason, row
    owner: dict[tuple[str, bool], tuple[str, str, str]]  # severity, has TAM: owner, rule, cites
    levels: dict[str, tuple[str, list[str], str, str]]  # severity: cadence, roles, rule, cites
    updates: dict[str, tuple[int | None, str, str]]  # severity: seconds, rule, cites
    cites: dict[str, str]  # reaction id: cites
    within: dict[str, int]  # reaction id: seconds
    channel: str
    title: tuple[str, str]  # before and after the customer's name
    document: dict[str, Any]  # the tracker document's other fields (template, sections)


def _matches(cell: object, value: object) -> bool:
    if cell is ANY:
        return True
    if isinstance(cell, OneOf):
        return value in cell.values
    return bool(cell == value)


def _json_value(value: object) -> object:
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value.value if isinstance(value, Enum) else value


def _row_for(table_id: str, **values: object) -> tuple[Any, str]:
    policy = POLICY
    table = policy.table(table_id)
    row = next(r for r in table.rows if all(_matches(r.when[k], v) for k, v in values.items()))
    return row, f"{table_id}/{row.id}"


def policy_tables() -> _Tables:
    """What the independent implementations need, read from the loaded policy."""
    policy = POLICY
    rule = policy.rules
    scope = []
    scope_table = policy.table("scope.customers")
    for row in scope_table.rows:
        cells = {key: row.when[key] for key in scope_table.inputs}
        scope.append(
            (cells, row.then["in_scope"], row.then["out_of_scope_reason"], "scope.out_of_scope")
        )
    owner, levels, updates = {}, {}, {}
    for severity in Severity:
        for tam in (None, "Alex"):
            row, row_id = _row_for("responsibilities.owner", severity=severity, tam=tam)
            owner[severity.value, tam is not None] = (
                row.then["owner"].value,
                row_id,
                rule[row_id].cites,
            )
        row, row_id = _row_for("severity.levels", severity=severity)
        roles = [role.value for role in row.then["involvement"]]
        levels[severity.value] = (row.then["cadence"].value, roles, row_id, rule[row_id].cites)
        row, row_id = _row_for("communication.updates", severity=severity)
        every = row.then["update_every"]
        seconds = int(every.total_seconds()) if every is not None else None
        updates[severity.value] = (seconds, row_id, rule[row_id].cites)
    within = {}
    title = ""
    document: dict[str, Any] = {}
    for compiled in policy.reactions:
        for effect in compiled.reaction.then:
            if getattr(effect, "within", None) is not None:
                within[compiled.reaction.id] = int(effect.within.total_seconds())
            if compiled.reaction.id == "tracker.create_document":
                title = effect.text["title"]
                document = {key: _json_value(value) for key, value in effect.values.items()}
    before, after = title.split("{customer}")
    return _Tables(
        scope=scope,
        owner=owner,
        levels=levels,
        updates=updates,
        cites={key: info.cites for key, info in rule.items()},
        within=within,
        channel=policy.channel or "",
        title=(before, after),
        document=document,
    )


# ------------------------------------------------------------------------------- the floor
def floor_function() -> Callable[[Mapping[str, Any]], Answer]:
    """Hand-written plain Python over dictionaries: the JSON form in and out."""
    tables = policy_tables()
    scope: dict[tuple[bool, str, bool], tuple[bool, str | None]] = {}
    for broad, segment, partnership in itertools.product(
        (False, True), [s.value for s in Segment], (False, True)
    ):
        for cells, in_scope, reason, _ in tables.scope:
            values = {
                "broad_impact": broad,
                "segment": Segment(segment),
                "strategic_partnership": partnership,
            }
            if all(_matches(cells[key], values[key]) for key in cells):
                scope[broad, segment, partnership] = (in_scope, reason)
                break
    owner, levels, updates, cites = tables.owner, tables.levels, tables.updates, tables.cites
    channel = tables.channel
    before, after = tables.title
    document = tables.document
    created = dt.timedelta(seconds=tables.within["communication.post_when_created"])
    inform = dt.timedelta(seconds=tables.within["responsibilities.inform_tam"])
    every = {key: dt.timedelta(seconds=value[0]) for key, value in updates.items() if value[0]}

    def decide_opened(fact: Mapping[str, Any]) -> Answer:
        escalation_id, at = fact["escalation_id"], fact["at"]
        in_scope, reason = scope[
            fact["broad_impact"], fact["segment"], fact["strategic_partnership"]
        ]
        if not in_scope:
            rule = "scope.out_of_scope"
            return [
                {
                    "type": "out_of_scope",
                    "escalation_id": escalation_id,
                    "at": at,
                    "rule": rule,
                    "cites": cites[rule],
                    "reason": reason,
                }
            ]
        severity = fact["severity"]
        tam = fact["tam"]
        who, owner_rule, owner_cites = owner[severity, tam is not None]
        cadence, roles, levels_rule, levels_cites = levels[severity]
        when = dt.datetime.fromisoformat(at)
        common = {"escalation_id": escalation_id, "at": at}
        actions: Answer = [
            {"type": "assign_owner", **common, "rule": owner_rule, "cites": owner_cites,
             "owner": who},
            {"type": "set_involvement", **common, "rule": levels_rule, "cites": levels_cites,
             "roles": roles, "added": roles, "removed": []},
            {"type": "set_cadence", **common, "rule": levels_rule, "cites": levels_cites,
             "cadence": cadence},
        ]  # fmt: skip
        if tam is not None and who == "support_engineering":
            rule = "responsibilities.inform_tam"
            actions.append(
                {"type": "inform_tam", **common, "rule": rule, "cites": cites[rule], "tam": tam,
                 "due": (when + inform).isoformat()}
            )  # fmt: skip
        rule = "tracker.create_document"
        actions.append(
            {"type": "create_tracker_document", **common, "rule": rule, "cites": cites[rule],
             "title": before + fact["customer"] + after, **document}
        )  # fmt: skip
        rule = "communication.post_when_created"
        actions.append(
            {"type": "post_to_channel", **common, "rule": rule, "cites": cites[rule],
             "channel": channel, "by": who, "reason": "created",
             "due": (when + created).isoformat()}
        )  # fmt: skip
        if severity in every:
            _, rule, update_cites = updates[severity]
            actions.append(
                {"type": "post_to_channel", **common, "rule": rule, "cites": update_cites,
                 "channel": channel, "by": who, "reason": "update",
                 "due": (when + every[severity]).isoformat()}
            )  # fmt: skip
        return actions

    return decide_opened


def floor() -> Contender:
    decide_opened = floor_function()
    documents = _facts_json()

    run = _timed(decide_opened, documents)

    return Contender(
        "plain Python over dicts, the floor (JSON form in and out)",
        lambda: [decide_opened(document) for document in documents],
        run,
        100_000,
    )


# -------------------------------------------------------------------------------- zen-engine
def _zen_cell(cell: object) -> str:
    if cell is ANY:
        return ""
    values = cell.values if isinstance(cell, OneOf) else (cell,)
    return ", ".join(json.dumps(getattr(value, "value", value)) for value in values)


def _zen_table(node: str, inputs: list[str], outputs: list[str], rows: list[list[str]]) -> Any:
    return {
        "id": node,
        "type": "decisionTableNode",
        "name": node,
        "position": {"x": 0, "y": 0},
        "content": {
            "hitPolicy": "first",
            "inputs": [
                {"id": f"{node}-i{n}", "name": f, "type": "expression", "field": f}
                for n, f in enumerate(inputs)
            ],
            "outputs": [
                {"id": f"{node}-o{n}", "name": f, "type": "expression", "field": f}
                for n, f in enumerate(outputs)
            ],
            "rules": [
                {
                    "_id": f"{node}-r{r}",
                    **{f"{node}-i{n}": cell for n, cell in enumerate(row[: len(inputs)])},
                    **{f"{node}-o{n}": cell for n, cell in enumerate(row[len(inputs) :])},
                }
                for r, row in enumerate(rows)
            ],
        },
    }


def zen_graph() -> str:
    """The decision as a JDM graph: four decision tables and one expression building the
    actions, every row and string taken from the loaded policy."""
    tables = policy_tables()
    q = json.dumps
    scope_rows = [
        [
            _zen_cell(cells["broad_impact"]),
            _zen_cell(cells["segment"]),
            _zen_cell(cells["strategic_partnership"]),
            q(in_scope),
            q(reason),
        ]
        for cells, in_scope, reason, _ in tables.scope
    ]
    owner_rows = [
        [q(s), "true" if t else "false", q(o), q(r), q(c)]
        for (s, t), (o, r, c) in tables.owner.items()
    ]
    levels_rows = [[q(s), q(a), q(b), q(r), q(c)] for s, (a, b, r, c) in tables.levels.items()]
    update_rows = [[q(s), q(e), q(r), q(c)] for s, (e, r, c) in tables.updates.items()]
    cites = tables.cites
    before, after = tables.title
    common = "escalation_id: escalation_id, at: at"
    created = tables.within["communication.post_when_created"]
    inform = tables.within["responsibilities.inform_tam"]
    actions = (
        "in_scope ? filter(["
        f"{{type: 'assign_owner', {common}, rule: owner_rule, cites: owner_cites, "
        "owner: owner}, "
        f"{{type: 'set_involvement', {common}, rule: levels_rule, cites: levels_cites, "
        "roles: involvement, added: involvement, removed: []}, "
        f"{{type: 'set_cadence', {common}, rule: levels_rule, cites: levels_cites, "
        "cadence: cadence}, "
        "tam != null and owner == 'support_engineering' ? "
        f"{{type: 'inform_tam', {common}, rule: 'responsibilities.inform_tam', "
        f"cites: {q(cites['responsibilities.inform_tam'])}, tam: tam, "
        f"due: d(at).add('{inform}s')}} : null, "
        f"{{type: 'create_tracker_document', {common}, rule: 'tracker.create_document', "
        f"cites: {q(cites['tracker.create_document'])}, "
        f"title: {q(before)} + customer + {q(after)}, "
        f"template: {q(tables.document['template'])}, "
        f"sections: [{', '.join(q(x) for x in tables.document['sections'])}]}}, "
        f"{{type: 'post_to_channel', {common}, rule: 'communication.post_when_created', "
        f"cites: {q(cites['communication.post_when_created'])}, channel: {q(tables.channel)}, "
        f"by: owner, reason: 'created', due: d(at).add('{created}s')}}, "
        "update_every != null ? "
        f"{{type: 'post_to_channel', {common}, rule: updates_rule, cites: updates_cites, "
        f"channel: {q(tables.channel)}, by: owner, reason: 'update', "
        "due: d(at).add(string(update_every) + 's')} : null"
        "], # != null) : ["
        f"{{type: 'out_of_scope', {common}, rule: 'scope.out_of_scope', "
        f"cites: {q(cites['scope.out_of_scope'])}, reason: out_of_scope_reason}}]"
    )
    nodes = [
        {"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
        _zen_table(
            "scope",
            ["broad_impact", "segment", "strategic_partnership"],
            ["in_scope", "out_of_scope_reason"],
            scope_rows,
        ),
        _zen_table(
            "owner", ["severity", "tam != null"], ["owner", "owner_rule", "owner_cites"], owner_rows
        ),
        _zen_table(
            "levels",
            ["severity"],
            ["cadence", "involvement", "levels_rule", "levels_cites"],
            levels_rows,
        ),
        _zen_table(
            "updates", ["severity"], ["update_every", "updates_rule", "updates_cites"], update_rows
        ),
        {
            "id": "actions",
            "type": "expressionNode",
            "name": "actions",
            "position": {"x": 0, "y": 0},
            "content": {"expressions": [{"id": "a", "key": "actions", "value": actions}]},
        },
        {"id": "out", "type": "outputNode", "name": "out", "position": {"x": 0, "y": 0}},
    ]
    links = [("in", "actions"), ("actions", "out")]
    for table in ("scope", "owner", "levels", "updates"):
        links += [("in", table), (table, "actions")]
    edges = [
        {"id": f"e{n}", "type": "edge", "sourceId": source, "targetId": target}
        for n, (source, target) in enumerate(links)
    ]
    return json.dumps(
        {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}
    )


def zen_loader() -> Contender:
    """zen-engine as its documentation advises for a service: one ``ZenEngine`` with a loader
    returning precompiled ``ZenDecisionContent``, and ``ZenEngine.evaluate(key, input)``."""
    import zen

    content = zen.ZenDecisionContent(zen_graph())
    engine = zen.ZenEngine({"loader": lambda key: content})
    documents = _facts_json()

    def one(document: Mapping[str, Any]) -> Answer:
        return engine.evaluate("opened", document)["result"]["actions"]  # type: ignore[no-any-return]

    run = _timed(one, documents)

    return Contender(
        "zen-engine, one `ZenEngine` with a loader, `evaluate(key, input)`",
        lambda: [one(document) for document in documents],
        run,
        10_000,
    )


def zen_decision() -> Contender:
    """zen-engine through ``ZenDecision.evaluate``, which starts a new runtime on every call
    in zen-engine 2.x: what these benchmarks timed before, kept to show the difference."""
    import zen

    decision = zen.ZenEngine().create_decision(zen_graph())
    documents = _facts_json()

    def one(document: Mapping[str, Any]) -> Answer:
        return decision.evaluate(document)["result"]["actions"]  # type: ignore[no-any-return]

    run = _timed(one, documents)

    return Contender(
        "zen-engine, `create_decision(...).evaluate(input)` (a runtime per call)",
        lambda: [one(document) for document in documents],
        run,
        500,
    )


# ---------------------------------------------------------------------- durable_rules directly
def durable_raw() -> Contender:
    """durable_rules used directly: one rule per combination of the inputs the decision
    depends on; the rule that matches builds the answer with the floor's code."""
    import durable.engine as durable_engine

    class Host(durable_engine.Host):  # type: ignore[misc]
        def _run(self) -> None:  # no dispatcher threads (they crashed under load)
            return None

    build = floor_function()
    result: list[Answer] = []

    plain = _facts_json()

    def action(closure: Any) -> None:
        # One parameter: durable_rules treats a two-parameter action as asynchronous.
        result.append(build(plain[closure.m.n]))

    rules = {}
    combinations = itertools.product(
        [s.value for s in Severity],
        [s.value for s in Segment],
        (False, True),
        (False, True),
        (False, True),
    )
    for number, (severity, segment, partnership, broad, tam) in enumerate(combinations):
        cells = [
            {"severity": severity},
            {"segment": segment},
            {"strategic_partnership": partnership},
            {"broad_impact": broad},
            {"has_tam": tam},
        ]
        rules[f"r{number}"] = {"all": [{"m": {"$and": cells}}], "run": action}
    host = Host()
    host.register_rulesets({"bench_opened": rules})
    # The fields the rules test, and the input's number for the action to build from.
    documents = [
        {
            "sid": "0",
            "n": number,
            "severity": document["severity"],
            "segment": document["segment"],
            "strategic_partnership": document["strategic_partnership"],
            "broad_impact": document["broad_impact"],
            "has_tam": document["tam"] is not None,
        }
        for number, document in enumerate(plain)
    ]

    def one(document: Mapping[str, Any]) -> Answer:
        result.clear()
        host.post("bench_opened", document)
        return result[0]

    run = _timed(one, documents)

    return Contender(
        "durable-rules 2.0.28 directly, one rule per input combination",
        lambda: [one(document) for document in documents],
        run,
        10_000,
    )


MAKERS: dict[str, Callable[[], Contender]] = {
    "floor": floor,
    "decide": decide_objects,
    "decide-json": decide_json,
    "handle-native": lambda: handle("native"),
    "handle-durable": lambda: handle("durable"),
    "durable-rules": durable_raw,
    "zen": zen_loader,
    "zen-decision": zen_decision,
}
