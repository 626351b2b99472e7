"""One run at a time per output directory.

An exclusive ``flock`` on ``<output>/.run.lock``: the kernel releases it when
the holding process exits, however it exits, so a crashed or killed run never
leaves the lock stuck. The file records who holds it, for the error message.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import datetime
import fcntl
import os

LOCK_FILE = ".run.lock"


class RunInProgressError(RuntimeError):
    """Another run holds the lock on the same output directory."""


@contextlib.contextmanager
def run_lock(output_dir: str) -> Iterator[None]:
    """Holds the output directory's run lock for the duration of the block.

    Raises:
        RunInProgressError: another process holds it (raised at once, no waiting).
    """
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, LOCK_FILE)
    handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the lock is
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunInProgressError(
                f"another run is in progress on {output_dir} ({holder}); "
                "wait for it to finish or use another --output"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()}, started {started}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock
