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


def run(args: argparse.Namespace, out: Output) -> int:
    names = [source_name(path) for path in args.files] + list(args.source or ())
    sources = set(names) if names else None
    with open_service(args, create=False, replan=True) as service:
        if args.acknowledge:
            # The wall clock, at the edge: when they were acknowledged.
            listed = service.acknowledge_refusals(dt.datetime.now(dt.timezone.utc), sources=sources)
        else:
            listed = service.refusals(sources=sources)
    for refusal in listed:
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
    if args.acknowledge:
        lines = "line" if len(listed) == 1 else "lines"
        write_error(f"acknowledged {len(listed)} refused {lines}")
    return EXIT_OK
