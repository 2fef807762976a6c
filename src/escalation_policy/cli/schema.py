"""``escalation-policy schema``: print the JSON Schema of the policy's facts and actions."""

import argparse
import json

from escalation_policy.cli._common import EXIT_OK, Commands, Output, add_command, chosen_policy
from escalation_policy.schema import json_schema


def register(commands: Commands) -> None:
    parser = add_command(
        commands,
        "schema",
        help="print the JSON Schema of the policy's facts and actions",
        description="Print the JSON Schema (draft 07) of the loaded policy's facts and actions, "
        "for hosts in other languages: a fact it rejects, the library refuses too.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: Output) -> int:
    out.write(json.dumps(json_schema(chosen_policy(args)), indent=2) + "\n")
    return EXIT_OK
