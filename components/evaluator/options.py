"""Options of the evaluation step: the blessing thresholds."""

import dataclasses

from components.options import Options


@dataclasses.dataclass(frozen=True)
class EvaluationOptions(Options):
    """A model is blessed (and pushed) only if it meets every threshold on the test split.

    Attributes:
        min_accuracy: Lowest acceptable binary accuracy.
        min_auc: Lowest acceptable ROC AUC.
        baseline_margin: How much lower than the baseline (the latest blessed
            model, evaluated on the same test data) accuracy and AUC may be.
    """

    SECTION = "evaluation"

    min_accuracy: float = 0.70
    min_auc: float = 0.75
    baseline_margin: float = 0.01

    def validate(self) -> None:
        self.check_range("min_accuracy", 0.0, 1.0)
        self.check_range("min_auc", 0.0, 1.0)
        self.check_range("baseline_margin", 0.0, 1.0)
