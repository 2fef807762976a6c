"""The pure core: one escalation's record and one fact in, the record changed and actions out
(:mod:`.escalation`), and the one step every engine and service takes (:mod:`.step`)."""

from escalation_policy._core.escalation import advance, check, check_time, decide, release

__all__ = ["advance", "check", "check_time", "decide", "release"]
