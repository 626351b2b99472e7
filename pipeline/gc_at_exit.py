"""Keeps a process that ran Beam and tf.Transform from crashing at exit (SIGSEGV, code 139, after success).

protobuf 6's upb extension dereferences NULL when a repeated-field container is freed after its
``_message`` module state is gone (``PyUpb_RepeatedContainer_Dealloc``,
https://github.com/protocolbuffers/protobuf/issues/22067); a Beam pipeline leaves such containers in
reference cycles that only the final collection in ``Py_FinalizeEx`` frees. Freezing the collector
at exit (the last atexit hook: normal returns, ``sys.exit`` and uncaught exceptions alike, exit codes
kept) moves every object into the permanent generation, which that collection does not visit.
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
