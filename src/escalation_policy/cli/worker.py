"""``escalation-policy worker``: run the store's due scans on the wall clock and deliver its
outbox."""

import argparse
import contextlib
import datetime as dt
import os
import signal
import subprocess
import time

from escalation_policy.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Exit,
    Output,
    given_time,
    open_service,
    write_error,
)
from escalation_policy.service import Delivery, Service
from escalation_policy.service._results import delivery_json


class _Stop:
    """Set by SIGTERM or SIGINT: the worker ends its round and exits."""

    requested = False

    @classmethod
    def install(cls) -> None:
        def stop(_signal: int, _frame: object) -> None:
            cls.requested = True

        for number in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(number, stop)


def run(args: argparse.Namespace, out: Output) -> int:
    if args.now is not None and not args.once:
        raise Exit(EXIT_BAD_INPUT, "--now is for one round: give --once with it")
    now_given = given_time(args.now)
    _Stop.requested = False
    if not args.once:
        _Stop.install()  # before the store opens: a SIGTERM from then on ends the worker cleanly
    service = open_service(args, catch_up=False)
    dead_letters = 0
    damaged: set[str] = set()
    with service:
        while True:
            # The wall clock is read here and nowhere else in the library.
            now = now_given or dt.datetime.now(dt.timezone.utc)
            service.run_due(now - service.lateness)
            _deliver(service, args, out, now)
            dead_letters = _report_dead_letters(service, dead_letters)
            damaged = _report_damaged(service, damaged)
            if args.once or _Stop.requested:
                return EXIT_OK
            wake = [now + dt.timedelta(seconds=args.interval)]
            for when in (service.next_wakeup(), service.next_delivery()):
                if when is not None:
                    wake.append(when + service.lateness)
            pause = (min(wake) - dt.datetime.now(dt.timezone.utc)).total_seconds()
            end = time.monotonic() + max(pause, 0.0)
            while not _Stop.requested and time.monotonic() < end:
                time.sleep(min(0.2, max(end - time.monotonic(), 0.0)))
            if _Stop.requested:
                return EXIT_OK


def _report_dead_letters(service: Service, reported: int) -> int:
    """Say how many dead letters the store holds when that changed since the last report (a
    worker that starts reports them once): they wait for a person, and are otherwise only
    seen with `status` and `dead-letters`."""
    count = service.store.dead_letter_count()  # every round: one indexed count, no more
    if count and count != reported:
        letters = "action is" if count == 1 else "actions are"
        write_error(
            f"{count} {letters} set aside as dead letters (undeliverable with this policy); "
            "`escalation-policy dead-letters` lists them"
        )
    return count


def _report_damaged(service: Service, reported: set[str]) -> set[str]:
    """Say once which escalations the due scans set aside because their stored state is
    damaged: nothing of theirs falls due until the row is repaired."""
    damaged = service.damaged
    for escalation_id, problem in damaged.items():
        if escalation_id not in reported:
            write_error(f"{problem}: set aside; nothing of it falls due until it is repaired")
    return set(damaged)


def _deliver(service: Service, args: argparse.Namespace, out: Output, now: dt.datetime) -> None:
    """Deliver every action ready at ``now``: claim, deliver, acknowledge (or release)."""
    lease = dt.timedelta(seconds=max(args.timeout * 2, 60))
    while not _Stop.requested:
        claimed = service.claim(now, limit=args.batch, lease=lease)
        if not claimed:
            return
        for delivery in claimed:
            text = delivery_json(delivery, service.policy)
            if args.deliver is None:
                out.write(text + "\n")
                out.flush()
                service.ack([delivery.id], now)
                continue
            error = _run_delivery(args.deliver, text, delivery, args.timeout)
            if error is None:
                service.ack([delivery.id], now)
            else:
                retry = service.release(delivery, now, error)
                write_error(
                    f"delivery of {delivery.id} failed ({error}); retrying at {retry.isoformat()}"
                )


def _run_delivery(command: str, text: str, delivery: Delivery, timeout: float) -> str | None:
    """Run the delivery command with the action on standard input: ``None`` if it exited 0."""
    env = dict(os.environ, ESCALATION_POLICY_ACTION_ID=delivery.id)
    try:
        done = subprocess.run(
            command,
            shell=True,
            input=text + "\n",
            text=True,
            env=env,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"the command took longer than {timeout:g} seconds"
    except OSError as error:
        return f"the command could not run: {error.strerror or error}"
    if done.returncode != 0:
        return f"the command exited with status {done.returncode}"
    return None
