"""Keeps a process that ran Beam and tf.Transform from crashing at exit.

protobuf's upb extension (protobuf 6.x) segfaults when a repeated-field
container is freed after the interpreter has started tearing down its modules:
``PyUpb_RepeatedContainer_Dealloc`` looks up the ``_message`` module state,
which is already gone, and dereferences NULL (upstream:
https://github.com/protocolbuffers/protobuf/issues/22067). A Beam pipeline
leaves its graph (transforms holding protobuf messages) in reference cycles that
only the final garbage collection inside ``Py_FinalizeEx`` frees, so a process
that ran one exits with SIGSEGV (code 139) after all its work succeeded.

Freezing the garbage collector at exit moves every object into the permanent
generation, which the final collection does not visit; memory is returned to
the OS with the process anyway. The hook runs last among atexit handlers, so it
applies to normal returns, ``sys.exit`` and uncaught exceptions alike and keeps
their exit codes.
"""

import atexit
import gc

_registered = False


def freeze_gc_at_exit() -> None:
    """Registers (once) an atexit hook that freezes the garbage collector."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
