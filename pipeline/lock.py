"""One run at a time per output directory: an exclusive lock on ``<output>/.run.lock`` (``components.file_lock``)
that the kernel releases when the holder exits, however it exits; the file says who holds it."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os

from components.file_lock import LockHeldError, current_holder, exclusive_lock

LOCK_FILE = ".run.lock"


class RunInProgressError(LockHeldError):
    """Another run holds the lock on the same output directory."""


@contextlib.contextmanager
def run_lock(output_dir: str) -> Iterator[None]:
    """Holds the output directory's run lock for the duration of the block.

    Raises:
        RunInProgressError: another process holds it (raised at once, no waiting).
    """
    os.makedirs(output_dir, exist_ok=True)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(os.path.join(output_dir, LOCK_FILE)))
        except LockHeldError as error:
            raise RunInProgressError(
                f"another run is in progress on {output_dir} ({error.holder}); "
                "wait for it to finish or use another --output",
                error.path,
                error.holder,
            ) from None
        yield


def run_lock_holder(output_dir: str) -> str | None:
    """Who holds the output directory's run lock now (``pid 123, started ...``), or None; creates nothing."""
    return current_holder(os.path.join(output_dir, LOCK_FILE))
