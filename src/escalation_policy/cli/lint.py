"""``escalation-policy lint``: check a policy package, for a CI job."""

import argparse
import json
from collections.abc import Iterator

from escalation_policy._lint import ERROR, WARNING, LintFinding, lint_loaded
from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_VIOLATIONS,
    Exit,
    Output,
    chosen_policy,
    display_name,
    read_items,
)
from escalation_policy.errors import InputError, PolicyDefinitionError
from escalation_policy.model import Fact
from escalation_policy.policy import Policy
from escalation_policy.render import plain


def _history(path: str, policy: Policy) -> Iterator[Fact | InputError]:
    for _, _, item in read_items([path], policy):
        yield item


def _readable(path: str) -> None:
    if path == "-":
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise Exit(EXIT_BAD_INPUT, f"cannot read {path}: {error.strerror or error}") from None


def run(args: argparse.Namespace, out: Output) -> int:
    try:
        policy = chosen_policy(args)
    except PolicyDefinitionError as error:
        findings: tuple[LintFinding, ...] = (
            LintFinding(
                level=ERROR,
                code=error.code,
                message=error.reason,
                file=error.file,
                line=error.line,
                module=error.module,
                rule=error.rule,
            ),
        )
    else:
        for path in args.history:  # every file opened first: a misspelt name stops at once
            _readable(path)
        histories = [_history(path, policy) for path in args.history]
        findings = lint_loaded(
            policy,
            given=dict(args.setting or ()),
            histories=histories,
            names=[display_name(path) for path in args.history],
        )
    errors = sum(1 for finding in findings if finding.level == ERROR)
    warnings = sum(1 for finding in findings if finding.level == WARNING)
    if args.format == "json":
        body = {
            "errors": errors,
            "warnings": warnings,
            "findings": [finding.to_json() for finding in findings],
        }
        out.write(json.dumps(body, indent=2) + "\n")
    else:
        for finding in findings:
            out.write(plain(str(finding)) + "\n")
        out.write(
            f"{errors} {_plural(errors, 'error')}, {warnings} {_plural(warnings, 'warning')}\n"
        )
    if errors:
        return EXIT_BAD_INPUT
    if warnings and args.strict:
        return EXIT_VIOLATIONS
    return EXIT_OK


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
