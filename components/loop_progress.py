"""Progress of long loops: a tqdm bar on a terminal, plain periodic log lines elsewhere (CI logs, cron)."""

from __future__ import annotations

from collections.abc import Callable
import logging
import sys
import time
from typing import TextIO

import tqdm

logger = logging.getLogger(__name__)

# Seconds between two plain progress lines: a 4-minute step logs a handful.
DEFAULT_INTERVAL = 15.0
_MEGABYTE = 1_000_000


def stderr_is_terminal() -> bool:
    """Whether stderr is attached to a terminal (not a pipe, a file or a CI log)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def format_amount(count: float, unit: str) -> str:
    """``12,345 reviews``, or megabytes for a byte count (``unit == "B"``)."""
    if unit == "B":
        return f"{count / _MEGABYTE:,.1f} MB"
    return f"{count:,.0f} {unit}"


class Progress:
    """Counts work done: a bar on a terminal (removed when closed), else a log line every ``interval`` s.

    Args:
        label: What is progressing, e.g. ``"Trainer: epoch 2/10"``.
        total: The amount of work, when known (gives a percentage).
        unit: Name of one unit of work (``"B"`` shows megabytes).
        interval: Seconds between plain lines; 0 logs every update.
        terminal: Bar or plain lines; default: whether stderr is a terminal.
        log: Logger of the plain lines (the calling step's, so its filters apply).
        stream: Where the bar is drawn (stderr).
        clock: Monotonic seconds (a fake one in tests).
    """

    def __init__(
        self,
        label: str,
        total: float | None = None,
        unit: str = "it",
        interval: float = DEFAULT_INTERVAL,
        terminal: bool | None = None,
        log: logging.Logger | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self.total = total or None
        self.unit = unit
        self.count: float = 0
        self._interval = interval
        self._log = log or logger
        self._clock = clock
        self._started = clock()
        self._last_line = self._started
        self._postfix = ""
        self._bar = None
        if stderr_is_terminal() if terminal is None else terminal:
            self._bar = tqdm.tqdm(
                total=self.total,
                desc=label,
                unit=unit,
                unit_scale=unit == "B",
                file=stream or sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def update(self, amount: float = 1, postfix: str | None = None) -> None:
        """Adds ``amount`` units of work done; ``postfix`` is shown after the count (e.g. the loss)."""
        self.update_to(self.count + amount, postfix)

    def update_to(self, count: float, postfix: str | None = None) -> None:
        """Sets the amount of work done so far."""
        delta = count - self.count
        self.count = count
        if postfix is not None:
            self._postfix = postfix
        if self._bar is not None:
            if postfix is not None:
                self._bar.set_postfix_str(postfix, refresh=False)
            self._bar.update(delta)
            return
        now = self._clock()
        if now - self._last_line >= self._interval:
            self._last_line = now
            self._log.info("%s", self.describe(now))

    def describe(self, now: float | None = None) -> str:
        """The plain progress line, e.g. ``ExampleGen: reading x.tar.gz: 42% (35.3 MB of 84.1 MB, 12 s)``."""
        elapsed = (self._clock() if now is None else now) - self._started
        done = format_amount(self.count, self.unit)
        if self.total and self.unit == "B":
            amount = f"{self.count / self.total:.0%} ({done} of {format_amount(self.total, self.unit)}"
        elif self.total:
            amount = f"{self.count / self.total:.0%} ({self.count:,.0f}/{self.total:,.0f} {self.unit}"
        else:
            amount = f"{done} ({_per_second(self.count, elapsed, self.unit)}"
        line = f"{self.label}: {amount}, {elapsed:.0f} s)"
        return f"{line}, {self._postfix}" if self._postfix else line

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _per_second(count: float, elapsed: float, unit: str) -> str:
    if elapsed <= 0:
        return "starting"
    return f"{format_amount(count / elapsed, unit)}/s"
