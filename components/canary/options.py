"""Options of the Canary step: how slow a candidate model may be to load and to answer."""

from pydantic import Field

from components.options import Float, Options


class CanaryOptions(Options):
    """Limits the canary holds a candidate model to before it may be pushed."""

    SECTION = "canary"

    max_load_seconds: Float = Field(
        60.0,
        ge=0.001,
        le=3600.0,
        description="Longest acceptable tf.saved_model.load of the candidate in a fresh TensorFlow process "
        "(what a model server does when a version appears).",
    )
    max_batch_seconds: Float = Field(
        5.0,
        ge=0.0001,
        le=600.0,
        description="Longest acceptable call of either signature on the whole probe batch (one 100 kB review "
        "among them), after one warm-up call.",
    )
