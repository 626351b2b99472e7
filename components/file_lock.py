"""Exclusive, non-blocking locks on local files, released by the kernel however the holder ends.

``fasteners.InterProcessLock`` takes the lock (a POSIX ``lockf`` record lock):
the kernel releases it when the holding process exits, normally, by an
exception, a crash or ``kill -9``, so a lock is never left stuck, and a child
process does not inherit it. This module adds what the library leaves out:
the file records who holds it (pid and start time) for the error that a second
holder gets at once instead of waiting; a second holder in the same process is
refused too (a record lock belongs to the whole process, so the kernel would
grant it); and ``remove=True`` deletes the file safely.

Used for the run lock on an output directory (``pipeline/lock.py``) and the
push lock on a serving model directory (``components/pusher/publish.py``).
Local filesystems only: object stores (``gs://``) have no locks.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import datetime
import errno
import fcntl
import os
import stat
import threading

import fasteners

# Lock files held by this process, with their holder line. Also why the holder of a
# lock held here is never read from its file: closing any descriptor of a file
# releases this process's record lock on it.
_held_here: dict[str, str] = {}
_held_here_guard = threading.Lock()


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
        path: The lock file.
        remove: Delete the file when the lock is released, for folders that
            others list (a serving model directory should hold only versions).
            Safe against a process that opened the file just before: a lock
            taken on a file no longer at ``path`` is dropped and taken again.

    Raises:
        LockHeldError: Another holder, in this process or another, has it
            (raised at once, no waiting).
    """
    key = os.path.realpath(path)
    with _held_here_guard:
        if key in _held_here:
            raise LockHeldError(f"{path} is held by {_held_here[key]}", path, _held_here[key])
        lock = _acquire(path)
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        _held_here[key] = holder = f"pid {os.getpid()}, started {started}"
    try:
        lock.lockfile.truncate(0)
        lock.lockfile.write(holder + "\n")
        lock.lockfile.flush()
        yield
    finally:
        with _held_here_guard:
            if remove:
                # Removed while still locked, so no process can lock this file afterwards
                # and believe it holds the lock at `path`.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            lock.release()
            del _held_here[key]


def _acquire(path: str) -> fasteners.InterProcessLock:
    """Locks the file now at ``path``, or raises ``LockHeldError`` naming its holder."""
    while True:
        lock = fasteners.InterProcessLock(path)
        if not lock.acquire(blocking=False):
            lock.lockfile.close()
            holder = "another process"
            with (
                contextlib.suppress(FileNotFoundError),
                open(path, encoding="utf-8", errors="replace") as file,
            ):
                holder = _recorded_holder(file)
            raise LockHeldError(f"{path} is held by {holder}", path, holder)
        if _is_current(lock.lockfile, path):
            return lock
        # The previous holder removed the file after this process opened it.
        lock.release()


def _recorded_holder(file) -> str:
    """Who the open lock ``file`` says holds it, or ``another process`` if it says nothing."""
    return file.read().strip() or "another process"


def current_holder(path: str) -> str | None:
    """Who holds the lock on the file ``path`` now (as a LockHeldError names them), or None: no one, or no
    such file (none is created). The test is a shared lock released at once: a holder taking the lock at
    that very instant is refused as if another held it.

    Raises:
        OSError: ``path`` cannot be opened for reading, or is no regular file (``strerror`` says which).
            It is opened without waiting: a FIFO would wait for a writer.
    """
    with _held_here_guard:
        if os.path.realpath(path) in _held_here:
            return _held_here[os.path.realpath(path)]
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OSError(errno.EINVAL, "not a regular file", path)
        with open(descriptor, encoding="utf-8", errors="replace") as file:
            try:
                fcntl.lockf(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return _recorded_holder(file)
            fcntl.lockf(file, fcntl.LOCK_UN)
        return None


def _is_current(handle, path: str) -> bool:
    """Whether the open ``handle`` is still the file at ``path``."""
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (opened.st_dev, opened.st_ino) == (at_path.st_dev, at_path.st_ino)
