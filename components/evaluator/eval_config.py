"""The TFMA configuration of the standard TFX Evaluator.

Metrics on the official test split: accuracy, AUC, precision, recall, loss
(binary cross-entropy) and the example count. A model is blessed when accuracy
and AUC reach the thresholds of :class:`EvaluationOptions` and, when there is a
baseline (the latest blessed model), neither is lower than the baseline's on
the same test data by more than ``baseline_margin``. Without a baseline, TFX's
Evaluator drops the baseline model spec and the change thresholds.
"""

from tensorflow_model_analysis.proto import config_pb2 as tfma

from components.evaluator.options import EvaluationOptions
from schemas import features

ACCURACY = "accuracy"
AUC = "auc"
PRECISION = "precision"
RECALL = "recall"
LOSS = "loss"
EXAMPLE_COUNT = "example_count"
# The metrics the run summary, step log, report and index show, in this order;
# the headline ones are those blessing has thresholds for.
REPORTED_METRICS = (ACCURACY, AUC, PRECISION, RECALL, LOSS)
HEADLINE_METRICS = (ACCURACY, AUC)
# For the run report: the confusion matrix at the decision threshold (computed
# exactly, as accuracy is; the plot's matrices come from a histogram of
# predictions), at every threshold (its false-positive rate and recall are the
# ROC curve), and calibration buckets.
CONFUSION_MATRIX = "confusion_matrix"
DECISION_THRESHOLD = 0.5
CONFUSION_MATRIX_PLOT = "confusion_matrix_plot"
CALIBRATION_PLOT = "calibration_plot"
CALIBRATION_BUCKETS = 20
CANDIDATE_MODEL = "candidate"
BASELINE_MODEL = "baseline"


def _threshold(minimum: float, margin: float) -> tfma.MetricThreshold:
    """At least ``minimum``, and at most ``margin`` below the baseline (higher is better)."""
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": minimum}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -margin}
        ),
    )


def make_eval_config(options: EvaluationOptions) -> tfma.EvalConfig:
    """Builds the EvalConfig: serialized-example signature, label, metrics, thresholds."""
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount", config=f'{{"name": "{EXAMPLE_COUNT}"}}'),
        tfma.MetricConfig(
            class_name="BinaryAccuracy",
            config=f'{{"name": "{ACCURACY}"}}',
            threshold=_threshold(options.min_accuracy, options.baseline_margin),
        ),
        tfma.MetricConfig(
            class_name="AUC",
            config=f'{{"name": "{AUC}"}}',
            threshold=_threshold(options.min_auc, options.baseline_margin),
        ),
        tfma.MetricConfig(class_name="Precision", config=f'{{"name": "{PRECISION}"}}'),
        tfma.MetricConfig(class_name="Recall", config=f'{{"name": "{RECALL}"}}'),
        tfma.MetricConfig(class_name="BinaryCrossentropy", config=f'{{"name": "{LOSS}"}}'),
        tfma.MetricConfig(
            class_name="ConfusionMatrixAtThresholds",
            config=f'{{"name": "{CONFUSION_MATRIX}", "thresholds": [{DECISION_THRESHOLD}]}}',
        ),
        tfma.MetricConfig(class_name="ConfusionMatrixPlot", config=f'{{"name": "{CONFUSION_MATRIX_PLOT}"}}'),
        tfma.MetricConfig(
            class_name="CalibrationPlot",
            config=f'{{"name": "{CALIBRATION_PLOT}", "num_buckets": {CALIBRATION_BUCKETS}}}',
        ),
    ]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                name=name,
                is_baseline=name == BASELINE_MODEL,
                signature_name=features.EXAMPLES_SIGNATURE,
                label_key=features.LABEL,
                prediction_key=features.PROBABILITY_OUTPUT,
            )
            for name in (CANDIDATE_MODEL, BASELINE_MODEL)
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )
