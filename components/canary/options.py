"""Options of the Canary step: how slow a candidate model may be to load and to answer."""

import dataclasses

from components.options import Options


@dataclasses.dataclass(frozen=True)
class CanaryOptions(Options):
    """Limits the canary holds a candidate model to before it may be pushed.

    Attributes:
        max_load_seconds: Longest acceptable ``tf.saved_model.load`` of the
            candidate in a fresh TensorFlow process (what a model server does
            when a version appears).
        max_batch_seconds: Longest acceptable call of either signature on the
            whole probe batch (one 100 kB review among them), after one
            warm-up call.
    """

    SECTION = "canary"

    max_load_seconds: float = 60.0
    max_batch_seconds: float = 5.0

    def validate(self) -> None:
        self.check_range("max_load_seconds", 0.001, 3600.0)
        self.check_range("max_batch_seconds", 0.0001, 600.0)
