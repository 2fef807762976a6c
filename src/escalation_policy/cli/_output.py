"""What every command shares with the command line's entry: its exit statuses, the errors that
end it, its standard output and its one-line errors; nothing of the policy, so that
``--version`` and the choice of a command load nothing else."""

from __future__ import annotations

import contextlib
import sys

from escalation_policy.cli import _terminal

TYPE_CHECKING = False  # as typing's: --version and --help start without typing

if TYPE_CHECKING:
    from typing import IO

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_DIFFERENT = 1
EXIT_BAD_INPUT = 2
EXIT_CANNOT_WRITE = 3
EXIT_INTERNAL_ERROR = 4
EXIT_STORE = 5
EXIT_INTERRUPTED = 130

EXIT_STATUSES = f"""\
exit status:
  {EXIT_OK}    done
  {EXIT_VIOLATIONS}    audit: --fail-on matched a violation; diff: the policies differ;
       impact: some action differs
  {EXIT_BAD_INPUT}    bad input: a wrong argument, a file that cannot be read, a line refused
       (with --keep-going too, once every line was read)
  {EXIT_CANNOT_WRITE}    the output cannot be written (standard output closed, disk full)
  {EXIT_INTERNAL_ERROR}    an internal error: a bug, please report it
  {EXIT_STORE}    run, worker, prune, replan, status, refused, dead-letters, digest --store:
       the store cannot be used (a wrong URL, cannot connect, a newer schema, a damaged store)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""


class Exit(Exception):
    """End the command with ``status`` and a one-line ``message`` on standard error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CannotWrite(Exception):
    def __init__(self, reason: str, *, broken_pipe: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.broken_pipe = broken_pipe


class Output:
    """Standard output that reports failure as :class:`CannotWrite`.

    Text that the stream's encoding cannot hold (a lone surrogate from a ``\\udc80`` escape in
    the input) is written with backslash escapes, never as bytes that are not of the encoding
    nor as an error: the output is for people, and the JSON output is ASCII anyway.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream
        self.colour = _terminal.colour_wanted(stream)
        """Whether lines are shown in colour: on a terminal, unless ``NO_COLOR`` is set."""

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    def line(self, text: str, style: str | None = None) -> None:
        """One line, in the colours of ``style`` (a kind of line, such as ``violation``) when
        :attr:`colour`; ``text`` is written as it is, never read as markup."""
        if style is not None and self.colour:
            text = _terminal.paint(text, style)
        self.write(text + "\n")

    def write(self, text: str) -> None:
        stream = self._writable()
        if not text.isascii():
            encoding = getattr(stream, "encoding", None) or "utf-8"
            text = text.encode(encoding, "backslashreplace").decode(encoding)
        try:
            stream.write(text)
        except OSError as error:
            raise _cannot_write(error) from None

    def flush(self) -> None:
        try:
            self._writable().flush()
        except OSError as error:
            raise _cannot_write(error) from None

    def _writable(self) -> IO[str]:
        if self._stream is None:
            raise CannotWrite("standard output is closed")
        return self._stream


def _cannot_write(error: OSError) -> CannotWrite:
    return CannotWrite(error.strerror or str(error), broken_pipe=isinstance(error, BrokenPipeError))


def write_error(message: str) -> None:
    """One line on standard error, if there is a standard error to write to."""
    if sys.stderr is None:
        return
    from escalation_policy.render import plain  # an error's message is rare: loaded then

    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"escalation-policy: {plain(' '.join(message.splitlines()))}\n")
        sys.stderr.flush()
