"""Handbook section "Escalation Tracker Template".

Save the document for each individual customer and replace (CUSTOMER) with the customer
name.
Executive Summary: this section does not need to be updated daily but should be updated when
there are changes to the status of the overall engagement (e.g., top-level issue status,
milestones, etc.).
"""

import datetime as dt

from escalation_policy.model import ExecutiveSummaryUpdated, Opened, StatusChanged
from escalation_policy.vocabulary import (
    CreateTrackerDocument,
    Fulfil,
    Obligation,
    Reaction,
    UpdateExecutiveSummary,
)

TRACKER = "Escalation Tracker Template"

# The template's title; "(CUSTOMER)" is replaced with the customer's name.
TRACKER_TITLE = "(CUSTOMER) Escalation Tracker"

# "Should be updated when there are changes to the status": how soon after the change.
SUMMARY_UPDATE_WITHIN = dt.timedelta(hours=24)

TABLES = ()

REACTIONS = (
    Reaction(
        id="tracker.create_document",
        title="Each escalated customer gets an escalation tracker document",
        cites=TRACKER,
        on=(Opened,),
        then=(CreateTrackerDocument(title=TRACKER_TITLE),),
    ),
    Reaction(
        id="tracker.summary_on_status_change",
        title="The executive summary is updated when the engagement's status changes",
        cites=f"{TRACKER} > Executive Summary",
        on=(StatusChanged,),
        then=(UpdateExecutiveSummary(within=SUMMARY_UPDATE_WITHIN),),
    ),
    Reaction(
        id="tracker.summary_updated",
        title="The executive summary was updated",
        cites=f"{TRACKER} > Executive Summary",
        on=(ExecutiveSummaryUpdated,),
        then=(Fulfil(obligation=Obligation.EXECUTIVE_SUMMARY),),
    ),
)
