"""Options of the evaluation step: the blessing thresholds."""

from pydantic import Field

from components.options import Float, Options


class EvaluationOptions(Options):
    """A model is blessed (and pushed) only if it meets every threshold on the test split."""

    SECTION = "evaluation"

    min_accuracy: Float = Field(0.70, ge=0.0, le=1.0, description="Lowest acceptable binary accuracy.")
    min_auc: Float = Field(0.75, ge=0.0, le=1.0, description="Lowest acceptable ROC AUC.")
    baseline_margin: Float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="How much lower than the baseline (the latest blessed model, evaluated on the same test "
        "data) accuracy and AUC may be.",
    )
    min_short_text_accuracy: Float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Lowest acceptable binary accuracy on the first sentences of the test reviews, each "
        "scored alone (the short-text slice); 0 checks nothing.",
    )
