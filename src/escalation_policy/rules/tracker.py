"""Handbook section "Escalation Tracker Template".

Save the document for each individual customer and replace (CUSTOMER) with the customer
name.
Executive Summary: this section does not need to be updated daily but should be updated when
there are changes to the status of the overall engagement (e.g., top-level issue status,
milestones, etc.).
"""

import datetime as dt

from escalation_policy.vocabulary import (
    BOOL,
    Accept,
    BusinessTime,
    Cancel,
    ContextField,
    Emit,
    Fulfil,
    Obligation,
    Reaction,
    Require,
    Setting,
    Situation,
    one_of,
)

from .terms import (
    CreateTrackerDocument,
    CustomerContacted,
    ExecutiveSummaryUpdated,
    MeetingHeld,
    Opened,
    RiskReduced,
    Severity,
    SeverityChanged,
    Status,
    StatusChanged,
    UpdateExecutiveSummary,
    ViolationCode,
)

TRACKER = "Escalation Tracker Template"

# The template's title, "(CUSTOMER) Escalation Tracker", with the customer's name.
TRACKER_TITLE = "{customer} Escalation Tracker"
# "[Link] to template": the template the document is saved from.
TRACKER_TEMPLATE = (
    "https://docs.google.com/document/d/1DFW9WDigDZTRQlArqvyaLl_GcYi5lwsxKKKtcjB49s0/edit#"
)
# The sections the page requires: "Executive Summary", and in it "Milestones should include
# key customer and GitLab milestones".
TRACKER_SECTIONS = ("Executive Summary", "Key customer and company milestones")

# "Should be updated when there are changes to the status": how soon after the change (one
# business day of open time).
SUMMARY_UPDATE_WITHIN = BusinessTime(dt.timedelta(hours=8))

# Updated first, the change recorded after (or at the same instant, listed first): the summary
# was updated for it. A team often writes the summary up, then records the change in the CRM.
# An update does not say which change it answers, so only half an hour before counts, on the
# clock: a save for a change three quarters of an hour before, or for Friday's news, is not the
# update for a new change (Monday's, from the weekend).
EARLY_SUMMARY_GRACE = dt.timedelta(minutes=30)

SUMMARY_UPDATE = Setting(
    name="summary_update_within",
    default=SUMMARY_UPDATE_WITHIN,
    description="how soon the executive summary is updated after a change of status",
)

EXECUTIVE_SUMMARY = Obligation(
    id="executive_summary",
    violation=ViolationCode.EXECUTIVE_SUMMARY_OVERDUE,
    missed="the executive summary was not updated by {due}",
    renew_when_overdue=True,
    announce=UpdateExecutiveSummary,
    early_grace=EARLY_SUMMARY_GRACE,
)
"""The tracker's executive summary must be updated; a new change of status while it is
overdue asks for it afresh."""

OBLIGATIONS = (EXECUTIVE_SUMMARY,)

SUMMARY_ON_RAISE = "tracker.summary_on_severity_change"
_AN_INSTANT = dt.timedelta(seconds=1)


def _summary_owed_for_the_raise(situation: Situation) -> bool:
    """Whether the executive summary is owed for the change of severity before this one
    alone: required by that raise (``SUMMARY_ON_RAISE``, due as it set it), not owed from
    before it (a summary owed already stands as it was when a raise asks for it again). Told
    for sure only of a raise in open hours: a raise while the calendar is closed is due as
    one earlier the same evening or weekend would be, and is not told apart from it."""
    owed = [
        pending.due
        for pending in situation.record.pending
        if pending.obligation == EXECUTIVE_SUMMARY.id and pending.rule == SUMMARY_ON_RAISE
    ]
    before: object = situation.previous.get("severity_changed_at")
    if not owed or not isinstance(before, dt.datetime):
        return False
    if situation.open_time(before - _AN_INSTANT, before) <= dt.timedelta(0):
        return False  # closed just before the raise: its due time may be an earlier one's
    within = situation.policy.settings.get(SUMMARY_UPDATE.name, SUMMARY_UPDATE.default)
    due = (
        within.due(situation.calendar, before)
        if isinstance(within, BusinessTime)
        else before + within
    )
    return due in owed


def _status_news(situation: Situation) -> bool:
    """Whether a change of status says something new: another status or other milestones
    than the escalation had (a CRM that syncs the same status again changes nothing)."""
    fact = situation.fact
    previous = situation.previous
    return bool(
        fact.status != previous.get("engagement_status")
        or fact.milestones != (previous.get("milestones") or ())
    )


CONTEXT = (
    ContextField(
        "summary_owed_for_the_raise",
        BOOL,
        _summary_owed_for_the_raise,
        frozenset({SeverityChanged.TYPE}),
    ),
    ContextField("status_news", BOOL, _status_news, frozenset({StatusChanged.TYPE})),
)
"""Whether the executive summary is owed for the raise a change of severity follows alone;
whether a change of status says something new."""

TABLES = ()

REACTIONS = (
    Reaction(
        id="tracker.create_document",
        title="Each escalated customer gets an escalation tracker document",
        cites=TRACKER,
        on=(Opened,),
        then=(
            Emit(
                action=CreateTrackerDocument,
                text={"title": TRACKER_TITLE},
                values={"template": TRACKER_TEMPLATE, "sections": TRACKER_SECTIONS},
            ),
        ),
    ),
    Reaction(
        id="tracker.summary_on_status_change",
        title="The executive summary is updated when the engagement's status changes",
        cites=f"{TRACKER} > Executive Summary",
        on=(StatusChanged,),
        # The status a CRM sets as the escalation closes ("Closed - resolved") ends the
        # engagement: no summary is asked of it. Nor of the same status and milestones synced
        # again: "changes to the status" are asked about, and nothing changed.
        when={"status": one_of(Status.ACTIVE, Status.RISK_REDUCED), "status_news": True},
        then=(Require(obligation=EXECUTIVE_SUMMARY, within=SUMMARY_UPDATE),),
    ),
    Reaction(
        id="tracker.summary_on_severity_change",  # SUMMARY_ON_RAISE
        title="The executive summary is updated when the severity changes",
        cites=f"{TRACKER} > Executive Summary",
        on=(SeverityChanged,),
        # A severity set while the escalation is being set up (its created post still due,
        # its document not yet told to the channel) is the severity it is documented with, as
        # one it opened at is: no summary says otherwise yet.
        when={"severity_raised": True, "created_post_owed": False},
        then=(Require(obligation=EXECUTIVE_SUMMARY, within=SUMMARY_UPDATE),),
    ),
    Reaction(
        id="tracker.summary_on_severity_lowered",
        title="The executive summary is updated when the severity is lowered",
        cites=f"{TRACKER} > Executive Summary",
        on=(SeverityChanged,),
        when={"severity_lowered": True, "created_post_owed": False},
        then=(Require(obligation=EXECUTIVE_SUMMARY, within=SUMMARY_UPDATE),),
    ),
    # A raise corrected (back below High within two hours: communication.CORRECTED_WITHIN)
    # was a mistake, not a change "to the status of the overall engagement": the summary it
    # asked for is not owed, as the raise's update is not (communication.
    # update_when_raised_withdrawn). A summary owed from before the raise stays owed, and one
    # already updated for the raise is asked for again (summary_on_severity_lowered): it says
    # High. Risk reduced since the raise asks for the summary too; a raise made while the
    # calendar was closed is not told apart from an earlier one that evening, and keeps it.
    Reaction(
        id="tracker.summary_when_raised_withdrawn",
        title="A raise corrected, lowered to Medium or Low soon after, no longer owes the "
        "summary update it called for",
        cites=f"{TRACKER} > Executive Summary",
        on=(SeverityChanged,),
        when={
            "severity": one_of(Severity.MEDIUM, Severity.LOW),
            "corrects": True,
            "status": Status.ACTIVE,  # risk reduced since the raise asked for the summary too
            "summary_owed_for_the_raise": True,
        },
        then=(Cancel(obligations=(EXECUTIVE_SUMMARY,)),),
    ),
    Reaction(
        id="tracker.summary_on_risk_reduced",
        title="The executive summary is updated when risk is reduced",
        cites=f"{TRACKER} > Executive Summary",
        on=(RiskReduced,),
        # Once: risk reduced again (a CRM's re-sync) changes nothing, as for its post. After a
        # raise has escalated it again, it is active, and reducing the risk again is news.
        when={"status": Status.ACTIVE},
        then=(Require(obligation=EXECUTIVE_SUMMARY, within=SUMMARY_UPDATE),),
    ),
    Reaction(
        id="tracker.summary_updated",
        title="The executive summary was updated",
        cites=f"{TRACKER} > Executive Summary",
        on=(ExecutiveSummaryUpdated,),
        then=(Fulfil(obligation=EXECUTIVE_SUMMARY),),
    ),
    # What a CRM records as an escalation closes (its status "Closed - resolved", the final
    # summary, a closing call or meeting logged late) may come once the escalation is
    # forgotten: closed, with nothing more awaited (its closing post made, or a risk-reduced
    # post before it). It is taken as it is, as those facts are while the closing post is
    # awaited (AFTER_CLOSING).
    Reaction(
        id="tracker.recorded_as_it_closed",
        title="What a CRM records about an escalation no longer open (its closing status, the "
        "final summary, a closing call or meeting) is taken as it is",
        cites=f"{TRACKER}; Definitions of Severity Levels",
        on=(StatusChanged, ExecutiveSummaryUpdated, CustomerContacted, MeetingHeld),
        when={"known": False},
        then=(Accept(),),
    ),
)
