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

``rendering`` builds the messages, ``poster`` posts them, ``records`` keeps where each went.
"""

from escalation_policy.slack.poster import EVENT_TYPE, SlackDeliveryError, SlackPost, SlackPoster
from escalation_policy.slack.records import SQLiteRecords
from escalation_policy.slack.rendering import SlackMessage, escape, is_post, message

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
