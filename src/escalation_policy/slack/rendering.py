"""Posts the policy requires as Slack messages: a plain-text fallback and Block Kit blocks,
built and validated with slack_sdk's own models (imported on first use)."""

import datetime as dt
import enum
import functools
import re
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from escalation_policy.model import COMMON_FIELDS, Action
from escalation_policy.policy import Policy, default_policy
from escalation_policy.render import label, plain, timestamp
from escalation_policy.state import EscalationState

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
    """A free field's value as people read it: a timestamp in minutes, a value's wording."""
    if isinstance(value, dt.datetime):
        return timestamp(value)
    return label(value)


def _empty(value: object) -> bool:
    return value is None or value == () or value == [] or value == ""


def _title(policy: Policy | None, name: str) -> str:
    """A field's title: as a decision table of the policy titles its column, else its name."""
    for compiled in policy.tables if policy is not None else ():
        title = compiled.table.columns.get(name)
        if title:
            return title
    return name.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------------- message
@attrs.frozen
class SlackMessage:
    """A message for Slack: ``text``, the plain-text fallback that notifications and screen
    readers show (escaped for Slack), and ``blocks``, its Block Kit layout as JSON objects
    (``chat.postMessage``'s ``text`` and ``blocks``)."""

    text: str
    blocks: list[dict[str, Any]]


def is_post(action: Action) -> bool:
    """Whether ``action`` says a post to a channel is due: it has a ``channel`` field and one
    that says which post (the handbook's ``reason``, or a ``template``)."""
    if not attrs.has(type(action)):
        return False
    names = {field.name for field in attrs.fields(type(action))}
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


def _is_handbook_post(action: Action) -> bool:
    names = {field.name for field in attrs.fields(type(action))}
    return action.TYPE == _HANDBOOK_POST and _HANDBOOK_FIELDS <= names


def _document_field(document: str | None) -> str:
    """The tracker document: a link when it is a web address, else its text."""
    if document is None:
        return _field("Tracker document", "not linked yet")
    head = "*Tracker document*\n"
    parsed = urllib.parse.urlsplit(document)
    link_safe = parsed.scheme in ("http", "https") and parsed.netloc and document.isprintable()
    # In a mrkdwn link, | and > end the address: they are percent-encoded, & escaped.
    address = _entities(document.replace("|", "%7C").replace(">", "%3E").replace(" ", "%20"))
    if link_safe and _units(head + address) + 30 <= FIELD_LIMIT:
        return f"{head}<{address}|Open the tracker document>"
    return _field("Tracker document", _line(document))


def message(
    action: Action,
    state: EscalationState,
    *,
    document: str | None = None,
    policy: Policy | None = None,
) -> SlackMessage:
    """The Slack message for a post the policy requires, about the escalation in ``state``.

    ``action`` is a post action (:func:`is_post`): the handbook's
    :class:`~escalation_policy.PostToChannel` renders as its New, Update, Closure or
    Risk-reduced post (customer, severity, owner, involvement, status and milestones, executive
    summary, tracker document); another policy's post renders from the action's and the
    state's fields. ``state`` is the escalation's (``PolicyEngine.escalation`` or
    ``Service.escalation``), ``document`` the tracker document's address, if known, and
    ``policy`` the action's policy, whose wording the message uses for values a state read
    from JSON holds as text, and for field titles (by default, the handbook's policy for its
    own actions). User text is escaped for mrkdwn and every text is cut to Block Kit's limits.
    The blocks are built with slack_sdk's models, which validate them.
    """
    if not is_post(action):
        raise ValueError(
            f"got a {action.TYPE!r} action, expected a post to a channel: an action with a "
            f"'channel' field and a {' or '.join(repr(kind) for kind in _KIND_FIELDS)} field"
        )
    if not isinstance(state, EscalationState):
        raise TypeError(
            f"got {type(state).__name__} for the state, expected the escalation's "
            "EscalationState (None: the escalation is closed and settled, and was forgotten)"
        )
    if state.escalation_id != action.escalation_id:
        raise ValueError(
            f"got the state of {state.escalation_id!r} for a post about "
            f"{action.escalation_id!r}, expected the state of the same escalation"
        )
    if policy is None:
        handbook = default_policy()
        if type(action) in handbook.contract.actions.values():
            policy = handbook
    if _is_handbook_post(action):
        text, blocks = _handbook(action, state, document, policy)
    else:
        text, blocks = _generic(action, state, document, policy)
    return SlackMessage(text=text, blocks=[block.to_dict() for block in blocks])


def _fallback(
    title: str, customer: str, severity: str, owner: str, status: str, document: str | None
) -> str:
    sentence = (
        f"{title} post for {_line(customer)}: {severity} severity, owned by {owner}; "
        f"status: {status}."
    )
    if document is not None:
        sentence += f" Tracker document: {_line(document)}"
    return _fit(escape(sentence), TEXT_LIMIT, escaped=True)


class _Heading(NamedTuple):
    """What every post shows first, as text: its title and the escalation's customer,
    severity, owner and status."""

    title: str
    customer: str
    severity: str
    owner: str
    status: str


def _heading(action: Any, state: EscalationState, policy: Policy | None, by: object) -> _Heading:
    """``by``: the enumeration the owner is a member of (how the owner is named)."""
    return _Heading(
        title=_post_title(action),
        customer=str(state.attributes.get("customer") or state.escalation_id),
        severity=label(state.attributes.get("severity")),
        owner=_value(state.owner, policy, by),
        status=_value(state.status, policy),
    )


def _handbook(
    action: Any, state: EscalationState, document: str | None, policy: Policy | None
) -> tuple[str, list["Block"]]:
    models = _models()
    attributes = state.attributes
    title, customer, severity, owner, status = _heading(action, state, policy, type(action.by))
    fields = [
        _field("Customer", _line(customer)),
        _field("Severity", severity),
        _field("Segment", label(attributes.get("segment"))),
        _field("Owner", owner),
        _field("TAM", _line(str(attributes.get("tam") or "-"))),
        _field("Involvement", _value(state.involvement, policy)),
        _field("Cadence", _value(state.cadence, policy)),
        _document_field(document),
    ]
    standing = f"*Status:* {escape(status)}"
    engagement = attributes.get("engagement_status")
    if engagement:
        standing += f" \u00b7 {escape(str(engagement))}"
    milestones = attributes.get("milestones") or ()
    if milestones:
        standing += "\n*Milestones:*\n" + "\n".join(
            f"\u2022 {escape(_line(str(item)))}" for item in milestones
        )
    summary = attributes.get("summary")
    blocks: list[Block] = [
        models.HeaderBlock(text=models.PlainTextObject(text=_header(title, customer))),
        models.SectionBlock(fields=[models.mrkdwn(field) for field in fields]),
        models.SectionBlock(text=models.mrkdwn(_fit(standing, SECTION_TEXT_LIMIT, escaped=True))),
        models.SectionBlock(
            text=models.mrkdwn(_block_text("Executive summary", str(summary or "None yet.")))
        ),
        models.DividerBlock(),
        _context(
            _line(state.escalation_id),
            f"{label(action.by)} posts to {_line(action.channel)} by {timestamp(action.due)}",
            f"{action.rule} \u00b7 {action.cites}",
        ),
    ]
    return _fallback(title, customer, severity, owner, status, document), blocks


def _generic(
    action: Action, state: EscalationState, document: str | None, policy: Policy | None
) -> tuple[str, list["Block"]]:
    models = _models()
    attributes = state.attributes
    by = getattr(action, "by", None)
    title, customer, severity, owner, status = _heading(
        action, state, policy, type(by) if isinstance(by, enum.Enum) else None
    )
    pairs = [
        ("Customer", _line(customer)),
        (_title(policy, "severity"), severity),
        (_title(policy, "owner"), owner),
        (_title(policy, "involvement"), _value(state.involvement, policy)),
        (_title(policy, "status"), status),
    ]
    shown = {"customer", "severity", "owner", "involvement", "status"}
    skipped = {*COMMON_FIELDS, "rule", "cites", "channel", *_KIND_FIELDS, *shown}
    for field in attrs.fields(type(action)):
        value = getattr(action, field.name)
        if field.name not in skipped and not _empty(value):
            pairs.append((_title(policy, field.name), _shown(value)))
            shown.add(field.name)
    for name, value in attributes.items():
        if name not in shown and not _empty(value):
            pairs.append((_title(policy, name), _shown(value)))
    fields = [_field(name, value) for name, value in pairs]
    if document is not None:
        fields.append(_document_field(document))
    blocks: list[Block] = [
        models.HeaderBlock(text=models.PlainTextObject(text=_header(title, customer)))
    ]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        chunk = fields[start : start + FIELDS_PER_SECTION]
        blocks.append(models.SectionBlock(fields=[models.mrkdwn(text) for text in chunk]))
    blocks += [
        models.DividerBlock(),
        _context(
            _line(state.escalation_id),
            f"{action.TYPE} to {_line(str(getattr(action, 'channel', '')))}",
            f"{action.rule} \u00b7 {action.cites}",
        ),
    ]
    return _fallback(title, customer, severity, owner, status, document), blocks


def _block_text(title: str, value: str) -> str:
    """A section's text: the title in bold over the (escaped) value, within the limit."""
    head = f"*{escape(title)}*\n"
    return head + _mrkdwn(value, SECTION_TEXT_LIMIT - _units(head))


def _header(title: str, customer: str) -> str:
    return _fit(f"{title}: {_line(customer)}", HEADER_LIMIT)


def _context(*parts: str) -> "Block":
    models = _models()
    return models.ContextBlock(
        elements=[models.mrkdwn(_mrkdwn(part, CONTEXT_TEXT_LIMIT)) for part in parts]
    )


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
