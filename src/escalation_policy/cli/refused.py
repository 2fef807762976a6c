"""``escalation-policy refused``: the lines ``run --keep-going`` refused and read past, until
they are acknowledged."""

import argparse
import datetime as dt
import json

from escalation_policy.cli._common import (
    EXIT_OK,
    Output,
    open_service,
    source_name,
    source_shown,
    write_error,
)
from escalation_policy.service import Refusal
from escalation_policy.service._results import DamagedRows


def run(args: argparse.Namespace, out: Output) -> int:
    names = [source_name(path) for path in args.files] + list(args.source or ())
    sources = set(names) if names else None
    with open_service(args, create=False, replan=True) as service:
        try:
            if args.acknowledge:
                # The wall clock, at the edge: when they were acknowledged.
                now = dt.datetime.now(dt.timezone.utc)
                listed = service.acknowledge_refusals(now, sources=sources)
            else:
                listed = service.refusals(sources=sources)
        except DamagedRows as error:  # the others are listed; none is acknowledged
            _write(out, error.readable)
            raise
    _write(out, listed)
    if args.acknowledge:
        lines = "line" if len(listed) == 1 else "lines"
        write_error(f"acknowledged {len(listed)} refused {lines}")
    return EXIT_OK


def _write(out: Output, refusals: list[Refusal]) -> None:
    for refusal in refusals:
        record = {
            "type": "refused",
            "file": source_shown(refusal.source),
            "source": refusal.source,
            "line": refusal.position,
            "code": refusal.code,
            "path": refusal.path,
            "reason": refusal.reason,
            "fact_id": refusal.fact_id,
            "refused_at": refusal.at.isoformat() if refusal.at is not None else None,
        }
        out.write(json.dumps(record) + "\n")
