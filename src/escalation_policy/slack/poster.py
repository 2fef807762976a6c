"""Posting rendered messages to Slack once per action id, and editing them later."""

import copy
import datetime as dt
import json
import time
from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from escalation_policy.errors import PolicyError
from escalation_policy.policy import Policy, channel_key
from escalation_policy.slack.rendering import NEEDS_SLACK_SDK, SlackMessage, message
from escalation_policy.state import EscalationState

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.http_retry import RetryHandler

    from escalation_policy.service import Delivery

__all__ = ["EVENT_TYPE", "SlackDeliveryError", "SlackPost", "SlackPoster"]

LAST_POST = "/last"
"""The records keep what the last post about each escalation showed under ``ESCALATION/last``
(no action id ends so: an action's id ends with its sequence number)."""

EVENT_TYPE = "escalation_policy_action"
"""The ``event_type`` of the message metadata every post carries; its ``event_payload`` holds
the action's id as ``action_id``."""


class SlackDeliveryError(PolicyError):
    """Slack did not take a post or an edit.

    ``slack_error`` is Slack's error code (``channel_not_found``, ``ratelimited``, ...), or
    ``None`` when Slack could not be reached. ``pending`` is set when whether the message was
    posted is unknown (the connection broke after the request was sent): the action stays
    recorded as pending, and the next :meth:`SlackPoster.post` looks for it in the channel
    before posting. Otherwise nothing was posted and nothing was recorded.
    """

    code = "slack_delivery"

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
            raise ImportError(NEEDS_SLACK_SDK) from error
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
        (:func:`message`) and post it under its id, to the action's channel.

        The poster keeps what the last post it delivered for each escalation showed (in its
        records, under ``ESCALATION/last``), so that the next one says what changed since;
        the channels it knows the ids of are linked."""
        action = delivery.action
        key = f"{action.escalation_id}{LAST_POST}"
        last = self._last_shown(key)
        rendered = message(
            action,
            state,
            document=document,
            policy=policy,
            since=None if last is None else SlackMessage(text="", blocks=[], shown=last),
            channels=self.channels,
        )
        channel = str(getattr(action, "channel", ""))  # message() checked it is there
        post = self.post(delivery.id, rendered, channel=channel)
        if post.new:
            self.records[key] = json.dumps({"action_id": delivery.id, "shown": rendered.shown})
        return post

    def _last_shown(self, key: str) -> dict[str, str] | None:
        """What the last post delivered about an escalation showed, if the records say."""
        text = self.records.get(key)
        if text is None:
            return None
        try:
            shown = json.loads(text)["shown"]
        except (ValueError, TypeError, KeyError):
            return None  # not a record this poster wrote: nothing to compare with
        if not isinstance(shown, dict):
            return None
        return {str(name): str(value) for name, value in shown.items()}

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
