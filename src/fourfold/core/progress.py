"""A progress bar for every long loop: training, data preparation, evaluation.

`ProgressBar` always writes to stderr, so stdout stays free for `--json` output. On a terminal it draws a
`rich` bar (description, bar, done/total, rate, elapsed, ETA and a free-text postfix such as the current loss).
Anywhere else (CI, pipes, log files) it prints a plain line at most every `interval` seconds, plus one on close:

    train: 1200/5000 (24%) 85.3 it/s, eta 0:00:44 · loss 1.234

`advance` is cheap: it adds to a counter and reads the clock; text is formatted only when a line is due.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# One console for all bars drawn on the real stderr, so that a bar opened inside another bar's loop
# (evaluation inside training) stacks under it instead of fighting over the cursor. Made on first use.
_stderr_console: Console | None = None


class ProgressBar:
    """Progress of one loop, shown as a rich bar on a terminal and as rate-limited plain lines elsewhere.

    Example:
        with ProgressBar(total=num_steps, description="train", unit="step") as bar:
            for step in range(num_steps):
                ...
                bar.advance()
                if step % 100 == 0:
                    bar.set_postfix(f"loss {loss.item():.3f}")

    Args:
        total: number of units the loop will do, or None when unknown (then no percentage and no ETA).
        description: short name shown first, e.g. "train" or "tokenize".
        unit: what one unit is, shown in the rate ("it", "step", "tok", "episode").
        enabled: False prints nothing at all (the counter still counts).
        stream: where to write; default `sys.stderr`. A rich bar is drawn only when it is a terminal.
        interval: least number of seconds between two plain lines.
        clock: seconds as a float, for tests; default `time.monotonic`.
        console: draw the rich bar on this console whatever `stream` is (for tests and embedding).
    """

    def __init__(
        self,
        total: int | None,
        description: str,
        unit: str = "it",
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        console: Console | None = None,
    ) -> None:
        if total is not None and total < 0:
            raise ValueError(f"total must be None or at least 0, got {total}")
        if interval < 0:
            raise ValueError(f"interval must be at least 0, got {interval}")
        self.total = total
        self.description = description
        self.unit = unit
        self.enabled = enabled
        self.completed = 0
        self.postfix = ""
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._closed = False
        # Plain mode: the time and count at the last printed line, for the rate over the last interval.
        self._line_time = self._start
        self._line_completed = 0
        self._next_line = self._start + interval
        self._progress: Progress | None = None
        self._task = TaskID(0)
        if enabled and (console is not None or _is_terminal(self._stream)):
            self._start_rich(console)

    def advance(self, n: int = 1) -> None:
        """Count `n` more units done; prints a plain line if one is due."""
        self.completed += n
        if self._progress is not None:
            self._progress.update(self._task, advance=n)
        elif self.enabled:
            now = self._clock()
            if now >= self._next_line:
                self._write_line(now)

    def set_postfix(self, text: str) -> None:
        """Show `text` after the figures from now on, e.g. "loss 1.234 · 52k tok/s"."""
        self.postfix = text
        if self._progress is not None:
            self._progress.update(self._task, postfix=text)

    def close(self) -> None:
        """Stop the bar; in plain mode print one final line with the average rate and total time."""
        if self._closed:
            return
        self._closed = True
        if self._progress is not None:
            self._progress.stop()
        elif self.enabled:
            now = self._clock()
            elapsed = now - self._start
            rate = self.completed / elapsed if elapsed > 0 else None
            self._print(f"{self._counts()} {_format_rate(rate, self.unit)}, done in {_format_duration(elapsed)}")

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _start_rich(self, console: Console | None) -> None:
        if console is None:
            console = _console_for(self._stream)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(self.unit),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[postfix]}"),
            console=console,
            get_time=self._clock,
        )
        self._task = self._progress.add_task(self.description, total=self.total, postfix="")
        self._progress.start()

    def _write_line(self, now: float) -> None:
        span = now - self._line_time
        rate = (self.completed - self._line_completed) / span if span > 0 else None
        text = f"{self._counts()} {_format_rate(rate, self.unit)}"
        if self.total is not None and rate:
            text += f", eta {_format_duration(max(self.total - self.completed, 0) / rate)}"
        self._print(text)
        self._line_time = now
        self._line_completed = self.completed
        self._next_line = now + self._interval

    def _counts(self) -> str:
        if self.total is None:
            return f"{self.description}: {self.completed}"
        percent = 100 * self.completed // self.total if self.total > 0 else 100
        return f"{self.description}: {self.completed}/{self.total} ({percent}%)"

    def _print(self, text: str) -> None:
        if self.postfix:
            text += f" · {self.postfix}"
        self._stream.write(text + "\n")
        self._stream.flush()


class _RateColumn(ProgressColumn):
    """The rich column for the speed in units per second, e.g. "85.3 it/s"."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(_format_rate(task.speed, self.unit), style="progress.data.speed")


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def _console_for(stream: TextIO) -> Console:
    global _stderr_console
    if stream is not sys.stderr:
        return Console(file=stream)
    if _stderr_console is None:
        # stderr=True makes rich look up sys.stderr at each write, so redirects (and pytest's capture) work.
        _stderr_console = Console(stderr=True)
    return _stderr_console


def _format_rate(rate: float | None, unit: str) -> str:
    """Format a speed with 3 to 4 significant digits: "0.25 it/s", "85.3 it/s", "52.3k tok/s"."""
    if rate is None:
        return f"? {unit}/s"
    if rate >= 1e6:
        return f"{rate / 1e6:.1f}M {unit}/s"
    if rate >= 1e4:
        return f"{rate / 1e3:.1f}k {unit}/s"
    if rate >= 10:
        return f"{rate:.1f} {unit}/s"
    return f"{rate:.2f} {unit}/s"


def _format_duration(seconds: float) -> str:
    """Format seconds as H:MM:SS, e.g. "0:00:44" or "27:03:10"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
