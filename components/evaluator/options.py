"""Options of the evaluation step: the blessing thresholds."""

from pydantic import Field

from components.options import Options, Share


class EvaluationOptions(Options):
    """A model is blessed (and pushed) only if it meets every threshold on the test split."""

    SECTION = "evaluation"

    min_accuracy: Share = Field(0.70, description="Lowest acceptable binary accuracy.")
    min_auc: Share = Field(0.75, description="Lowest acceptable ROC AUC.")
    baseline_margin: Share = Field(
        0.01,
        description="How much lower than the baseline (the latest blessed model, evaluated on the same test "
        "data) accuracy and AUC may be.",
    )
    min_short_text_accuracy: Share = Field(
        0.0,
        description="Lowest acceptable binary accuracy on the first sentences of the test reviews, each "
        "scored alone (the short-text slice); 0 checks nothing.",
    )
