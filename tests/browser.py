"""Chromium for the tests that open a page in a real browser, driven over the DevTools
protocol with the standard library only (no websocket client, no browser download)."""

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("ESCALATION_POLICY_REQUIRE_BROWSER") == "1"

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


# Runs Chromium with the two pipe ends (given by number) as file descriptors 3 and 4.
_ON_FDS_3_AND_4 = """
import fcntl, os, sys
ends = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3]]
os.dup2(ends[0], 3)
os.dup2(ends[1], 4)
os.execv(sys.argv[3], sys.argv[3:])
"""


class DevTools:
    """Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``):
    JSON messages ended by a NUL byte, on file descriptors 3 (to the browser) and 4 (from it).
    Only the standard library: no websocket client, no browser download."""

    def __init__(self, chromium: str, profile: str) -> None:
        to_browser, self._writer = os.pipe()
        self._reader, from_browser = os.pipe()
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"]
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ON_FDS_3_AND_4, str(to_browser), str(from_browser), *command],
            pass_fds=(to_browser, from_browser),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        os.close(self._writer)
        os.close(self._reader)
        self.process.kill()
        self.process.wait(timeout=10)

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(deadline=time.monotonic() + 30)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def load(self, url: str) -> str:
        """Open ``url`` in a new tab and wait for its load event; returns the tab's session,
        with the Page, Runtime, Log and Network events recorded from before the load."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session: str = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session)
        before = len(self.events)
        self.send("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired", after=before)
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        """The value of ``expression`` (awaited, if it is a promise) in the tab, as JSON has it;
        an exception in the page fails the test with its details."""
        result = self.send(
            "Runtime.evaluate",
            session,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, method: str, after: int = 0, timeout: float = 30) -> dict[str, Any]:
        """The first event ``method`` after the first ``after`` events received."""
        deadline = time.monotonic() + timeout
        for event in self.events[after:]:
            if event["method"] == method:
                return event
        while True:
            message = self._receive(deadline)
            if message.get("method") == method:
                return message

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message


@contextlib.contextmanager
def browser() -> Iterator[DevTools]:
    """Chromium, or the test skipped (failed with ``ESCALATION_POLICY_REQUIRE_BROWSER=1``)
    when there is none at :data:`CHROMIUM`."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"{message}; ESCALATION_POLICY_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    profile = tempfile.mkdtemp(prefix="escalation-policy-chromium-")
    devtools = DevTools(CHROMIUM, profile)
    try:
        yield devtools
    finally:
        devtools.close()
        shutil.rmtree(profile, ignore_errors=True)
