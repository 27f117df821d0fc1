"""The live progress bar on a terminal (rich), drawn under the log.

Only when stderr is a TTY and ``HARVESTER_PROGRESS_BAR`` is on. Log records keep going
to stderr through the same handlers, but while the bar is shown each stream handler
writing to the terminal writes through rich's console, which prints them above the
bar (``logging.StreamHandler.setStream``), so log lines never break it. The handlers
get their stream back when the bar stops.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy.settings import Settings


def clock(seconds: float | None) -> str:
    """``H:MM:SS`` (``?`` when unknown)."""
    if seconds is None:
        return "?"
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _ConsoleStream:
    """A text stream that prints through a rich console (above its live display)."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def write(self, text: str) -> int:
        self.console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        pass


class LiveBar:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
        )

        self.console = Console(file=sys.stderr)
        self.progress = Progress(
            TextColumn("[bold]calls"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[items]} items  ETA {task.fields[eta]}"),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("calls", total=None, items=0, eta="?")
        self._streams: dict[logging.StreamHandler[Any], Any] = {}
        stream = _ConsoleStream(self.console)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                self._streams[handler] = handler.setStream(stream)
        self.progress.start()

    def update(self, figures: dict[str, Any]) -> None:
        self.progress.update(
            self.task,
            total=figures["planned"] or None,
            completed=figures["done"],
            items=figures["items"],
            eta=clock(figures["eta_seconds"]),
        )

    def stop(self) -> None:
        self.progress.stop()
        for handler, stream in self._streams.items():
            handler.setStream(stream)
        self._streams.clear()


def live_bar(settings: Settings) -> LiveBar | None:
    """A started bar, or ``None`` when stderr is not a terminal or the bar is off."""
    if not settings.getbool("HARVESTER_PROGRESS_BAR") or not sys.stderr.isatty():
        return None
    return LiveBar()
