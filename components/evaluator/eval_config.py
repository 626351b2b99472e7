"""The TFMA configuration of the standard TFX Evaluator: metrics, slices and blessing thresholds.

There is no overall slice (it would mix the full reviews with their first
sentences); the thresholds apply to the full reviews' slice, the test split.
Without a baseline, TFX's Evaluator drops its model spec and the change thresholds.
"""

import json

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


def _metric(class_name: str, name: str, per_slice=(), **config) -> tfma.MetricConfig:
    config_json = json.dumps({"name": name, **config})
    return tfma.MetricConfig(class_name=class_name, config=config_json, per_slice_thresholds=per_slice)


def headline_slice() -> tfma.SlicingSpec:
    """The slice of the full test reviews: the test split."""
    return tfma.SlicingSpec(feature_values=headline_slice_values())


def first_sentence_slice() -> tfma.SlicingSpec:
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
        _metric("ExampleCount", EXAMPLE_COUNT),
        _metric("BinaryAccuracy", ACCURACY, _accuracy_thresholds(options)),
        _metric("AUC", AUC, [_on_test_split(_threshold(options.min_auc, options.baseline_margin))]),
        _metric("Precision", PRECISION),
        _metric("Recall", RECALL),
        _metric("BinaryCrossentropy", LOSS),
        _metric("ConfusionMatrixAtThresholds", CONFUSION_MATRIX, thresholds=[DECISION_THRESHOLD]),
        _metric("ConfusionMatrixPlot", CONFUSION_MATRIX_PLOT),
        _metric("CalibrationPlot", CALIBRATION_PLOT, num_buckets=CALIBRATION_BUCKETS),
    ]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                name=name,
                is_baseline=name == BASELINE_MODEL,
                # Named (the package itself is not imported here), so TFMA does not first try (and fail)
                # to load the SavedModel with Keras to find out: about a second per model and run.
                model_type="tf_generic",  # tensorflow_model_analysis.TF_GENERIC
                signature_name=features.EXAMPLES_SIGNATURE,
                label_key=features.LABEL,
                prediction_key=features.PROBABILITY_OUTPUT,
            )
            for name in (CANDIDATE_MODEL, BASELINE_MODEL)
        ],
        slicing_specs=slicing_specs(),
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )
