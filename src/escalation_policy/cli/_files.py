"""Where a command writes its report with ``-o FILE``: the format the file's extension names,
and the files it must not write (a folder, one it may not write, one of its inputs). Each is
said before anything is read, so a long run is not wasted and no input is overwritten."""

import os
import stat
import sys
from collections.abc import Collection, Mapping, Sequence

from escalation_policy.cli._output import EXIT_BAD_INPUT, EXIT_CANNOT_WRITE, Exit

EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".html": "html",
    ".htm": "html",
}
"""The format a report file's extension names (compared in lower case)."""


def chosen_format(
    given: str | None,
    output: str | None,
    default: str,
    *,
    formats: Collection[str],
    kinds: Mapping[str, str] | None = None,
) -> str:
    """The report's format: ``--format``, else the one the output file's extension names,
    else ``default``. A ``--format`` the extension contradicts is refused (exit status 2),
    before anything is read. ``formats``: the command's; an extension that names none of them
    names none. ``kinds``: the formats written as a file of another's kind (a Slack message is
    JSON), which its extension does not contradict."""
    named = None
    if output is not None:
        named = EXTENSIONS.get(os.path.splitext(output)[1].lower())
        if named not in formats:
            named = None
    if given is not None and named is not None and named not in (given, (kinds or {}).get(given)):
        raise Exit(
            EXIT_BAD_INPUT,
            f"--format {given} does not match the extension of {output} ({named}); "
            f"expected --format {named}, no --format, or a file name for {given}",
        )
    return given or named or default


def refuse_inputs(output: str, inputs: Sequence[str]) -> None:
    """Refuse (exit status 2) an output file that is one of the ``inputs`` (by another name, a
    link, too): writing the report there would destroy what it was read from."""
    try:
        written = os.stat(output)
    except (OSError, ValueError):
        return  # not there yet: no input of this run
    if not stat.S_ISREG(written.st_mode):
        return  # a terminal, a pipe, the null device: writing there destroys nothing
    shown = {"-": "standard input"}
    for path in inputs:
        try:  # standard input, too, redirected from a file
            read = os.fstat(sys.stdin.fileno()) if path == "-" else os.stat(path)
        except (AttributeError, OSError, ValueError):
            continue  # no such file: said as the inputs are read
        if (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino):
            raise Exit(
                EXIT_BAD_INPUT,
                f"-o {output} is the input {shown.get(path, path)}: the report would overwrite "
                "it; expected another file for the report",
            )


def checked_output(output: str, inputs: Sequence[str]) -> None:
    """Refuse an output file that is one of the ``inputs`` (exit status 2) or that cannot be
    written (exit status 3), before anything is read."""
    refuse_inputs(output, inputs)
    problem = unwritable(output)
    if problem is not None:
        raise Exit(EXIT_CANNOT_WRITE, f"cannot write {output}: {problem}")


def unwritable(path: str) -> str | None:
    """Why the report cannot be written to ``path``, if that can be told before writing."""
    if os.path.isdir(path):
        return "it is a directory"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no such directory {folder}"
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        return "permission denied"
    return None


def write_report(path: str, text: str) -> None:
    """Write the report to ``path`` (UTF-8), or end with exit status 3 saying why not."""
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise Exit(EXIT_CANNOT_WRITE, f"cannot write {path}: {error.strerror or error}") from None
