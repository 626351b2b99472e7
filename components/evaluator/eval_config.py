"""The TFMA configuration of the standard TFX Evaluator.

Metrics on the official test split: accuracy, AUC, precision, recall, loss
(binary cross-entropy) and the example count. A model is blessed when accuracy
and AUC reach the thresholds of :class:`EvaluationOptions` and, when there is a
baseline (the latest blessed model), neither is lower than the baseline's on
the same test data by more than ``baseline_margin``. Without a baseline, TFX's
Evaluator drops the baseline model spec and the change thresholds. The metric
and model names are those of the ModelEvaluation artifact's readers
(components/artifacts/evaluation.py).

The Evaluator reads the EvalSlices step's output (components/slicing/): the
test reviews and, apart, their first sentences, told apart by the
``evaluation_set`` feature. There is no overall slice (it would mix both); the
slice of the full reviews is the test split, and the thresholds above apply to
it alone. The other slices: the first sentences (with an optional accuracy
threshold, ``min_short_text_accuracy``), and the full reviews by rating and by
length bucket.
"""

from tensorflow_model_analysis.proto import config_pb2 as tfma

from components.artifacts.evaluation import (
    ACCURACY,
    AUC,
    BASELINE_MODEL,
    CALIBRATION_BUCKETS,
    CALIBRATION_PLOT,
    CANDIDATE_MODEL,
    CONFUSION_MATRIX,
    CONFUSION_MATRIX_PLOT,
    DECISION_THRESHOLD,
    EXAMPLE_COUNT,
    LOSS,
    PRECISION,
    RECALL,
    SLICED_BY,
    headline_slice_values,
)
from components.evaluator.options import EvaluationOptions
from schemas import features


def _threshold(minimum: float, margin: float) -> tfma.MetricThreshold:
    """At least ``minimum``, and at most ``margin`` below the baseline (higher is better)."""
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": minimum}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -margin}
        ),
    )


def headline_slice() -> tfma.SlicingSpec:
    """The slice of the full test reviews: the test split."""
    return tfma.SlicingSpec(feature_values=headline_slice_values())


def first_sentence_slice() -> tfma.SlicingSpec:
    """The slice of the test reviews' first sentences."""
    return tfma.SlicingSpec(feature_values={features.EVALUATION_SET: features.FIRST_SENTENCE})


def slicing_specs() -> list[tfma.SlicingSpec]:
    """The test split, its first sentences, and the test split by each of ``SLICED_BY``."""
    return [
        headline_slice(),
        first_sentence_slice(),
        *(
            tfma.SlicingSpec(feature_keys=[feature], feature_values=headline_slice_values())
            for feature in SLICED_BY
        ),
    ]


def _on_test_split(threshold: tfma.MetricThreshold) -> tfma.PerSliceMetricThreshold:
    return tfma.PerSliceMetricThreshold(slicing_specs=[headline_slice()], threshold=threshold)


def _accuracy_thresholds(options: EvaluationOptions) -> list[tfma.PerSliceMetricThreshold]:
    thresholds = [_on_test_split(_threshold(options.min_accuracy, options.baseline_margin))]
    if options.min_short_text_accuracy > 0:
        thresholds.append(
            tfma.PerSliceMetricThreshold(
                slicing_specs=[first_sentence_slice()],
                threshold=tfma.MetricThreshold(
                    value_threshold=tfma.GenericValueThreshold(
                        lower_bound={"value": options.min_short_text_accuracy}
                    )
                ),
            )
        )
    return thresholds


def make_eval_config(options: EvaluationOptions) -> tfma.EvalConfig:
    """Builds the EvalConfig: serialized-example signature, label, metrics, thresholds."""
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount", config=f'{{"name": "{EXAMPLE_COUNT}"}}'),
        tfma.MetricConfig(
            class_name="BinaryAccuracy",
            config=f'{{"name": "{ACCURACY}"}}',
            per_slice_thresholds=_accuracy_thresholds(options),
        ),
        tfma.MetricConfig(
            class_name="AUC",
            config=f'{{"name": "{AUC}"}}',
            per_slice_thresholds=[_on_test_split(_threshold(options.min_auc, options.baseline_margin))],
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
        slicing_specs=slicing_specs(),
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )
