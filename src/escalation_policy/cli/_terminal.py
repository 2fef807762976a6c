"""What the command line shows on a terminal and nowhere else: colours, tables drawn with box
characters, and progress bars. It is drawn with ``rich``, imported only here and only when a
terminal is there to show it: ``import escalation_policy`` and output to a file or a pipe never
load it.

Every text shown comes in already made plain (:func:`escalation_policy.render.plain`) and goes
to ``rich`` as a ``Text`` or through a ``Style``, never as markup: ``[red]`` in a customer's name
is shown as written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from types import TracebackType

TYPE_CHECKING = False  # as typing's: --version and --help start without typing

if TYPE_CHECKING:
    from typing import IO, Any

    from rich.console import Console

STYLES = {
    "heading": "bold",
    "violation": "bold red",
    "warning": "yellow",
    "ok": "green",
    "muted": "dim",
    "added": "green",
    "removed": "red",
    "changed": "yellow",
    "refused": "bold magenta",
}
"""What each kind of line looks like in colour."""


def colour_wanted(stream: IO[str] | None) -> bool:
    """Colour for a terminal, unless ``NO_COLOR`` is set (to anything but nothing, as
    https://no-color.org asks) or the terminal says it has none (``TERM=dumb``)."""
    if stream is None or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


_painters: dict[str, Callable[[str], str]] = {}


def paint(text: str, style: str) -> str:
    """``text`` in the colours of ``style`` (a key of :data:`STYLES`), as the terminal's
    escape codes; ``text`` is shown as it is, never read as markup."""
    painter = _painters.get(style)
    if painter is None:
        from rich.color import ColorSystem
        from rich.style import Style

        parsed = Style.parse(STYLES[style])

        def painter(text: str) -> str:
            return parsed.render(text, color_system=ColorSystem.STANDARD)

        _painters[style] = painter
    return painter(text)


def console(stream: Any, *, colour: bool) -> Console:
    """A ``rich`` console writing to ``stream`` as to a terminal, in colour or not; markup,
    emoji codes and highlighting are off, so text is shown exactly as given."""
    from rich.console import Console

    return Console(
        file=stream,
        force_terminal=True,
        color_system="standard" if colour else None,
        no_color=not colour,
        markup=False,
        emoji=False,
        highlight=False,
    )


def _drawn(title: str, headers: Sequence[str], rows: Any) -> Any:
    """A table to draw with box characters; long cells wrap within their column."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    drawn = Table(
        title=Text(title, style="bold"),
        title_justify="left",
        box=box.ROUNDED,
        header_style="bold",
        show_lines=True,
    )
    for header in headers:
        drawn.add_column(Text(header), overflow="fold")
    for row in rows:
        drawn.add_row(*(Text(cell) for cell in row))
    return drawn


def fits(stream: Any, tables: Sequence[tuple[Sequence[str], Any]]) -> bool:
    """Whether each table (its headers and rows) can be drawn as wide as the terminal with no
    word cut in two: a narrower terminal (``COLUMNS=20``, or ``0``, where nothing at all is
    drawn) would show cells as broken pieces of words."""
    shown = console(stream, colour=False)
    unbounded = shown.options.update_width(1 << 20)  # a measure is bounded by the width given
    return all(
        shown.measure(_drawn("", headers, rows), options=unbounded).minimum <= shown.width
        for headers, rows in tables
    )


def table(stream: Any, *, colour: bool, title: str, headers: Sequence[str], rows: Any) -> None:
    """A table drawn with box characters, as wide as the terminal: long cells wrap within
    their column rather than break the lines (:func:`fits` says whether words stay whole)."""
    console(stream, colour=colour).print(_drawn(title, headers, rows))


class Progress:
    """A progress bar on standard error while long work runs, only when standard error is a
    terminal: percentage, what is done of the ``total`` and the time left when the total is
    known, a count and the time taken when it is not. Gone when the work ends.

    ``update`` is cheap enough to call for every item: it draws at most ten times a second.
    """

    def __init__(self, description: str, total: int | None, *, unit: str = "bytes") -> None:
        import sys

        self._stream = sys.stderr
        self.shown = self._stream is not None and _isatty(self._stream)
        self._description = description
        self._total = total or None  # an empty file has no progress to show
        self._unit = unit
        self._bar: Any = None
        self._task: Any = None
        self._next = 0.0

    def __enter__(self) -> Progress:
        if not self.shown:
            return self
        from rich import progress

        known = self._total is not None
        if known and self._unit == "bytes":
            amount: Any = progress.DownloadColumn()
        else:
            amount = progress.MofNCompleteColumn() if known else _Count(self._unit)
        columns = [
            progress.TextColumn("{task.description}", markup=False),
            progress.BarColumn(),
            *([progress.TaskProgressColumn()] if known else []),
            amount,
            progress.TimeElapsedColumn(),
            progress.TextColumn("elapsed"),
            *([progress.TimeRemainingColumn(), progress.TextColumn("left")] if known else []),
        ]
        self._bar = progress.Progress(
            *columns,
            console=console(self._stream, colour=colour_wanted(self._stream)),
            transient=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._bar.__enter__()
        self._task = self._bar.add_task(self._description, total=self._total)
        return self

    def update(self, completed: int, *, force: bool = False) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if now < self._next and not force:
            return
        self._next = now + 0.1
        self._bar.update(self._task, completed=completed)
        self._bar.refresh()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, error, trace)
            self._bar = None


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _Count(unit: str) -> Any:
    """A column that shows how many were done, for work whose total is not known."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Count(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{int(task.completed):,} {unit}")

    return Count()
