"""Slack for the escalation's people: the policy's channel posts as Block Kit messages, posted
once.

:func:`message` renders a post the policy requires (the handbook's ``post_to_channel``, or the
post action of any other policy) and the escalation's state as a Slack message: a plain-text
fallback and Block Kit blocks, built and validated with slack_sdk's own models.
:class:`SlackPoster` posts it with ``chat.postMessage`` under the action's stable id
(:attr:`~escalation_policy.service.Delivery.id`), so that a delivery tried again, after a rate
limit, a lost connection or a crash, does not post twice; it can edit the message later.
See ``docs/slack.md``.

This module needs slack_sdk: ``pip install 'escalation-policy[slack]'``. It imports without it;
what needs slack_sdk raises an :class:`ImportError` saying so.
"""

import copy
import datetime as dt
import enum
import functools
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import attrs

from escalation_policy.errors import PolicyError
from escalation_policy.model import COMMON_FIELDS, Action
from escalation_policy.policy import Policy, channel_key, default_policy
from escalation_policy.render import label, plain, timestamp
from escalation_policy.state import EscalationState

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.http_retry import RetryHandler
    from slack_sdk.models.blocks import Block

    from escalation_policy.service import Delivery

__all__ = [
    "EVENT_TYPE",
    "SQLiteRecords",
    "SlackDeliveryError",
    "SlackMessage",
    "SlackPost",
    "SlackPoster",
    "escape",
    "is_post",
    "message",
]

EVENT_TYPE = "escalation_policy_action"
"""The ``event_type`` of the message metadata every post carries; its ``event_payload`` holds
the action's id as ``action_id``."""

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks), in characters as
# Slack counts them (UTF-16 code units: never fewer than Python's code points).
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
TEXT_LIMIT = 3000
"""The plain-text fallback: Slack truncates longer ones, and notifications show far less."""

_NEEDS_SLACK_SDK = (
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
def escape(text: str) -> str:
    """Text for Slack's mrkdwn (and a message's ``text``): ``&``, ``<`` and ``>`` escaped as
    Slack requires, so that user text can neither mention nor link nor break the markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    address = escape(document.replace("|", "%7C").replace(">", "%3E").replace(" ", "%20"))
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
        models.SectionBlock(fields=[models.MarkdownTextObject(text=field) for field in fields]),
        models.SectionBlock(
            text=models.MarkdownTextObject(text=_fit(standing, SECTION_TEXT_LIMIT, escaped=True))
        ),
        models.SectionBlock(
            text=models.MarkdownTextObject(
                text=_block_text("Executive summary", str(summary or "None yet."))
            )
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
        blocks.append(
            models.SectionBlock(fields=[models.MarkdownTextObject(text=text) for text in chunk])
        )
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
        elements=[
            models.MarkdownTextObject(text=_mrkdwn(part, CONTEXT_TEXT_LIMIT)) for part in parts
        ]
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
            raise ImportError(_NEEDS_SLACK_SDK) from error
        self.ContextBlock = ContextBlock
        self.DividerBlock = DividerBlock
        self.HeaderBlock = HeaderBlock
        self.MarkdownTextObject = MarkdownTextObject
        self.PlainTextObject = PlainTextObject
        self.SectionBlock = SectionBlock


def _models() -> _Models:
    return _Models()  # cheap: Python keeps imported modules


# --------------------------------------------------------------------------------- delivery
class SlackDeliveryError(PolicyError):
    """Slack did not take a post or an edit.

    ``slack_error`` is Slack's error code (``channel_not_found``, ``ratelimited``, ...), or
    ``None`` when Slack could not be reached. ``pending`` is set when whether the message was
    posted is unknown (the connection broke after the request was sent): the action stays
    recorded as pending, and the next :meth:`SlackPoster.post` looks for it in the channel
    before posting. Otherwise nothing was posted and nothing was recorded.
    """

    code: ClassVar[str] = "slack_delivery"

    def __init__(
        self,
        message: str,
        *,
        action_id: str,
        slack_error: str | None = None,
        pending: bool = False,
    ) -> None:
        self.action_id = action_id
        self.slack_error = slack_error
        self.pending = pending
        super().__init__(message)


@attrs.frozen
class SlackPost:
    """A posted message: the action's id, the channel's id and the message's ``ts`` (what
    ``chat.update`` and a permalink need). ``new`` is false when the action had been posted
    before (found in the records, or in the channel after a crash): nothing was posted now."""

    action_id: str
    channel: str
    ts: str
    new: bool = True


@attrs.frozen
class _Record:
    channel: str
    ts: str | None = None
    since: float | None = None

    @classmethod
    def read(cls, action_id: str, text: str) -> "_Record":
        try:
            data = json.loads(text)
            if "ts" in data:
                return cls(channel=str(data["channel"]), ts=str(data["ts"]))
            return cls(channel=str(data["channel"]), since=float(data["since"]))
        except (ValueError, TypeError, KeyError):
            raise SlackDeliveryError(
                f"the record of {action_id!r} is {text!r}, expected the JSON object "
                "SlackPoster writes",
                action_id=action_id,
            ) from None

    def write(self) -> str:
        if self.ts is not None:
            return json.dumps({"channel": self.channel, "ts": self.ts})
        return json.dumps({"channel": self.channel, "since": self.since, "pending": True})


class SlackPoster:
    """Posts rendered messages to Slack once per action id, and edits them later.

    ``client`` is a ``slack_sdk.WebClient``; ``records`` a persistent mapping of action id to
    where its message is (a :class:`SQLiteRecords`, or any ``MutableMapping[str, str]`` that
    keeps what is written to it). ``channels`` maps channel names as the policy writes them
    (``#escalated_customers``; ``#`` and case do not matter) to Slack channel ids: looking for
    a message after a crash needs the id.

    Exactly once: the action is recorded as pending before ``chat.postMessage`` and as posted
    (channel id and ``ts``) after it, and the message carries the action's id in its metadata
    (:data:`EVENT_TYPE`). A pending action found on a later try (the process died, or the
    connection broke, between the post and its record) is looked for in the channel's history
    before it is posted again. Rate limits (HTTP 429) are waited out and retried with
    slack_sdk's ``RateLimitErrorRetryHandler``, up to ``rate_limit_retries`` times.

    The poster uses copies of ``client`` with its own retry handlers (``client`` itself is
    left as it was): ``chat.postMessage`` is retried on rate limits only, since slack_sdk's
    default retry of a broken connection would send a post that may already have been taken;
    the poster's pending record covers that case instead.
    """

    def __init__(
        self,
        client: "WebClient",
        records: MutableMapping[str, str],
        *,
        channels: Mapping[str, str] | None = None,
        rate_limit_retries: int = 3,
        clock_skew: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        try:
            from slack_sdk.http_retry import RateLimitErrorRetryHandler
        except ImportError as error:
            raise ImportError(_NEEDS_SLACK_SDK) from error
        limiters: list[RetryHandler] = [
            handler
            for handler in client.retry_handlers
            if isinstance(handler, RateLimitErrorRetryHandler)
        ] or [RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)]
        others = [h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)]
        self.client = client
        self.records = records
        self.channels = {channel_key(name): id_ for name, id_ in (channels or {}).items()}
        self.clock_skew = clock_skew
        self._posting = _with_handlers(client, limiters)
        self._calling = _with_handlers(client, [*others, *limiters])

    # ---------------------------------------------------------------------------- posting
    def post(self, action_id: str, message: SlackMessage, *, channel: str) -> SlackPost:
        """Post ``message`` to ``channel`` for the action ``action_id``, unless it was posted
        before: then return where it is, and post nothing.

        Raises :class:`SlackDeliveryError` naming Slack's error code if Slack refuses the
        post (nothing is posted or recorded), or if Slack cannot be reached (the action stays
        pending: try again, and the next try looks for it first).
        """
        record = self._record(action_id)
        if record is not None and record.ts is not None:
            return SlackPost(action_id, record.channel, record.ts, new=False)
        if record is not None:
            found = self._find(action_id, record)
            if found is not None:
                return found
        destination = self.channels.get(channel_key(channel), channel)
        since = time.time()
        if record is not None and record.since is not None:
            since = min(since, record.since)
        self.records[action_id] = _Record(destination, since=since).write()
        from slack_sdk.errors import SlackApiError

        try:
            response = self._posting.chat_postMessage(
                channel=destination,
                text=message.text,
                blocks=message.blocks,
                metadata=_metadata(action_id),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            code = _error_code(error)
            if error.response.status_code < 500:  # Slack answered: nothing was posted
                del self.records[action_id]
                raise SlackDeliveryError(
                    f"Slack refused to post {action_id!r} to {destination}: {code}; nothing "
                    "was posted",
                    action_id=action_id,
                    slack_error=code,
                ) from None
            raise self._unknown(action_id, destination, f"Slack answered {code}") from None
        except Exception as error:
            raise self._unknown(action_id, destination, str(error) or repr(error)) from error
        posted = SlackPost(action_id, str(response["channel"]), str(response["ts"]))
        self.records[action_id] = _Record(posted.channel, ts=posted.ts).write()
        return posted

    def deliver(
        self,
        delivery: "Delivery",
        state: EscalationState,
        *,
        document: str | None = None,
        policy: Policy | None = None,
    ) -> SlackPost:
        """Render a post action claimed from a :class:`~escalation_policy.Service`
        (:func:`message`) and post it under its id, to the action's channel."""
        rendered = message(delivery.action, state, document=document, policy=policy)
        channel = str(getattr(delivery.action, "channel", ""))  # message() checked it is there
        return self.post(delivery.id, rendered, channel=channel)

    def update(self, action_id: str, message: SlackMessage) -> SlackPost:
        """Replace the message posted for ``action_id`` (``chat.update`` of its ``ts``): the
        post shows the escalation as it now stands. Raises :class:`SlackDeliveryError` if it
        was never posted, or if Slack refuses the edit."""
        record = self._record(action_id)
        post = None
        if record is not None and record.ts is not None:
            post = SlackPost(action_id, record.channel, record.ts, new=False)
        elif record is not None:
            post = self._find(action_id, record)
        if post is None:
            raise SlackDeliveryError(
                f"cannot update {action_id!r}: it was never posted", action_id=action_id
            )
        from slack_sdk.errors import SlackApiError

        try:
            self._calling.chat_update(
                channel=post.channel,
                ts=post.ts,
                text=message.text,
                blocks=message.blocks,
                metadata=_metadata(action_id),
            )
        except SlackApiError as error:
            code = _error_code(error)
            raise SlackDeliveryError(
                f"Slack refused to update {action_id!r} (message {post.ts} in {post.channel}): "
                f"{code}",
                action_id=action_id,
                slack_error=code,
            ) from None
        except Exception as error:
            raise SlackDeliveryError(
                f"could not reach Slack to update {action_id!r}: {error}; the edit can be "
                "tried again",
                action_id=action_id,
            ) from error
        return post

    def posted(self, action_id: str) -> SlackPost | None:
        """Where the message of ``action_id`` was posted, as recorded (``None``: not posted,
        or pending)."""
        record = self._record(action_id)
        if record is None or record.ts is None:
            return None
        return SlackPost(action_id, record.channel, record.ts, new=False)

    # -------------------------------------------------------------------------- internals
    def _record(self, action_id: str) -> _Record | None:
        text = self.records.get(action_id)
        return None if text is None else _Record.read(action_id, text)

    def _find(self, action_id: str, record: _Record) -> SlackPost | None:
        """Look for a pending action's message in its channel, by its metadata; record it
        as posted if it is there."""
        from slack_sdk.errors import SlackApiError

        since = record.since if record.since is not None else time.time()
        oldest = f"{max(since - self.clock_skew.total_seconds(), 0):.6f}"
        cursor: str | None = None
        while True:
            try:
                page = self._calling.conversations_history(
                    channel=record.channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            except SlackApiError as error:
                code = _error_code(error)
                hint = ""
                if code == "channel_not_found" and record.channel.startswith("#"):
                    hint = (
                        f"; conversations.history needs the channel's id: give "
                        f"SlackPoster(channels={{{record.channel!r}: 'C...'}})"
                    )
                raise SlackDeliveryError(
                    f"{action_id!r} may have been posted to {record.channel} (it is pending) "
                    f"and looking for it failed: {code}{hint}; nothing was posted again",
                    action_id=action_id,
                    slack_error=code,
                    pending=True,
                ) from None
            except Exception as error:
                raise self._unknown(action_id, record.channel, str(error)) from error
            for item in page.get("messages") or ():
                metadata = item.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == EVENT_TYPE and payload.get("action_id") == (
                    action_id
                ):
                    channel = str(page.get("channel") or record.channel)
                    post = SlackPost(action_id, channel, str(item["ts"]), new=False)
                    self.records[action_id] = _Record(post.channel, ts=post.ts).write()
                    return post
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None

    def _unknown(self, action_id: str, channel: str, why: str) -> SlackDeliveryError:
        return SlackDeliveryError(
            f"whether {action_id!r} was posted to {channel} is unknown ({why}): it stays "
            "pending, and the next post() looks for it in the channel before posting",
            action_id=action_id,
            pending=True,
        )


def _metadata(action_id: str) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"action_id": action_id}}


def _error_code(error: Exception) -> str:
    response: Any = getattr(error, "response", None)
    data = getattr(response, "data", None)
    if isinstance(data, Mapping) and data.get("error"):
        return str(data["error"])
    status = getattr(response, "status_code", None)
    return f"HTTP {status}" if status is not None else type(error).__name__


def _with_handlers(client: "WebClient", handlers: Sequence["RetryHandler"]) -> "WebClient":
    twin = copy.copy(client)
    twin.retry_handlers = list(handlers)
    return twin


# ---------------------------------------------------------------------------------- records
class SQLiteRecords(MutableMapping[str, str]):
    """Where each action's message is, in a SQLite file (``":memory:"`` for a test): the
    records a :class:`SlackPoster` keeps. Every write is committed at once. Safe to share
    between threads; close it with :meth:`close` (or use it as a context manager)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        with self._lock:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS slack_posts "
                "(action_id TEXT PRIMARY KEY, record TEXT NOT NULL)"
            )

    def __getitem__(self, action_id: str) -> str:
        with self._lock:
            row = self._connection.execute(
                "SELECT record FROM slack_posts WHERE action_id = ?", (action_id,)
            ).fetchone()
        if row is None:
            raise KeyError(action_id)
        return str(row[0])

    def __setitem__(self, action_id: str, record: str) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT INTO slack_posts (action_id, record) VALUES (?, ?) "
                "ON CONFLICT (action_id) DO UPDATE SET record = excluded.record",
                (action_id, record),
            )

    def __delitem__(self, action_id: str) -> None:
        with self._lock:
            deleted = self._connection.execute(
                "DELETE FROM slack_posts WHERE action_id = ?", (action_id,)
            ).rowcount
        if not deleted:
            raise KeyError(action_id)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT action_id FROM slack_posts ORDER BY action_id"
            ).fetchall()
        return iter([str(row[0]) for row in rows])

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._connection.execute("SELECT COUNT(*) FROM slack_posts").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._connection.close()

    def __del__(self) -> None:
        # Records dropped without close() still release their file (Python 3.13 warns about a
        # connection left open).
        connection = getattr(self, "_connection", None)
        if connection is not None:
            connection.close()

    def __enter__(self) -> "SQLiteRecords":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
