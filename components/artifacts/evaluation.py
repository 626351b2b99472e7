"""The Evaluator's ModelEvaluation and ModelBlessing: metric names, metrics, diffs, why blessing failed.

The one reader of TFMA's metrics and validation result: the run summary, the
step log, the pusher's manifest and the run index use it as is; the run report
(components/report/read_inputs.py) adds plots and the configured thresholds. The
names here are those the Evaluator's configuration
(components/evaluator/eval_config.py) gives its metrics and models.
"""

from collections.abc import Iterator
import dataclasses
import os
from typing import Any

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


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The overall-slice metrics of the candidate (and baseline) and why blessing failed.

    Attributes:
        candidate_model: Model name of the candidate in TFMA's output.
        baseline_model: Model name of the baseline; None when the Evaluator
            had no baseline to score.
        candidate_metrics: Metric name -> value of the candidate.
        baseline_metrics: Metric name -> value of the baseline ({} without one).
        diffs: Metric name -> candidate minus baseline (TFMA diff metrics).
        validation_ok: TFMA's validation result; None when it is absent.
        failures: TFMA's reasons for a failed validation, readable.
        failed: (metric name, is a diff) of each failed threshold.
    """

    candidate_model: str
    baseline_model: str | None
    candidate_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    diffs: dict[str, float]
    validation_ok: bool | None
    failures: tuple[str, ...]
    failed: frozenset[tuple[str, bool]] = frozenset()


def describe_bound(threshold) -> str:
    """A TFMA value threshold as a condition, e.g. ``>= 0.7``."""
    lower = threshold.lower_bound.value if threshold.HasField("lower_bound") else None
    upper = threshold.upper_bound.value if threshold.HasField("upper_bound") else None
    if lower is not None and upper is not None:
        return f"between {lower:g} and {upper:g}"
    return f">= {lower:g}" if lower is not None else f"<= {upper:g}"


def describe_change_condition(threshold) -> str:
    """A TFMA change threshold as a condition, e.g. ``candidate - baseline >= -0.01``."""
    from tensorflow_model_analysis.proto import config_pb2

    higher = threshold.direction == config_pb2.MetricDirection.HIGHER_IS_BETTER
    sign = ">=" if higher else "<="
    parts = []
    if threshold.HasField("absolute"):
        parts.append(f"candidate - baseline {sign} {threshold.absolute.value:+g}")
    if threshold.HasField("relative"):
        parts.append(f"(candidate - baseline) / baseline {sign} {threshold.relative.value:+g}")
    return " and ".join(parts)


def describe_failure(failure) -> str:
    """One readable line for a TFMA validation failure."""
    key = failure.metric_key
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    if key.is_diff:
        return (
            f"{key.name} changed by {value:+.4f} vs the baseline; "
            f"required {describe_change_condition(threshold.change_threshold)}"
        )
    return f"{key.name} {value:.4f}; required {describe_bound(threshold.value_threshold)}"


def overall_slice_metrics(uri: str) -> Iterator[tuple[Any, Any]]:
    """(MetricKey, MetricValue) of every metric of the overall slice, diffs included."""
    import tensorflow_model_analysis as tfma

    for metrics_for_slice in tfma.load_metrics(uri):
        if metrics_for_slice.slice_key.single_slice_keys:
            continue  # only the overall slice
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            yield key_and_value.key, key_and_value.value


def read_evaluation(
    uri: str,
    model_names: tuple[str, str | None] = (CANDIDATE_MODEL, BASELINE_MODEL),
) -> Evaluation:
    """Reads a TFX Evaluator output: overall-slice metrics and diffs, and the validation result.

    Args:
        uri: The ModelEvaluation artifact.
        model_names: (candidate, baseline) model names of the EvalConfig; by
            default those of ``components.evaluator.eval_config.make_eval_config``.
            A candidate absent from the metrics (TFMA names a lone model ``""``)
            is the first other model that is not the baseline.
    """
    import tensorflow as tf
    import tensorflow_model_analysis as tfma

    metrics: dict[str, dict[str, float]] = {}
    diffs: dict[str, float] = {}
    for key, value in overall_slice_metrics(uri):
        if not value.HasField("double_value"):
            continue
        if key.is_diff:
            diffs[key.name] = value.double_value.value
        else:
            metrics.setdefault(key.model_name, {})[key.name] = value.double_value.value
    candidate, baseline = model_names
    if baseline is not None and baseline not in metrics:
        baseline = None  # the Evaluator had no baseline model to score
    if candidate not in metrics:
        candidate = next((name for name in metrics if name != baseline), candidate)

    validation_ok, failures, failed = None, (), frozenset()
    try:
        validation = tfma.load_validation_result(uri)
    except (OSError, ValueError, tf.errors.NotFoundError):
        validation = None
    if validation is not None:
        validation_ok = validation.validation_ok
        found = [
            failure for per_slice in validation.metric_validations_per_slice for failure in per_slice.failures
        ]
        failures = tuple(describe_failure(failure) for failure in found)
        failed = frozenset((failure.metric_key.name, failure.metric_key.is_diff) for failure in found)
    return Evaluation(
        candidate_model=candidate,
        baseline_model=baseline,
        candidate_metrics=metrics.get(candidate, {}),
        baseline_metrics=metrics.get(baseline, {}) if baseline is not None else {},
        diffs=diffs,
        validation_ok=validation_ok,
        failures=failures,
        failed=failed,
    )


def read_blessing(blessing: Any) -> bool | None:
    """The blessing decision of a ModelBlessing (an ``ArtifactRef``): its ``blessed`` property, else its marker file."""
    if blessing is None:
        return None
    import tensorflow as tf
    from tfx.components.evaluator import constants as evaluator_constants

    if isinstance(blessing.properties.get(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY), int):
        return bool(blessing.properties[evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY])
    if tf.io.gfile.exists(os.path.join(blessing.uri, evaluator_constants.BLESSED_FILE_NAME)):
        return True
    if tf.io.gfile.exists(os.path.join(blessing.uri, evaluator_constants.NOT_BLESSED_FILE_NAME)):
        return False
    return None
