"""Posts the policy requires as Slack messages: a plain-text fallback and Block Kit blocks,
built and validated with slack_sdk's own models (imported on first use)."""

import datetime as dt
import enum
import functools
import re
import string
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from escalation_policy.model import CLOSED, COMMON_FIELDS, Action
from escalation_policy.policy import Policy, channel_key, default_policy
from escalation_policy.render import duration, label, plain
from escalation_policy.state import EscalationState
from escalation_policy.vocabulary import Emit

if TYPE_CHECKING:
    from slack_sdk.models.blocks import Block


__all__ = ["SlackMessage", "escape", "is_post", "message"]

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks), in characters as
# Slack counts them (UTF-16 code units: never fewer than Python's code points).
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
TEXT_LIMIT = 3000
"""The plain-text fallback: Slack truncates longer ones, and notifications show far less."""

NEEDS_SLACK_SDK = (
    "escalation_policy.slack needs slack_sdk, which is not installed: "
    "pip install 'escalation-policy[slack]'"
)

_KIND_FIELDS = ("reason", "template")
"""The field that says which post it is: the handbook's ``reason``, a ``template`` elsewhere."""

_HANDBOOK_POST = "post_to_channel"
_HANDBOOK_FIELDS = frozenset({"channel", "by", "reason", "due"})
"""The handbook's post action, known by its type and fields: like the engine, this module
imports no policy, so that it renders whichever one it is given."""

_ELLIPSIS = "\u2026"


# ------------------------------------------------------------------------------------- text
def _entities(text: str) -> str:
    """``&``, ``<`` and ``>`` as the entities Slack requires: no mention, link or command
    (``<!channel>``, ``<@U123>``, ``<http://x|y>``) can be written without them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_FORMATTING = re.compile(
    r"(?<![^\W_])[*_~]|[*_~](?![^\W_])"  # bold, italics or a strike: at the edge of a word
    r"|`"  # code
    r"|^\s*(?=&gt;)"  # a quote: > at the start of a line
)
_LOOK_ALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
"""mrkdwn has no escape for its formatting characters: each is shown as one that looks alike
(asterisk operator, modifier letter low macron, tilde operator, modifier letter grave accent)."""
_QUOTE_BREAK = "\u02cc"
"""Before a > that would start a quote: a small mark (modifier letter low vertical line) that is
no space, so that the line no longer starts with >."""


def escape(text: str) -> str:
    """Text for Slack's mrkdwn (and a message's ``text``), shown as written and doing nothing
    else: on one line, control characters as escapes (as
    :func:`~escalation_policy.render.plain` has them); ``&``, ``<`` and ``>`` escaped as Slack
    requires, so that it can neither mention (``<!channel>``, ``<@U123>``) nor link; and the
    characters that would format it (``*bold*``, ``_italics_``, ``~strike~``, a backtick, a
    quote's ``>``) as characters that look alike. A ``*``, ``_`` or ``~`` within a word, which
    formats nothing, is kept (``#escalated_customers``). Every text of a message goes
    through it."""
    return _FORMATTING.sub(_unformatted, _entities(plain(text)))


def _unformatted(match: re.Match[str]) -> str:
    found = match.group()
    return _LOOK_ALIKES.get(found) or found + _QUOTE_BREAK


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fit(text: str, limit: int, *, escaped: bool = False) -> str:
    """``text`` cut to ``limit`` characters as Slack counts them, with an ellipsis if cut; an
    escaped text (mrkdwn) is never cut inside an entity such as ``&amp;``."""
    if _units(text) <= limit:
        return text
    room, used, end = limit - 1, 0, len(text)
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0xFFFF else 1
        if used > room:
            end = index
            break
    cut = text[:end]
    if escaped:
        amp = cut.rfind("&")
        if amp != -1 and ";" not in cut[amp:]:
            cut = cut[:amp]
    return cut + _ELLIPSIS


def _line(value: str) -> str:
    """One line of a value: line breaks and control characters shown as escapes."""
    return plain(value)


def _mrkdwn(value: str, limit: int) -> str:
    return _fit(escape(value), limit, escaped=True)


def _field(title: str, value: str) -> str:
    """A section field: the title in bold over the (escaped) value, within the field limit."""
    head = f"*{escape(title)}*\n"
    return head + _mrkdwn(value or "-", FIELD_LIMIT - _units(head))


# ----------------------------------------------------------------------------------- values
@functools.lru_cache(maxsize=16)
def _members(policy: Policy | None) -> Mapping[str, tuple[enum.Enum, ...]]:
    """The policy's values by their text: a value read from JSON is its text."""
    found: dict[str, list[enum.Enum]] = {}
    for values in policy.contract.values if policy is not None else ():
        for member in values:
            found.setdefault(str(member.value), []).append(member)
    return {text: tuple(members) for text, members in found.items()}


def _value(value: object, policy: Policy | None, prefer: object = None) -> str:
    """A field that holds one of the policy's values (owner, cadence, roles, status), as its
    member or as its text, in the handbook's wording. ``prefer``: the value set to read a text
    from first, when several have it."""
    if isinstance(value, (tuple, list)):
        return ", ".join(_value(item, policy, prefer) for item in value) or "-"
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        members = _members(policy).get(value, ())
        for member in members:
            if isinstance(prefer, type) and isinstance(member, prefer):
                return label(member)
        if members:
            return label(members[0])
        return value.replace("_", " ").capitalize()  # as a value without wording reads
    return label(value)


def _shown(value: object) -> str:
    """A free field's value as people read it, in plain text: a time in UTC, a value's
    wording."""
    if isinstance(value, dt.datetime):
        return _utc(value)
    return label(value)


def _empty(value: object) -> bool:
    return value is None or value == () or value == [] or value == ""


_ACRONYMS = {
    word: word.upper()
    for word in ("ceo", "cro", "crm", "cse", "csm", "dri", "id", "ps", "rca", "sla", "tam", "url")
} | {"vp": "VP"}


def _title(policy: Policy | None, name: str) -> str:
    """A field's title: as a decision table of the policy titles its column, else its name
    as words, acronyms in capitals (``case_id``: "Case ID", ``vp_sales``: "VP sales")."""
    for compiled in policy.tables if policy is not None else ():
        title = compiled.table.columns.get(name)
        if title:
            return title
    words = [_ACRONYMS.get(word, word) for word in name.split("_") if word]
    if not words:
        return name
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


# ------------------------------------------------------------------------------------ times
def _utc(value: dt.datetime) -> str:
    """``2026-03-02 09:00 UTC``: a time as plain text (the fallback, the record of a post)."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _date(value: dt.datetime) -> str:
    """A time as Slack shows it to each reader, in the reader's own time zone ("Today at
    9:00 AM", "Mar 2 at 9:00 AM"): a ``<!date>`` token, which reads as the UTC time where a
    client cannot show it (mrkdwn: never escaped again)."""
    unix = int(value.timestamp())
    return f"<!date^{unix}^{{date_short_pretty}} at {{time}}|{_utc(value)}>"


# ------------------------------------------------------------------------------------ links
def _link(address: str, text: str) -> str | None:
    """A mrkdwn link to a web address, showing ``text`` (escaped); ``None`` when the address
    is not one (``javascript:``, a name, a control character) or too long to link."""
    parsed = urllib.parse.urlsplit(address)
    if not (parsed.scheme in ("http", "https") and parsed.netloc and address.isprintable()):
        return None
    # In a mrkdwn link, | and > end the address: they are percent-encoded, & escaped.
    target = _entities(address.replace("|", "%7C").replace(">", "%3E").replace(" ", "%20"))
    if _units(target) > 1500:
        return None
    return f"<{target}|{_mrkdwn(text, 200)}>"


def _address_text(address: str) -> str:
    """A web address as a link shows it: its host and path, without the scheme."""
    parsed = urllib.parse.urlsplit(address)
    return (parsed.netloc + parsed.path).rstrip("/") or address


_CHANNEL_NAME = re.compile(r"#[\w.-]{1,80}")


def _channel(name: str, channels: Mapping[str, str]) -> str:
    """A channel as mrkdwn: a link to it (``<#C123>``, which Slack shows as the channel's
    name) when its id is known, else its name as text."""
    found = channels.get(channel_key(name))
    if found is not None and re.fullmatch(r"[A-Z0-9]{2,30}", found):
        return f"<#{found}>"
    return _mrkdwn(name, 300)


def _rich(value: str, channels: Mapping[str, str], *, text: str | None = None) -> str:
    """A free text value as mrkdwn: a web address as a link, a channel's name as a link to
    the channel (if its id is known), anything else escaped."""
    link = _link(value, text or _address_text(value))
    if link is not None:
        return link
    if _CHANNEL_NAME.fullmatch(value):
        return _channel(value, channels)
    return _mrkdwn(value, FIELD_LIMIT - 100)


# ---------------------------------------------------------------------------------- message
@attrs.frozen
class SlackMessage:
    """A message for Slack: ``text``, the plain-text fallback that notifications and screen
    readers show (escaped for Slack), and ``blocks``, its Block Kit layout as JSON objects
    (``chat.postMessage``'s ``text`` and ``blocks``).

    ``shown`` is what the message showed of the escalation, each value as plain text by its
    name (``severity``, ``owner``, ``status``, ...): give the message as the next post's
    ``since``, and that post says what changed."""

    text: str
    blocks: list[dict[str, Any]]
    shown: Mapping[str, str] = attrs.field(factory=dict, eq=False, repr=False)


def is_post(action: Action) -> bool:
    """Whether ``action`` says a post to a channel is due: it has a ``channel`` field and one
    that says which post (the handbook's ``reason``, or a ``template``)."""
    return attrs.has(type(action)) and _is_post_type(type(action))


def _is_post_type(cls: type[Any]) -> bool:
    if not attrs.has(cls):
        return False
    names = {field.name for field in attrs.fields(cls)}
    return "channel" in names and any(kind in names for kind in _KIND_FIELDS)


def _kind(action: Action) -> object:
    for name in _KIND_FIELDS:
        if hasattr(action, name):
            return getattr(action, name)
    return None  # pragma: no cover - is_post() was checked


def _post_title(action: Action) -> str:
    """Which post it is, in the policy's wording (the handbook's ``PostReason`` says "New",
    "Update", "Closure" and "Risk-reduced")."""
    return label(_kind(action))


def _is_new(action: Action) -> bool:
    """Whether the post announces the escalation (a New post): it has nothing to compare
    with."""
    kind = _kind(action)
    return str(getattr(kind, "value", kind)) in ("created", "new")


def _is_handbook_post(action: Action) -> bool:
    names = {field.name for field in attrs.fields(type(action))}
    return action.TYPE == _HANDBOOK_POST and _HANDBOOK_FIELDS <= names


def _document_field(document: str | None) -> str:
    """The tracker document: a link when it is a web address, else its text."""
    if document is None:
        return _field("Tracker document", "not linked yet")
    link = _link(document, "Open the tracker document")
    if link is not None:
        return f"*Tracker document*\n{link}"
    return _field("Tracker document", _line(document))


class _Item(NamedTuple):
    """One thing a post shows of the escalation: its ``key`` (stable from post to post), its
    ``title``, its value as plain ``text`` (what the next post compares), and as mrkdwn."""

    key: str
    title: str
    text: str
    mrkdwn: str


def _item(key: str, title: str, text: str, mrkdwn: str | None = None) -> _Item:
    return _Item(key, title, text, mrkdwn if mrkdwn is not None else _mrkdwn(text or "-", 1900))


def message(
    action: Action,
    state: EscalationState,
    *,
    document: str | None = None,
    policy: Policy | None = None,
    since: "EscalationState | SlackMessage | None" = None,
    channels: Mapping[str, str] | None = None,
) -> SlackMessage:
    """The Slack message for a post the policy requires, about the escalation in ``state``.

    ``action`` is a post action (:func:`is_post`): the handbook's
    :class:`~escalation_policy.PostToChannel` renders as its New, Update, Closure or
    Risk-reduced post (customer, severity, owner, involvement, status and milestones, executive
    summary, tracker document); another policy's post renders the fields of its message
    template (the fields of its post actions) in one order on every post. ``state`` is the
    escalation's (``PolicyEngine.escalation`` or ``Service.escalation``), ``document`` the
    tracker document's address, if known, and ``policy`` the action's policy, whose wording
    the message uses for values a state read from JSON holds as text, and for field titles (by
    default, the handbook's policy for its own actions).

    ``since`` is the escalation as the last post about it showed it: that post's
    :class:`SlackMessage`, or the state it was rendered from. A post other than the New one
    then says first what changed since (severity, owner, status, milestones, summary, ...);
    :meth:`SlackPoster.deliver <escalation_policy.slack.SlackPoster.deliver>` keeps the last
    post of each escalation and passes it. Once the escalation is closed, a post shows how it
    ended: when, after how long, and what the policy's closing fact recorded (an outcome, a
    verdict, links). ``channels`` maps channel names to Slack channel ids, to link the channels
    a post names. Times show in each reader's own time zone (``<!date>``).

    User text is escaped for mrkdwn and every text is cut to Block Kit's limits. The blocks
    are built with slack_sdk's models, which validate them.
    """
    if not is_post(action):
        raise ValueError(
            f"got a {action.TYPE!r} action, expected a post to a channel: an action with a "
            f"'channel' field and a {' or '.join(repr(kind) for kind in _KIND_FIELDS)} field"
        )
    for name, given in (("state", state), ("since", since)):
        if name == "since" and (given is None or isinstance(given, SlackMessage)):
            continue
        if not isinstance(given, EscalationState):
            raise TypeError(
                f"got {type(given).__name__} for {name!r}, expected the escalation's "
                "EscalationState"
                + (
                    " (None: the escalation is closed and settled, and was forgotten)"
                    if name == "state"
                    else " or the last post's SlackMessage"
                )
            )
        if given.escalation_id != action.escalation_id:
            raise ValueError(
                f"got the {name} of {given.escalation_id!r} for a post about "
                f"{action.escalation_id!r}, expected the {name} of the same escalation"
            )
    if policy is None:
        handbook = default_policy()
        if type(action) in handbook.contract.actions.values():
            policy = handbook
    before: Mapping[str, str] | None = None
    if isinstance(since, SlackMessage):
        before = since.shown
    elif since is not None:
        before = {item.key: item.text for item in _items(action, since, policy, {})}
    return _render(action, state, document, policy, before, channels or {})


def _render(
    action: Action,
    state: EscalationState,
    document: str | None,
    policy: Policy | None,
    before: Mapping[str, str] | None,
    channels: Mapping[str, str],
) -> SlackMessage:
    models = _models()
    channels = {channel_key(name): id_ for name, id_ in channels.items()}
    items = _items(action, state, policy, channels)
    title, customer = _post_title(action), str(_attribute(state, "customer") or "")
    customer = customer or state.escalation_id
    blocks: list[Block] = [
        models.HeaderBlock(text=models.PlainTextObject(text=_header(title, customer)))
    ]
    changed: list[str] = []
    if before is not None and not _is_new(action):
        lines, changed = _changes(items, before)
        blocks.append(models.SectionBlock(text=models.mrkdwn(lines)))
    if state.status == CLOSED and state.closed_at is not None:
        outcome = _outcome(state, state.closed_at, policy, channels)
        blocks.append(models.SectionBlock(text=models.mrkdwn(outcome)))
    if _is_handbook_post(action):
        blocks += _handbook_blocks(items, state, document)
    else:
        blocks += _generic_blocks(items, document)
    blocks += [models.DividerBlock(), _footer(action, state, policy, channels)]
    shown = {item.key: item.text for item in items}
    text = _fallback(title, customer, shown, document, changed)
    return SlackMessage(text=text, blocks=[block.to_dict() for block in blocks], shown=shown)


def _attribute(state: EscalationState, name: str) -> Any:
    return getattr(state, name, None) if name in state.ATTRIBUTES else None


def _fallback(
    title: str,
    customer: str,
    shown: Mapping[str, str],
    document: str | None,
    changed: list[str],
) -> str:
    sentence = (
        f"{title} post for {_line(customer)}: {shown.get('severity', '-')} severity, owned by "
        f"{shown.get('owner', '-')}; status: {shown.get('status', '-')}."
    )
    if changed:
        sentence += f" Changed since the last post: {', '.join(changed)}."
    if document is not None:
        sentence += f" Tracker document: {_line(document)}"
    return _fit(escape(sentence), TEXT_LIMIT, escaped=True)


# ---------------------------------------------------------------------- what a post shows
_CHANGE_VALUE = 100
"""How much of a value a line of the changes shows, before and after."""
_CHANGE_LINES = 10


def _changes(items: list[_Item], before: Mapping[str, str]) -> tuple[str, list[str]]:
    """The section that says what changed since the last post, and the titles of what did."""
    head = "*What changed since the last post*"
    lines: list[str] = []
    changed: list[str] = []
    for item in items:
        old = before.get(item.key)
        if old is None or old == item.text:
            continue
        changed.append(item.title)
        if len(lines) < _CHANGE_LINES:
            lines.append(
                f"\u2022 *{_mrkdwn(item.title, 80)}:* {_mrkdwn(old or '-', _CHANGE_VALUE)} "
                f"\u2192 {_mrkdwn(item.text or '-', _CHANGE_VALUE)}"
            )
    if len(changed) > len(lines):
        lines.append(f"\u2022 and {len(changed) - len(lines)} more")
    if not lines:
        return f"{head}\nNothing: the escalation stands as the last post showed it.", []
    return head + "\n" + "\n".join(lines), changed


def _items(
    action: Action, state: EscalationState, policy: Policy | None, channels: Mapping[str, str]
) -> list[_Item]:
    if _is_handbook_post(action):
        return _handbook_items(action, state, policy)
    return _generic_items(action, state, policy, channels)


def _handbook_items(action: Any, state: EscalationState, policy: Policy | None) -> list[_Item]:
    get = functools.partial(_attribute, state)
    milestones = get("milestones") or ()
    return [
        _item("customer", "Customer", _line(str(get("customer") or state.escalation_id))),
        _item("severity", "Severity", label(get("severity"))),
        _item("segment", "Segment", label(get("segment"))),
        _item("owner", "Owner", _value(state.owner, policy, type(action.by))),
        _item("tam", "TAM", _line(str(get("tam") or "-"))),
        _item("involvement", "Involvement", _value(state.involvement, policy)),
        _item("cadence", "Cadence", _value(state.cadence, policy)),
        _item("status", "Status", _value(state.status, policy)),
        _item("engagement_status", "Engagement status", _line(str(get("engagement_status") or ""))),
        _item("milestones", "Milestones", "; ".join(_line(str(m)) for m in milestones)),
        _item("summary", "Executive summary", _line(str(get("summary") or ""))),
    ]


def _handbook_blocks(
    items: list[_Item], state: EscalationState, document: str | None
) -> list["Block"]:
    models = _models()
    by_key = {item.key: item for item in items}
    fields = [
        f"*{escape(item.title)}*\n{item.mrkdwn}"
        for item in items
        if item.key in ("customer", "severity", "segment", "owner", "tam", "involvement", "cadence")
    ]
    fields.append(_document_field(document))
    standing = f"*Status:* {by_key['status'].mrkdwn}"
    engagement = by_key["engagement_status"].text
    if engagement:
        standing += f" \u00b7 {_mrkdwn(engagement, 1000)}"
    milestones = _attribute(state, "milestones") or ()
    if milestones:
        standing += "\n*Milestones:*\n" + "\n".join(
            f"\u2022 {escape(_line(str(item)))}" for item in milestones
        )
    summary = by_key["summary"].text
    return [
        models.SectionBlock(fields=[models.mrkdwn(field) for field in fields]),
        models.SectionBlock(text=models.mrkdwn(_fit(standing, SECTION_TEXT_LIMIT, escaped=True))),
        models.SectionBlock(
            text=models.mrkdwn(_block_text("Executive summary", summary or "None yet."))
        ),
    ]


_ROUTING = frozenset({*COMMON_FIELDS, "rule", "cites", "channel", "by", "due", *_KIND_FIELDS})
"""What says where and when a post goes, not what it says."""
_HEAD = ("customer", "severity", "owner", "status")
_PROSE = ("description", "summary")
"""Fields of free text that read as a paragraph of their own, below the fields."""


def _generic_items(
    action: Action, state: EscalationState, policy: Policy | None, channels: Mapping[str, str]
) -> list[_Item]:
    """The template's fields, in one order for every post of the policy: the customer, the
    severity, the owner, the status; the fields of the policy's post actions (filled from the
    action, else as the policy fills them from the escalation); who is kept informed."""
    by = getattr(action, "by", None)
    owner = _value(state.owner, policy, type(by) if isinstance(by, enum.Enum) else None)
    items = [
        _item("customer", "Customer", _line(str(_attribute(state, "customer") or ""))),
        _item("severity", _title(policy, "severity"), label(_attribute(state, "severity"))),
        _item("owner", _title(policy, "owner"), owner),
        _item("status", _title(policy, "status"), _value(state.status, policy)),
    ]
    fillers = _fillers(policy)
    for name in _template_fields(policy, type(action)):
        value = getattr(action, name, None)
        if _empty(value):
            value = _filled(fillers.get(name), state)
        if _empty(value):
            value = _attribute(state, name)
        text = _line(_shown(value)) if not _empty(value) else ""
        rich = _rich(text, channels) if text else None
        items.append(_item(name, _title(policy, name), text, rich))
    items.append(
        _item("involvement", _title(policy, "involvement"), _value(state.involvement, policy))
    )
    return items


def _generic_blocks(items: list[_Item], document: str | None) -> list["Block"]:
    models = _models()
    fields = [f"*{escape(item.title)}*\n{item.mrkdwn}" for item in items if item.key not in _PROSE]
    if document is not None:
        fields.append(_document_field(document))
    blocks: list[Block] = [
        models.SectionBlock(fields=[models.mrkdwn(text) for text in fields[start : start + 10]])
        for start in range(0, len(fields), FIELDS_PER_SECTION)
    ]
    for item in items:
        if item.key in _PROSE and item.text:
            blocks.append(
                models.SectionBlock(text=models.mrkdwn(_block_text(item.title, item.text)))
            )
    return blocks


def _template_fields(policy: Policy | None, action: type[Any]) -> tuple[str, ...]:
    """The fields a post of the policy shows besides the head: those of its post actions in
    the order they declare them, save what routes a post (channel, template, who posts by
    when) and yes-or-no flags."""
    kinds = (
        [kind for kind in policy.contract.actions.values() if _is_post_type(kind)]
        if (policy is not None)
        else []
    )
    if action not in kinds:
        kinds.append(action)
    found: list[str] = []
    for kind in kinds:
        for field in attrs.fields(kind):
            if field.name in _ROUTING or field.name in _HEAD or field.name in found:
                continue
            if field.type in (bool, bool | None):
                continue
            found.append(field.name)
    return tuple(found)


@functools.lru_cache(maxsize=16)
def _fillers(policy: Policy | None) -> Mapping[str, tuple[str, str]]:
    """How the policy fills each field of its post actions from the escalation: from an
    attribute (``("escalation", name)``) or a text template of them (``("text", "#esc_{x}")``)."""
    found: dict[str, tuple[str, str]] = {}
    for compiled in policy.reactions if policy is not None else ():
        for effect in compiled.reaction.then:
            if not (isinstance(effect, Emit) and _is_post_type(effect.action)):
                continue
            for field, attribute in effect.escalation.items():
                found.setdefault(field, ("escalation", attribute))
            for field, template in effect.text.items():
                found.setdefault(field, ("text", template))
    return found


def _filled(filler: tuple[str, str] | None, state: EscalationState) -> object:
    if filler is None:
        return None
    how, what = filler
    if how == "escalation":
        return getattr(state, what, None)
    values = {name: getattr(value, "value", value) for name, value in state.attributes.items()}
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(what) if name]
        if any(values.get(name) is None for name in names):
            return None
        return what.format(**values)
    except (KeyError, IndexError, ValueError, AttributeError):
        return None


def _closing_fields(policy: Policy | None) -> tuple[str, ...]:
    """The attributes the policy's closing fact sets (an outcome, a verdict, links)."""
    if policy is None:
        return ()
    terms = policy.terms
    found: list[str] = []
    for tag, move in terms.moves.items():
        if CLOSED in move.values():
            found += [name for name, _ in terms.sets.get(tag, ()) if name not in found]
    return tuple(found)


def _outcome(
    state: EscalationState,
    closed_at: dt.datetime,
    policy: Policy | None,
    channels: Mapping[str, str],
) -> str:
    """How the escalation ended: when, after how long, and what its closing fact recorded."""
    lines = [
        f"*Closed* {_date(closed_at)}, {duration(closed_at - state.opened_at)} after it opened."
    ]
    for name in _closing_fields(policy):
        value = _attribute(state, name)
        title = _title(policy, name)
        if isinstance(value, bool) or (value is None and name.endswith("_met")):
            verdict = {True: "yes", False: "no", None: "no verdict given"}[value]
            shown = verdict
            criteria = name.removesuffix("_met")
            if criteria != name and not _empty(_attribute(state, criteria)):
                shown += f" ({_line(str(_attribute(state, criteria)))})"
            lines.append(f"\u2022 *{escape(title)}:* {_mrkdwn(shown, 400)}")
        elif _empty(value):
            lines.append(f"\u2022 *{escape(title)}:* none")
        else:
            text = _line(_shown(value))
            lines.append(f"\u2022 *{escape(title)}:* {_rich(text, channels, text=title)}")
    return _fit_lines(lines, SECTION_TEXT_LIMIT)


def _fit_lines(lines: list[str], limit: int) -> str:
    """Lines of mrkdwn (each whole, since cutting one could break its markup) within
    ``limit``: the lines that fit."""
    kept: list[str] = []
    used = 0
    for line in lines:
        size = _units(line) + 1
        if used + size > limit:
            break
        kept.append(line)
        used += size
    return "\n".join(kept)


def _footer(
    action: Action, state: EscalationState, policy: Policy | None, channels: Mapping[str, str]
) -> "Block":
    """Who posts where by when, and the sections of the policy that ask for the post: small,
    last, out of the reader's way (the rule's id is in the action, for those who look)."""
    channel = str(getattr(action, "channel", ""))
    by, due = getattr(action, "by", None), getattr(action, "due", None)
    where = _channel(channel, channels) if channel else "-"
    if by is not None and isinstance(due, dt.datetime):
        who = f"{_mrkdwn(_value(by, policy), 200)} posts to {where} by {_date(due)}"
    else:
        who = f"Posted to {where}"
    models = _models()
    return models.ContextBlock(
        elements=[
            models.mrkdwn(_mrkdwn(state.escalation_id, 300)),
            models.mrkdwn(who),
            models.mrkdwn(_mrkdwn(f"Required by {action.cites}", CONTEXT_TEXT_LIMIT)),
        ]
    )


def _block_text(title: str, value: str) -> str:
    """A section's text: the title in bold over the (escaped) value, within the limit."""
    head = f"*{escape(title)}*\n"
    return head + _mrkdwn(value, SECTION_TEXT_LIMIT - _units(head))


def _header(title: str, customer: str) -> str:
    return _fit(f"{title}: {_line(customer)}", HEADER_LIMIT)


class _Models:
    """slack_sdk's Block Kit models, imported on first use."""

    def __init__(self) -> None:
        try:
            from slack_sdk.models.blocks import (
                ContextBlock,
                DividerBlock,
                HeaderBlock,
                MarkdownTextObject,
                PlainTextObject,
                SectionBlock,
            )
        except ImportError as error:
            raise ImportError(NEEDS_SLACK_SDK) from error
        self.ContextBlock = ContextBlock
        self.DividerBlock = DividerBlock
        self.HeaderBlock = HeaderBlock
        self.MarkdownTextObject = MarkdownTextObject
        self.PlainTextObject = PlainTextObject
        self.SectionBlock = SectionBlock

    def mrkdwn(self, text: str) -> Any:
        """A mrkdwn text object that Slack takes verbatim: it formats the markup the text has,
        but turns no web address, channel name or ``@here`` of it into a link or a mention."""
        return self.MarkdownTextObject(text=text, verbatim=True)


def _models() -> _Models:
    return _Models()  # cheap: Python keeps imported modules
