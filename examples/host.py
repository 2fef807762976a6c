"""A small host integration: feed facts to the policy and act on what it decides.

A real host would receive facts from CRM and ticketing webhooks and a scheduler (ticks), and
act through the Slack and CRM APIs. Here facts come from a JSON-lines file and acting means
printing what would be done.

    python examples/host.py examples/critical-outage.jsonl
"""

import json
import sys
from pathlib import Path

from escalation_policy import AssignOwner, InputError, PolicyEngine, SetInvolvement, Violation
from escalation_policy.rules import InformTam, PostToChannel


def act(action: object) -> str:
    """What this host does for an action: one line per side effect."""
    if isinstance(action, AssignOwner):
        return f"[crm] set owner of {action.escalation_id} to {action.owner.label}"
    if isinstance(action, SetInvolvement):
        return f"[crm] watchers of {action.escalation_id}: " + ", ".join(
            r.label for r in action.roles
        )
    if isinstance(action, PostToChannel):
        return (
            f"[slack] remind {action.by.label} to post the {action.reason.value} message for "
            f"{action.escalation_id} to {action.channel} by {action.due:%Y-%m-%d %H:%M %Z}"
        )
    if isinstance(action, InformTam):
        return f"[slack] DM {action.tam}: you are the TAM on {action.escalation_id}"
    if isinstance(action, Violation):
        return (
            f"[alert] {action.escalation_id} {action.code.value}: {action.detail} ({action.cites})"
        )
    return f"[log] {action}"


def main(path: str) -> int:
    engine = PolicyEngine()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            decision = engine.handle(json.loads(line))
        except InputError as error:
            print(f"{path}: {error.at_line(number)}", file=sys.stderr)
            return 2
        for action in decision.actions:
            print(act(action))
    print(
        f"[done] the engine holds {len(engine)} escalation(s) (open, or closed and awaiting a post)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "examples/critical-outage.jsonl"))
