"""Exclusive, non-blocking locks on local files, released by the kernel however the holder ends.

An ``flock`` on a lock file: the kernel releases it when the holding process
exits, normally, by an exception, a crash or ``kill -9``, so a lock is never
left stuck. The file records who holds it (pid and start time) for the error
that a second process gets, at once, instead of waiting.

Used for the run lock on an output directory (``pipeline/lock.py``) and the
push lock on a serving model directory (``components/pusher/publish.py``).
Local filesystems only: object stores (``gs://``) have no locks.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import datetime
import fcntl
import os


class LockHeldError(RuntimeError):
    """Another process holds the lock.

    Attributes:
        path: The lock file.
        holder: Who holds it, as the holder recorded it (``pid 123, started
            2026-11-21T00:08:08+00:00``), or ``another process``.
    """

    def __init__(self, message: str, path: str, holder: str):
        super().__init__(message)
        self.path = path
        self.holder = holder


@contextlib.contextmanager
def exclusive_lock(path: str, remove: bool = False) -> Iterator[None]:
    """Holds an exclusive lock on the file ``path`` (created if needed) for the block.

    Args:
        path: The lock file; its folder must exist.
        remove: Delete the file when the lock is released, for folders that
            others list (a serving model directory should hold only versions).
            Safe against a process that opened the file just before: a lock
            taken on a file no longer at ``path`` is dropped and taken again.

    Raises:
        LockHeldError: Another process holds it (raised at once, no waiting).
    """
    while True:
        handle = open(path, "a+")  # noqa: SIM115 - held open for as long as the lock is
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LockHeldError(f"{path} is held by {holder}", path, holder) from None
        except BaseException:
            handle.close()
            raise
        if _is_current(handle, path):
            break
        # The previous holder removed the file after this process opened it.
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()}, started {started}\n")
        handle.flush()
        yield
    finally:
        if remove:
            # Removed while still locked, so no process can lock this file afterwards
            # and believe it holds the lock at `path`.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        handle.close()  # closing the descriptor releases the lock


def _is_current(handle, path: str) -> bool:
    """Whether the open ``handle`` is still the file at ``path``."""
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (opened.st_dev, opened.st_ino) == (at_path.st_dev, at_path.st_ino)
