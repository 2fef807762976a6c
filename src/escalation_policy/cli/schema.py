"""``escalation-policy schema``: print the JSON Schema of the policy's facts and actions."""

import argparse
import json

from escalation_policy.cli._common import EXIT_OK, Output, chosen_policy
from escalation_policy.schema import json_schema


def run(args: argparse.Namespace, out: Output) -> int:
    out.write(json.dumps(json_schema(chosen_policy(args)), indent=2) + "\n")
    return EXIT_OK
