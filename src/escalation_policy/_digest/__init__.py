"""The weekly digest for Customer Success leadership: open escalations by severity and age,
obligations due this week, what was missed and by whom, and the compliance trend week over
week, from a recorded history (one replay, observed as the audit observes it) or a store.

``_weekly`` builds the digest; ``_formats`` writes it as Markdown, HTML and Slack blocks.
"""

from escalation_policy._digest._formats import digest_html, digest_markdown, digest_slack
from escalation_policy._digest._weekly import (
    AGES,
    MAX_WEEKS,
    Digest,
    DigestObserver,
    DueObligation,
    MissedObligation,
    OpenEscalation,
    WeekFigures,
    digest,
    parse_week,
)

__all__ = [
    "AGES",
    "MAX_WEEKS",
    "Digest",
    "DigestObserver",
    "DueObligation",
    "MissedObligation",
    "OpenEscalation",
    "WeekFigures",
    "digest",
    "digest_html",
    "digest_markdown",
    "digest_slack",
    "parse_week",
]
