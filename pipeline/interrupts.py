"""Ctrl-C (SIGINT) and SIGTERM stop a command the same way, wherever in TensorFlow, Beam or TFX they land.

Python turns SIGINT into a KeyboardInterrupt at the next bytecode, which the libraries do not always
let through: raised in a finalizer (TensorFlow's ``AtomicFunction.__del__`` while a SavedModel
loads) it is printed and dropped, and the work goes on; raised while pybind11 builds a C++ error or
imports a module it becomes a RuntimeError ("MISMATCH of original and normalized active exception
types") or an ImportError ("initialization failed"), which a loader reports as a damaged model and
a library may catch. SIGTERM has no handler at all: the process dies where it is, without cleanup.

:func:`install` gives both signals one handler that records the first signal, then raises
KeyboardInterrupt, so every ``finally`` and context manager runs as for Ctrl-C. Whatever a library
makes of the exception, :func:`received` still says the command was stopped: the command line then
ends with one line and the signal's exit code, never a failure message. A KeyboardInterrupt that a
finalizer dropped is raised again in the main thread. A further signal while the first one's
KeyboardInterrupt is being handled (cleanup in ``except``/``finally``/``__exit__``) or inside
:func:`shielded` is recorded only, so cleanup is never cut in half.
"""

from __future__ import annotations

import _thread
from collections.abc import Iterator
import contextlib
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How the command line and the step log say that each stopped the work.
WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}

# How long after a finalizer dropped the signal's KeyboardInterrupt it is raised again.
_AGAIN_SECONDS = 0.01
# How long after a signal the processes started in :func:`children_killed_after_signal` may take to end.
CHILDREN_SECONDS = 5.0

_received: int | None = None
# The events that the first signal sets: one for each block in :func:`children_killed_after_signal`.
_on_signal: set[threading.Event] = set()
_shield_depth = 0
_installed = False


class Interrupt(KeyboardInterrupt):
    """The KeyboardInterrupt the handler raises (for SIGTERM too), told apart from others in a chain."""


def received() -> int | None:
    """The first of SIGINT or SIGTERM this process got since :func:`install`, or None."""
    return _received


def stopped_word() -> str:
    """``terminated`` after SIGTERM, else ``interrupted`` (Ctrl-C, or a KeyboardInterrupt raised otherwise)."""
    return WORDS.get(_received, WORDS[signal.SIGINT])


def raise_if_received() -> None:
    """Raises KeyboardInterrupt if a signal came, also one that a library swallowed on the way."""
    if _received is not None:
        raise Interrupt()


def install() -> None:
    """Handles SIGINT and SIGTERM as above (once; a signal the parent set to be ignored stays ignored)."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _handle)
    previous_unraisable = sys.unraisablehook
    previous_thread_hook = threading.excepthook

    def unraisable(report) -> None:
        if isinstance(report.exc_value, KeyboardInterrupt) and _received is not None:
            # Dropped by a finalizer: raise it again in the main thread once the finalizer is done
            # (a moment later: the handler would otherwise run in this hook, and be dropped too).
            again = threading.Timer(_AGAIN_SECONDS, _thread.interrupt_main, args=(_received,))
            again.daemon = True
            again.start()
            return
        previous_unraisable(report)

    def thread_error(report) -> None:
        # After a signal, a thread's error is the signal's consequence (a Beam worker process
        # that got it too, a closed channel): the one line the command prints says what happened.
        if _received is None:
            previous_thread_hook(report)

    sys.unraisablehook = unraisable
    threading.excepthook = thread_error
    _installed = True


def _handle(signum: int, frame) -> None:
    global _received
    if _received is None:
        _received = signum
        for event in tuple(_on_signal):
            event.set()
    elif _shield_depth or _handling_interrupt():
        return
    raise Interrupt()


def _handling_interrupt() -> bool:
    """Whether the running code handles an earlier Interrupt (in an except, finally or __exit__)."""
    error = sys.exception()
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, Interrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """A block (cleanup) that a signal does not cut short: it is recorded, and raised after the block."""
    global _shield_depth
    _shield_depth += 1
    try:
        yield
    finally:
        _shield_depth -= 1


@contextlib.contextmanager
def children_killed_after_signal(seconds: float = CHILDREN_SECONDS) -> Iterator[None]:
    """A block whose child processes (and theirs) still there ``seconds`` after a signal, or when the block
    ends after one, are killed (SIGKILL); processes below this one from before the block are left.

    Beam's multi_processing runner waits without a limit for each worker process it started to end
    (py-spy showed the command's main thread in ``SubprocessSdkWorkerHandler.stop_worker``). Under load,
    one that started just after a Ctrl-C to the process group never got it and waited for work in
    ``SdkHarness.run`` for ever; one that got it waited at exit (``_python_exit``) for its thread still
    setting up a bundle.
    """
    import psutil  # here, not at the top: ~13 ms of the command line's start, before its signal handlers

    process = psutil.Process()
    try:
        before = {child.pid for child in process.children(recursive=True)}
    except psutil.Error:  # which processes are new is not known: none is killed
        before = None
    woken = threading.Event()  # by the first signal, or the end of the block
    done = threading.Event()

    def kill_new() -> None:
        try:
            children = [] if before is None else process.children(recursive=True)
        except psutil.Error:  # /proc could not be read
            return
        for child in children:
            if child.pid not in before:
                with contextlib.suppress(psutil.Error):  # it ended meanwhile
                    child.kill()

    def watch() -> None:
        woken.wait()
        if not done.wait(seconds):
            kill_new()

    _on_signal.add(woken)
    if _received is not None:
        woken.set()
    threading.Thread(target=watch, name="children-killer", daemon=True).start()
    try:
        yield
    finally:
        done.set()
        woken.set()
        _on_signal.discard(woken)
        if _received is not None:  # Beam's join is over: what is left would outlive the command
            kill_new()
